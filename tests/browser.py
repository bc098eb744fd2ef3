"""A real headless Chromium for tests, driven by Selenium through a local chromedriver.

Offline by construction: the browser and its driver are the machine's own
(Debian's ``chromium`` and ``chromium-driver``, which .ci/run installs), given
to Selenium by path, and Selenium Manager is told to stay offline. Missing
either fails the test with what to install: never a skip.

``chromium`` is a factory: ``driver = chromium()`` or
``chromium("--load-extension=DIR")``; every browser it started is quit after
the test, however the test ends. Each browser gets a fresh profile folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "HEADLESS_ARGS",
    "BrowserFactory",
    "chromium",
    "find_chromedriver",
    "find_chromium",
    "wait_for",
]

#: what headless Chromium needs as root, in a container, with no network:
#: no sandbox (root), no GPU, and none of its own calls home
HEADLESS_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)

#: where the browser and the driver are looked for, first to last; the
#: variables name others (a Chrome on macOS or Windows, say)
CHROMIUM_ENV = "DRAYMAN_CHROMIUM"
CHROMEDRIVER_ENV = "DRAYMAN_CHROMEDRIVER"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: where Chrome installs itself on macOS and Windows (GitHub's runners have it)
CHROME_PATHS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
)
INSTALL_HINT = (
    "the browser tests need a local Chromium and its driver: on Debian "
    "`apt-get install chromium chromium-driver` (.ci/run does it), elsewhere set "
    f"{CHROMIUM_ENV} and {CHROMEDRIVER_ENV} to a browser and a matching chromedriver"
)


def find_chromium() -> str | None:
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((path for path in CHROME_PATHS if Path(path).exists()), None)


def find_chromedriver() -> str | None:
    named = os.environ.get(CHROMEDRIVER_ENV)
    if named:
        return named if Path(named).exists() else None
    if Path("/usr/bin/chromedriver").exists():
        return "/usr/bin/chromedriver"
    # GitHub's runners name their preinstalled driver's folder so
    folder = os.environ.get("CHROMEWEBDRIVER")
    if folder:
        for name in ("chromedriver", "chromedriver.exe"):
            if (Path(folder) / name).exists():
                return str(Path(folder) / name)
    return shutil.which("chromedriver")


def wait_for(
    predicate: Callable[[], Any], timeout: float = 30.0, what: str | Callable[[], str] = ""
) -> Any:
    """Poll ``predicate`` until it returns something true; that value. Fails the
    test after ``timeout`` seconds (a browser's page updates on its own time),
    saying ``what`` (a callable is asked then, for the state it failed in)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {said or predicate}")
        time.sleep(0.05)


def click_when(find: Callable[[], Any], timeout: float = 30.0, what: str = "") -> None:
    """Wait for ``find()`` to give an element, and click it. A page that re-renders
    (the popup redraws its list as the queue changes) may replace the element
    between the find and the click: that is found again, not a failure."""
    from selenium.common.exceptions import StaleElementReferenceException

    def clicked() -> bool:
        try:
            element = find()
            if element is None:
                return False
            element.click()
        except StaleElementReferenceException:
            return False
        return True

    wait_for(clicked, timeout, what)


#: ``chromium(*extra_args, prefs=None)``: a started browser (a Selenium WebDriver)
BrowserFactory = Callable[..., Any]


@pytest.fixture
def chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrowserFactory]:
    browser = find_chromium()
    driver_path = find_chromedriver()
    if browser is None or driver_path is None:
        missing = "chromium" if browser is None else "chromedriver"
        pytest.fail(f"{missing} not found: {INSTALL_HINT}", pytrace=False)
    # Selenium Manager must never try to fetch a browser or a driver
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    started: list[Any] = []

    def start(*extra_args: str, prefs: dict[str, Any] | None = None) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        profile = tmp_path / f"chromium-profile-{len(started)}"
        profile.mkdir()
        for arg in (*HEADLESS_ARGS, f"--user-data-dir={profile}", *extra_args):
            options.add_argument(arg)
        if prefs:
            options.add_experimental_option("prefs", prefs)
        service = Service(
            executable_path=driver_path, log_output=str(tmp_path / "chromedriver.log")
        )
        driver = webdriver.Chrome(options=options, service=service)
        started.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in started:
            # a browser that died already has nothing left to quit
            with contextlib.suppress(Exception):
                driver.quit()
