"""``drayman native-host`` and ``drayman browser install|uninstall``, as the browser uses them."""

from __future__ import annotations

import http.server
import json
import os
import stat
import struct
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import wait_until
from drayman.nativehost import CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, HOST_NAME
from drayman.nativehost.install import REGISTRY_KEYS, manifest_folder, placements
from drayman.nativehost.probe import Found, probe
from nativehost import (
    CHROMIUM_CALLER,
    frame,
    free_port,
    host_command,
    host_env,
    kill_started,
    talk,
)


def _rpc(port: int, secret: str, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": [f"token:{secret}"]})
    request = urllib.request.Request(f"http://127.0.0.1:{port}/jsonrpc", data=body.encode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())["result"]


def test_the_host_starts_drayman_once_and_answers_its_port_and_secret(
    tmp_path: Path, db_path: Path
) -> None:
    env = host_env(tmp_path, db_path)
    port = free_port()
    pid = None
    try:
        code, answers, stderr = talk(
            host_command(*CHROMIUM_CALLER), frame({"command": "start", "port": port}), env
        )
        assert code == 0, stderr
        [answer] = answers
        assert answer["ok"] is True, answer
        pid = answer["pid"]
        secret = (tmp_path / "config" / "rpc-secret").read_text().strip()
        assert answer["secret"] == secret and answer["port"] == port
        assert answer["running"] is True and answer["started"] is True
        assert secret not in stderr
        # it is drayman on that port, on the test's database, and it outlived the host
        version = _rpc(port, secret, "aria2.getVersion")
        assert isinstance(version, dict) and "drayman" in version
        assert db_path.exists()
        # a second call (info, then start) finds it running and starts nothing
        code, answers, _ = talk(
            host_command(*CHROMIUM_CALLER),
            frame({"command": "info", "port": port}) + frame({"command": "start", "port": port}),
            env,
        )
        assert code == 0
        assert [(a["running"], a["started"]) for a in answers] == [(True, False), (True, False)]
        assert "pid" not in answers[1]
        _rpc(port, secret, "aria2.shutdown")
        wait_until(lambda: probe(port, secret, 1.0) is Found.NOTHING, 30, "drayman to stop")
        pid = None
    finally:
        kill_started(pid)


def test_the_host_answers_firefox_by_extension_id(tmp_path: Path, db_path: Path) -> None:
    port = free_port()
    manifest = str(tmp_path / f"{HOST_NAME}.json")
    code, answers, _ = talk(
        host_command(manifest, FIREFOX_EXTENSION_ID),
        frame({"command": "info", "port": port}),
        host_env(tmp_path, db_path),
    )
    assert code == 0
    assert answers[0]["ok"] is True and answers[0]["running"] is False
    assert answers[0]["started"] is False and len(answers[0]["secret"]) >= 32


@pytest.mark.parametrize(
    "caller",
    [
        ["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"],
        [f"chrome-extension://{CHROMIUM_EXTENSION_ID}.evil/"],
        ["/tmp/x.json", "other@example.org"],
        [],
    ],
)
def test_any_other_caller_gets_no_answer(tmp_path: Path, db_path: Path, caller: list[str]) -> None:
    code, answers, stderr = talk(
        host_command(*caller), frame({"command": "info"}), host_env(tmp_path, db_path)
    )
    assert code == 2 and answers == []
    assert "drayman's extension only" in stderr
    assert not (tmp_path / "config" / "rpc-secret").exists()


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (struct.pack("=I", 10) + b"{}", "cut off"),
        (struct.pack("=I", 5) + b"\xff\xfe{}}", "not UTF-8 JSON"),
        (struct.pack("=I", 64 * 1024 * 1024), "more than drayman reads"),
        (b"\x01\x00", "length was cut off"),
    ],
)
def test_a_broken_message_is_answered_with_an_error(
    tmp_path: Path, db_path: Path, raw: bytes, error: str
) -> None:
    code, answers, _ = talk(host_command(*CHROMIUM_CALLER), raw, host_env(tmp_path, db_path))
    assert code == 2
    assert answers[0]["ok"] is False and error in answers[0]["error"]


def test_unknown_requests_and_bad_ports_are_refused(tmp_path: Path, db_path: Path) -> None:
    code, answers, _ = talk(
        host_command(*CHROMIUM_CALLER),
        frame({"command": "download"}) + frame([1]) + frame({"command": "start", "port": 70000}),
        host_env(tmp_path, db_path),
    )
    assert code == 0
    assert [a["ok"] for a in answers] == [False, False, False]
    assert "unknown request" in answers[0]["error"] and "not a port" in answers[2]["error"]


