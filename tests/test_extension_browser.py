"""drayman's extension in a real headless Chromium, against drayman and a file server on
loopback: it takes the browser's downloads, leaves small and bypassed ones, sends
selected links, and starts drayman through the native host when it is not running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import BrowserFactory, click_when, wait_for
from conftest import lock_holder_pid, start_cli, stop_engine
from drayman.nativehost.probe import Found, probe
from extensionbrowser import (
    BIG,
    COOKIE,
    EXTENSION_ORIGIN,
    KEPT,
    SELECTED,
    SMALL,
    ServiceWorker,
    as_a_new_user,
    done_file,
    drayman_requests,
    extension_call,
    jobs,
    open_extension_page,
    rpc_call,
    serve_files,
    set_settings,
    start_with_extension,
)
from httpserver import LoopbackServer, make_body
from nativehost import free_port, kill_started

SECRET = "extension-test-secret"


@pytest.fixture
def drayman_rpc(db_path: Path, downloads: Path, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    engine = start_cli(
        db_path,
        "run",
        "--rpc-listen-port",
        str(port),
        "--rpc-secret",
        SECRET,
        "--rpc-allow-dir",
        str(downloads),
        log=tmp_path / "engine.log",
    )
    try:
        wait_for(lambda: probe(port, SECRET, 2.0) is Found.DRAYMAN, 60, "drayman's RPC")
        yield port
    finally:
        stop_engine(engine)


def test_the_extension_takes_downloads_and_sends_selected_links(
    chromium: BrowserFactory,
    http_server: LoopbackServer,
    drayman_rpc: int,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    serve_files(http_server)
    kept_by_browser = tmp_path / "browser-downloads"
    driver = start_with_extension(chromium, kept_by_browser)
    open_extension_page(driver)
    set_settings(
        driver,
        host="127.0.0.1",
        port=drayman_rpc,
        secret=SECRET,
        dir=str(downloads),
        minSize=1024 * 1024,
    )
    page = http_server.url("/page.html")
    driver.get(page)

    # a large file: drayman takes it, with the page as Referer and the site's cookie
    big_url = http_server.url("/files/big.bin")
    driver.find_element(By.ID, "big").click()
    landed = wait_for(lambda: done_file(db_path, big_url), 60, "drayman to download big.bin")
    assert landed.read_bytes() == BIG and landed.parent == downloads
    requests = drayman_requests(http_server, "/files/big.bin")
    assert requests, "drayman never asked for the file"
    for request in requests:
        assert request.headers.get("Referer") == page
        assert COOKIE in request.headers.get("Cookie", "")
        assert "Chrome/" in request.headers.get("User-Agent", "")
    # ... and the browser's own download was cancelled and erased
    open_extension_page(driver)
    items = extension_call(driver, f"return await chrome.downloads.search({{url: '{big_url}'}});")
    assert items == []
    assert not any(p.name.startswith("big") for p in kept_by_browser.iterdir())

    # a file below the size threshold stays in the browser
    driver.get(page)
    driver.find_element(By.ID, "small").click()
    small = kept_by_browser / "small.bin"
    wait_for(lambda: small.exists() and small.read_bytes() == SMALL, 30, "the browser's small.bin")
    # the bypass key held while clicking: the browser keeps a large file too
    link = driver.find_element(By.ID, "kept")
    ActionChains(driver).key_down(Keys.ALT).click(link).key_up(Keys.ALT).perform()
    kept = kept_by_browser / "kept.bin"
    wait_for(lambda: kept.exists() and kept.read_bytes() == KEPT, 30, "the browser's kept.bin")
    assert [job["url"] for job in jobs(db_path)] == [big_url]
    assert drayman_requests(http_server, "/files/small.bin") == []
    assert drayman_requests(http_server, "/files/kept.bin") == []

    # "Download with drayman" on a selection of three links makes three jobs. A
    # headless browser has no context menu to click: the test calls the same handler
    # the menu's onClicked calls, in the service worker, over the DevTools protocol
    driver.get(page)
    driver.execute_script(
        "const range = document.createRange();"
        "range.selectNodeContents(document.getElementById('selection'));"
        "getSelection().removeAllRanges(); getSelection().addRange(range);"
    )
    gids = ServiceWorker(driver).evaluate(
        f"""(async () => {{
            const [tab] = await chrome.tabs.query({{url: {json.dumps(page)}}});
            return await drayman.menuClicked(
                {{menuItemId: "drayman-download", selectionText: "a, b and c",
                  pageUrl: tab.url, frameId: 0}}, tab);
        }})()"""
    )
    assert isinstance(gids, list) and len(gids) == 3
    for name, body in SELECTED.items():
        url = http_server.url(f"/files/{name}.bin")
        path = wait_for(lambda u=url: done_file(db_path, u), 60, f"drayman to download {name}")
        assert path.read_bytes() == body
        [request, *_] = drayman_requests(http_server, f"/files/{name}.bin")
        assert request.headers.get("Referer") == page
        assert COOKIE in request.headers.get("Cookie", "")
    assert len(jobs(db_path)) == 4

    # the popup shows the queue, read over the RPC's WebSocket
    driver.get(f"{EXTENSION_ORIGIN}/popup.html")
    rows = wait_for(
        lambda: (
            driver.execute_script(
                "return [...document.querySelectorAll('#jobs li')]"
                ".map(li => [li.className, li.querySelector('.name').textContent]);"
            )
            if len(driver.execute_script("return document.querySelectorAll('#jobs li')")) == 4
            else None
        ),
        30,
        "the popup's four rows",
    )
    assert sorted(rows) == sorted(["complete", f"{n}.bin"] for n in ("big", "a", "b", "c"))

    # pause and resume from the popup change the job in the job table
    http_server.add("/files/slow.bin", make_body(8 * 1024 * 1024, seed=7), rate=64 * 1024)
    slow_url = http_server.url("/files/slow.bin")
    rpc_call(drayman_rpc, "aria2.addUri", [slow_url], {"dir": str(downloads)}, secret=SECRET)

    def state() -> str:
        return next(str(j["state"]) for j in jobs(db_path) if j["url"] == slow_url)

    def popup_button(label: str, row: str) -> Any:
        for button in driver.find_elements(By.CSS_SELECTOR, f"#jobs li.{row} button"):
            if button.text == label:
                return button
        return None

    click_when(lambda: popup_button("Pause", "active"), 30, "the popup's Pause button")
    wait_for(lambda: state() == "paused", 30, "the job paused from the popup")
    click_when(lambda: popup_button("Resume", "paused"), 30, "the popup's Resume button")
    wait_for(lambda: state() in ("queued", "running"), 30, "the job resumed from the popup")


def test_the_extension_starts_drayman_through_the_native_host(
    chromium: BrowserFactory,
    http_server: LoopbackServer,
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium.webdriver.common.by import By

    home = as_a_new_user(http_server, db_path, tmp_path, monkeypatch)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    port = free_port()
    driver = start_with_extension(chromium, tmp_path / "browser-downloads")
    # the host manifest, written by `drayman browser install` into this browser's profile
    profile = tmp_path / "chromium-profile-0"
    assert profile.is_dir()
    install = subprocess.run(
        [sys.executable, "-m", "drayman", "browser", "install", "--browser", "chromium"],
        env={**os.environ, "DRAYMAN_NATIVE_HOST_DIR": str(profile / "NativeMessagingHosts")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert install.returncode == 0, install.stderr
    assert probe(port, "anything", 1.0) is Found.NOTHING
    open_extension_page(driver)
    set_settings(driver, host="127.0.0.1", port=port, secret="", minSize=0)
    started_pid = None
    try:
        driver.get(http_server.url("/page.html"))
        big_url = http_server.url("/files/big.bin")
        driver.find_element(By.ID, "big").click()
        landed = wait_for(lambda: done_file(db_path, big_url), 90, "drayman, started, to download")
        started_pid = int(lock_holder_pid(db_path) or 0) or None
        assert landed.read_bytes() == BIG
        assert landed.is_relative_to(home / "Downloads")  # or a folder by file type in it
        # the extension learned the local drayman's port and secret from the host
        secret = (tmp_path / "config" / "rpc-secret").read_text().strip()
        open_extension_page(driver)
        stored = extension_call(
            driver, "return await chrome.storage.local.get(['port', 'secret']);"
        )
        assert stored == {"port": port, "secret": secret}
        assert probe(port, secret) is Found.DRAYMAN
    finally:
        kill_started(started_pid or (int(lock_holder_pid(db_path) or 0) or None))
