"""drayman's extension in a real headless Chromium: loading it, its settings, its
service worker over the DevTools protocol."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from browser import BrowserFactory, wait_for
from conftest import run_cli
from drayman.nativehost import CHROMIUM_EXTENSION_ID
from httpserver import LoopbackServer, make_body

EXTENSION_DIR = Path(__file__).resolve().parent.parent / "browser"
EXTENSION_ORIGIN = f"chrome-extension://{CHROMIUM_EXTENSION_ID}"


def start_with_extension(chromium: BrowserFactory, browser_downloads: Path) -> Any:
    browser_downloads.mkdir(exist_ok=True)
    return chromium(
        f"--load-extension={EXTENSION_DIR}",
        f"--disable-extensions-except={EXTENSION_DIR}",
        prefs={
            "download.default_directory": str(browser_downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )


def open_extension_page(driver: Any) -> None:
    """The options page: an extension page the test can run the extension's API in."""
    driver.get(f"{EXTENSION_ORIGIN}/options.html")
    wait_for(lambda: driver.execute_script("return document.readyState") == "complete")


def extension_call(driver: Any, script: str) -> Any:
    """Run ``script`` (an async function body) in the open extension page; its result."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"(async () => {{ {script} }})().then(done, e => done({{error: String(e)}}));"
    )


def set_settings(driver: Any, **settings: Any) -> None:
    extension_call(driver, f"await chrome.storage.local.set({json.dumps(settings)});")


class ServiceWorker:
    """The extension's service worker, reached over the DevTools protocol."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]

    def _target(self) -> dict[str, Any] | None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://{self.address}/json/list", timeout=10) as response:
            targets = json.loads(response.read())
        for target in targets:
            if target.get("type") == "service_worker" and target.get("url", "").startswith(
                EXTENSION_ORIGIN
            ):
                return dict(target)
        return None

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        import websocket

        # an idle worker is stopped; a message from an extension page wakes it
        extension_call(self.driver, "await chrome.runtime.sendMessage({type: 'recent'});")
        target = wait_for(self._target, 20, "the extension's service worker")
        ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], suppress_origin=True, timeout=timeout
        )
        try:
            ws.send(
                json.dumps(
                    {
                        "id": 1,
                        "method": "Runtime.evaluate",
                        "params": {
                            "expression": expression,
                            "awaitPromise": True,
                            "returnByValue": True,
                        },
                    }
                )
            )
            while True:
                answer = json.loads(ws.recv())
                if answer.get("id") == 1:
                    break
        finally:
            ws.close()
        result = answer.get("result", {})
        if "exceptionDetails" in result:
            raise AssertionError(f"the service worker threw: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")


# -- the loopback site and drayman's side -------------------------------------------

COOKIE = "session=s3cr3t-cookie"
BIG = make_body(3 * 1024 * 1024 + 17, seed=1)
SMALL = make_body(20 * 1024, seed=2)
KEPT = make_body(2 * 1024 * 1024, seed=3)
SELECTED = {name: make_body(1024 * 1024 + n, seed=10 + n) for n, name in enumerate("abc")}

PAGE = """<!doctype html><html><head><title>files</title></head><body>
<p><a id="big" href="/files/big.bin">big</a></p>
<p><a id="small" href="/files/small.bin">small</a></p>
<p><a id="kept" href="/files/kept.bin">kept</a></p>
<p id="selection">Three: <a href="/files/a.bin">a</a>, <a href="/files/b.bin">b</a>
and <a href="/files/c.bin">c</a>.</p>
</body></html>"""


def rpc_call(port: int, method: str, *params: Any, secret: str) -> Any:
    """One aria2 JSON-RPC call to drayman on loopback (no proxy); its result."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": [f"token:{secret}", *params]}
    )
    request = urllib.request.Request(f"http://127.0.0.1:{port}/jsonrpc", data=body.encode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())["result"]


def serve_files(server: LoopbackServer) -> None:
    server.add(
        "/page.html",
        PAGE.encode(),
        content_type="text/html",
        extra_headers={"Set-Cookie": f"{COOKIE}; Path=/"},
    )
    for name, body in [("big", BIG), ("small", SMALL), ("kept", KEPT), *list(SELECTED.items())]:
        server.add(
            f"/files/{name}.bin",
            body,
            content_disposition=f'attachment; filename="{name}.bin"',
            # a few seconds each: the browser cannot finish one before the extension decides
            rate=1024 * 1024 if len(body) > len(SMALL) else None,
        )


def as_a_new_user(
    server: LoopbackServer, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The site served, and a home of the test's own for the browser and the drayman it
    starts (its default folder is ~/Downloads), with the test's database and this
    checkout's code; returns the home."""
    serve_files(server)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DRAYMAN_DB", str(db))
    monkeypatch.setenv("PYTHONPATH", str(Path("src").resolve()))
    return home


def jobs(db: Path) -> list[dict[str, Any]]:
    done = run_cli(db, "ls", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def done_file(db: Path, url: str) -> Path | None:
    for job in jobs(db):
        if job["url"] == url and job["state"] == "done":
            return Path(job["path"])
        assert job["state"] != "failed", job
    return None


def drayman_requests(server: LoopbackServer, path: str) -> list[Any]:
    """drayman's requests for ``path``: a browser's navigation always sends Sec-Fetch-Mode."""
    return [r for r in server.requests_for(path) if "Sec-Fetch-Mode" not in r.headers]
