"""drayman's extension in a real headless Chromium: loading it, its settings, its
service worker over the DevTools protocol."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from browser import BrowserFactory, wait_for
from drayman.nativehost import CHROMIUM_EXTENSION_ID

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
