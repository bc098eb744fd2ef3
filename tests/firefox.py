"""A real headless Firefox for tests, driven over WebDriver BiDi (built into Firefox:
no geckodriver), offline: Debian's ``firefox-esr``, which .ci/run installs. Missing
it fails the test with what to install: never a skip.

``firefox`` is a factory: ``browser = firefox(prefs)`` starts one with a fresh
profile and those preferences; every browser it started is stopped after the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import wait_for

FIREFOX_ENV = "DRAYMAN_FIREFOX"
INSTALL_HINT = (
    "the Firefox tests need a local Firefox (115 or later): on Debian "
    f"`apt-get install firefox-esr` (.ci/run does it), elsewhere set {FIREFOX_ENV}"
)


def find_firefox() -> str | None:
    named = os.environ.get(FIREFOX_ENV)
    if named:
        return named if Path(named).exists() else None
    for name in ("firefox-esr", "firefox"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Firefox:
    """One headless Firefox and a WebDriver BiDi session with it."""

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        self.log = log
        with open(log, "wb") as output:
            self.process = subprocess.Popen(
                [
                    binary,
                    "--headless",
                    "--no-remote",
                    "--profile",
                    str(profile),
                    "--remote-debugging-port",
                    "0",
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        address = wait_for(self._address, 60, "Firefox's WebDriver BiDi address")
        import websocket

        self.ws = websocket.create_connection(
            f"{address}/session", suppress_origin=True, timeout=60
        )
        self._id = 0
        self.call("session.new", capabilities={})

    def _address(self) -> str | None:
        if self.process.poll() is not None:
            raise AssertionError(f"Firefox exited: {self.log.read_text(errors='replace')}")
        found = re.search(
            r"WebDriver BiDi listening on (ws://\S+)", self.log.read_text("utf-8", "replace")
        )
        return found.group(1) if found else None

    def call(self, method: str, **params: Any) -> Any:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                break
        if message.get("type") == "error":
            raise AssertionError(f"{method}: {message.get('error')}: {message.get('message')}")
        return message["result"]

    def contexts(self) -> list[dict[str, Any]]:
        return list(self.call("browsingContext.getTree")["contexts"])

    def evaluate(self, context: str, expression: str) -> Any:
        result = self.call(
            "script.evaluate",
            expression=expression,
            target={"context": context},
            awaitPromise=True,
            userActivation=True,
        )
        if result.get("type") == "exception":
            raise AssertionError(f"the page threw: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call("session.end")
        with contextlib.suppress(Exception):
            self.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _pref(value: Any) -> str:
    return json.dumps(value)


@pytest.fixture
def firefox(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], Firefox]]:
    binary = find_firefox()
    if binary is None:
        pytest.fail(f"firefox not found: {INSTALL_HINT}", pytrace=False)
    started: list[Firefox] = []

    def start(prefs: dict[str, Any]) -> Firefox:
        profile = tmp_path / f"firefox-profile-{len(started)}"
        profile.mkdir()
        quiet = {
            "browser.shell.checkDefaultBrowser": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "toolkit.telemetry.reportingpolicy.firstRun": False,
            "app.update.disabledForTesting": True,
            "browser.startup.homepage_override.mstone": "ignore",
            "extensions.update.enabled": False,
            "network.captive-portal-service.enabled": False,
            "network.connectivity-service.enabled": False,
        }
        lines = [f"user_pref({_pref(k)}, {_pref(v)});" for k, v in {**quiet, **prefs}.items()]
        (profile / "user.js").write_text("\n".join(lines) + "\n")
        browser = Firefox(binary, profile, tmp_path / f"firefox-{len(started)}.log")
        started.append(browser)
        return browser

    try:
        yield start
    finally:
        for browser in started:
            browser.stop()
