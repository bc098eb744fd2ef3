"""drayman's extension in a real headless Firefox (WebDriver BiDi, no driver needed):
with drayman not running, a clicked download starts it through the native host
(the manifest `drayman browser install --browser firefox` wrote), and lands
byte-exact with the page's Referer, the site's cookie and Firefox's User-Agent;
a file below the size threshold stays in the browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from browser import wait_for
from conftest import lock_holder_pid
from drayman.nativehost import FIREFOX_EXTENSION_ID, HOST_NAME
from drayman.nativehost.probe import Found, probe
from extensionbrowser import (
    BIG,
    COOKIE,
    EXTENSION_DIR,
    SMALL,
    as_a_new_user,
    done_file,
    drayman_requests,
    jobs,
)
from firefox import Firefox, firefox  # noqa: F401  (fixture)
from httpserver import LoopbackServer
from nativehost import free_port, kill_started

#: the extension's internal UUID in the test profile, so its pages have a known address
EXTENSION_UUID = "0b5c5e4e-0000-4000-8000-d7a9a1a00001"


def test_firefox_starts_drayman_through_the_native_host_and_hands_it_the_download(
    firefox: Callable[[dict[str, Any]], Firefox],  # noqa: F811
    http_server: LoopbackServer,
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Firefox reads host manifests in ~/.mozilla; drayman downloads to ~/Downloads
    home = as_a_new_user(http_server, db_path, tmp_path, monkeypatch)
    monkeypatch.delenv("DRAYMAN_NATIVE_HOST_DIR", raising=False)
    kept_by_browser = tmp_path / "firefox-downloads"
    kept_by_browser.mkdir()
    browser = firefox(
        {
            "extensions.webextensions.uuids": json.dumps({FIREFOX_EXTENSION_ID: EXTENSION_UUID}),
            "browser.download.folderList": 2,
            "browser.download.dir": str(kept_by_browser),
            "browser.download.useDownloadDir": True,
            "browser.download.always_ask_before_handling_new_types": False,
            "browser.download.start_downloads_in_tmp_dir": False,
        }
    )
    installed = browser.call(
        "webExtension.install", extensionData={"type": "path", "path": str(EXTENSION_DIR)}
    )
    assert installed["extension"] == FIREFOX_EXTENSION_ID
    # the extension opens its options page on install: its settings are set there
    options = wait_for(
        lambda: next(
            (c["context"] for c in browser.contexts() if c["url"].startswith("moz-extension:")),
            None,
        ),
        30,
        "the extension's options page",
    )
    port = free_port()
    settings = {"port": port, "secret": "", "minSize": 1 << 20}
    browser.evaluate(options, f"browser.storage.local.set({json.dumps(settings)})")
    install = subprocess.run(
        [sys.executable, "-m", "drayman", "browser", "install", "--browser", "firefox"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert install.returncode == 0, install.stderr
    assert (home / ".mozilla" / "native-messaging-hosts" / f"{HOST_NAME}.json").exists()
    assert probe(port, "anything", 1.0) is Found.NOTHING

    page = http_server.url("/page.html")
    tab = browser.call("browsingContext.create", type="tab")["context"]
    started_pid = None
    try:
        browser.call("browsingContext.navigate", context=tab, url=page, wait="complete")
        browser.evaluate(tab, "document.getElementById('big').click()")
        big_url = http_server.url("/files/big.bin")
        landed = wait_for(lambda: done_file(db_path, big_url), 90, "drayman, started, to download")
        started_pid = int(lock_holder_pid(db_path) or 0) or None
        assert landed.read_bytes() == BIG and landed.is_relative_to(home / "Downloads")
        requests = drayman_requests(http_server, "/files/big.bin")
        assert requests
        for request in requests:
            assert request.headers.get("Referer") == page
            assert COOKIE in request.headers.get("Cookie", "")
            assert "Firefox/" in request.headers.get("User-Agent", "")
        assert not any(p.name.startswith("big") for p in kept_by_browser.iterdir())
        secret = (tmp_path / "config" / "rpc-secret").read_text().strip()
        stored = browser.evaluate(
            options, "browser.storage.local.get(['port', 'secret']).then(JSON.stringify)"
        )
        assert json.loads(stored) == {"port": port, "secret": secret}

        # a file below the threshold stays in the browser
        browser.call("browsingContext.navigate", context=tab, url=page, wait="complete")
        browser.evaluate(tab, "document.getElementById('small').click()")
        small = kept_by_browser / "small.bin"
        wait_for(lambda: small.exists() and small.read_bytes() == SMALL, 30, "Firefox's small.bin")
        assert [job["url"] for job in jobs(db_path)] == [big_url]
    finally:
        kill_started(started_pid or (int(lock_holder_pid(db_path) or 0) or None))