@pytest.fixture
def other_program() -> Iterator[int]:
    """Something that is not drayman, answering HTTP on a loopback port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_taken_by_another_program_is_said(
    tmp_path: Path, db_path: Path, other_program: int
) -> None:
    code, answers, _ = talk(
        host_command(*CHROMIUM_CALLER),
        frame({"command": "start", "port": other_program}),
        host_env(tmp_path, db_path),
    )
    assert code == 0 and answers[0]["ok"] is False
    assert f"port {other_program} is used by another program" in answers[0]["error"]


def test_drayman_that_cannot_start_says_why(tmp_path: Path) -> None:
    bad_db = tmp_path / "not-a-database.db"
    bad_db.write_bytes(b"this is not SQLite" * 100)
    code, answers, _ = talk(
        host_command(*CHROMIUM_CALLER),
        frame({"command": "start", "port": free_port()}),
        host_env(tmp_path, bad_db),
    )
    assert code == 0 and answers[0]["ok"] is False
    assert "drayman could not be started for the browser" in answers[0]["error"]
    assert "not a usable drayman database" in answers[0]["error"]
    assert bad_db.read_bytes() == b"this is not SQLite" * 100


# -- browser install / uninstall ---------------------------------------------------


def _browser_cli(tmp_path: Path, db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = host_env(tmp_path, db_path)
    env["HOME"] = env["USERPROFILE"] = str(tmp_path / "home")
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("DRAYMAN_NATIVE_HOST_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "drayman", "browser", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


LINUX_FOLDERS = {
    "chromium": ".config/chromium/NativeMessagingHosts",
    "chrome": ".config/google-chrome/NativeMessagingHosts",
    "edge": ".config/microsoft-edge/NativeMessagingHosts",
    "firefox": ".mozilla/native-messaging-hosts",
}
MACOS_FOLDERS = {
    "chromium": "Library/Application Support/Chromium/NativeMessagingHosts",
    "chrome": "Library/Application Support/Google/Chrome/NativeMessagingHosts",
    "edge": "Library/Application Support/Microsoft Edge/NativeMessagingHosts",
    "firefox": "Library/Application Support/Mozilla/NativeMessagingHosts",
}


def _expected_manifest(tmp_path: Path, browser: str) -> Path:
    """Where this OS's ``browser`` looks (Windows: drayman's folder, named in the registry)."""
    if sys.platform == "win32":
        folder = tmp_path / "config" / "native-host" / browser
    elif sys.platform == "darwin":
        folder = tmp_path / "home" / MACOS_FOLDERS[browser]
    else:
        folder = tmp_path / "home" / LINUX_FOLDERS[browser]
    return folder / f"{HOST_NAME}.json"


def test_install_writes_each_browsers_manifest_and_uninstall_removes_them(
    tmp_path: Path, db_path: Path
) -> None:
    done = _browser_cli(tmp_path, db_path, "install")
    assert done.returncode == 0, done.stderr
    for browser in LINUX_FOLDERS:
        path = _expected_manifest(tmp_path, browser)
        assert f"{browser}: {path}" in done.stdout
        manifest = json.loads(path.read_text())
        assert manifest["name"] == HOST_NAME and manifest["type"] == "stdio"
        if browser == "firefox":
            assert manifest["allowed_extensions"] == [FIREFOX_EXTENSION_ID]
            assert "allowed_origins" not in manifest
        else:
            assert manifest["allowed_origins"] == [f"chrome-extension://{CHROMIUM_EXTENSION_ID}/"]
        launcher = Path(manifest["path"])
        assert launcher.is_absolute() and os.access(launcher, os.X_OK)
    # the launcher the manifests name is a working native host, on this database
    code, answers, stderr = talk(
        [str(launcher), *CHROMIUM_CALLER],
        frame({"command": "info", "port": free_port()}),
        {k: v for k, v in host_env(tmp_path, db_path).items() if k != "DRAYMAN_DB"},
    )
    assert code == 0, stderr
    assert answers[0]["ok"] is True
    assert answers[0]["secret"] == (tmp_path / "config" / "rpc-secret").read_text().strip()
    assert str(db_path) in launcher.read_text()
    if os.name == "posix":
        assert stat.S_IMODE(launcher.stat().st_mode) == 0o700

    removed = _browser_cli(tmp_path, db_path, "uninstall")
    assert removed.returncode == 0
    assert removed.stdout.count("removed ") == 4
    assert not any(_expected_manifest(tmp_path, b).exists() for b in LINUX_FOLDERS)
    assert not launcher.exists()
    again = _browser_cli(tmp_path, db_path, "uninstall")
    assert again.stdout == "nothing to remove\n"


def test_install_for_one_browser_writes_only_its_manifest(tmp_path: Path, db_path: Path) -> None:
    done = _browser_cli(tmp_path, db_path, "install", "--browser", "firefox")
    assert done.returncode == 0, done.stderr
    written = sorted(tmp_path.rglob(f"{HOST_NAME}.json"))
    assert written == [_expected_manifest(tmp_path, "firefox")]
    assert _browser_cli(tmp_path, db_path, "uninstall").stdout.count("removed ") == 1
    refused = _browser_cli(tmp_path, db_path, "install", "--browser", "safari")
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_the_override_folder_takes_one_browsers_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAYMAN_NATIVE_HOST_DIR", str(tmp_path / "profile" / "hosts"))
    [one] = placements(["chromium"], "linux")
    assert one.manifest == tmp_path / "profile" / "hosts" / f"{HOST_NAME}.json"
    with pytest.raises(Exception, match="give --browser"):
        placements(["chromium", "firefox"], "linux")


def test_macos_and_windows_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRAYMAN_NATIVE_HOST_DIR", raising=False)
    support = tmp_path / "Library" / "Application Support"
    assert manifest_folder("chrome", "darwin", tmp_path) == (
        support / "Google" / "Chrome" / "NativeMessagingHosts"
    )
    assert manifest_folder("firefox", "darwin", tmp_path) == (
        support / "Mozilla" / "NativeMessagingHosts"
    )
    assert manifest_folder("edge", "darwin", tmp_path) == (
        support / "Microsoft Edge" / "NativeMessagingHosts"
    )
    found = {p.browser: p for p in placements(["chrome", "chromium", "edge", "firefox"], "win32")}
    assert found["chrome"].registry_key == (
        rf"Software\Google\Chrome\NativeMessagingHosts\{HOST_NAME}"
    )
    assert found["edge"].registry_key == REGISTRY_KEYS["edge"]
    assert found["firefox"].registry_key == rf"Software\Mozilla\NativeMessagingHosts\{HOST_NAME}"
    assert all(p.manifest.is_relative_to(tmp_path / "config") for p in found.values())
