"""Take docs/webpage.png: drayman's web page in a headless Chromium, jobs of every state.

A real ``drayman run --rpc-listen-port`` on loopback serves the page; the files
come from the tests' loopback server, throttled so two downloads are mid-way
when the shot is taken. Needs Debian's chromium and chromium-driver (as the
browser tests do):

PYTHONPATH=src python docs/make_webpage_screenshot.py [--out docs/webpage.png]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser import HEADLESS_ARGS, find_chromedriver, find_chromium  # noqa: E402
from httpserver import LoopbackServer, make_body  # noqa: E402

SECRET = "screenshot-secret"
MiB = 1024 * 1024


def until(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "webpage.png"))
    out = Path(parser.parse_args().out)
    browser, driver_path = find_chromium(), find_chromedriver()
    if browser is None or driver_path is None:
        raise SystemExit(
            "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        )
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as temp, LoopbackServer("127.0.0.1", 0) as server:
        root = Path(temp)
        folder = root / "Downloads"
        folder.mkdir()
        env = dict(os.environ, DRAYMAN_DB=str(root / "jobs.db"), DRAYMAN_CONFIG_DIR=str(root))
        log = root / "run.log"
        command = [sys.executable, "-m", "drayman", "run", "--rpc-listen-port", "0"]
        command += ["--rpc-secret", SECRET, "--rpc-allow-dir", str(folder), "-j", "3"]
        with open(log, "w") as output:
            engine = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            port = int(
                until(
                    lambda: re.search(r"127\.0\.0\.1:(\d+)/jsonrpc", log.read_text()),
                    "the RPC",
                ).group(1)
            )
            rpc_url = f"http://127.0.0.1:{port}/jsonrpc"

            def call(method: str, *params: Any) -> Any:
                body = {"jsonrpc": "2.0", "id": 1, "method": method}
                body["params"] = [f"token:{SECRET}", *params]
                request = urllib.request.Request(rpc_url, data=json.dumps(body).encode())
                with urllib.request.urlopen(request) as answer:
                    return json.load(answer)["result"]

            server.add("/holiday-photos-2026.zip", make_body(3 * MiB, seed=1))
            server.add("/debian-13.2.0-amd64-netinst.iso", make_body(15 * MiB, seed=2), rate=MiB)
            server.add("/podcast-episode-118.mp3", make_body(12 * MiB, seed=3), rate=MiB // 2)
            server.add("/lecture-07-recording.mkv", make_body(14 * MiB, seed=4), rate=MiB)
            server.add("/dataset-2026-q3.tar.gz", make_body(8 * MiB, seed=5))
            options = {"dir": str(folder)}
            done = call("aria2.addUri", [server.url("/holiday-photos-2026.zip")], options)
            until(
                lambda: call("aria2.tellStatus", done, ["status"])["status"] == "complete", "done"
            )
            call("aria2.addUri", [server.url("/annual-report-2025.pdf")], options)  # 404
            call("aria2.addUri", [server.url("/debian-13.2.0-amd64-netinst.iso")], options)
            call("aria2.addUri", [server.url("/podcast-episode-118.mp3")], options)
            paused = call("aria2.addUri", [server.url("/lecture-07-recording.mkv")], options)
            call("aria2.addUri", [server.url("/dataset-2026-q3.tar.gz")], options)
            call("aria2.changeGlobalOption", {"max-overall-download-limit": "8M"})
            time.sleep(2.5)  # a scene, not a test: let the bars move
            call("aria2.pause", paused)

            options_ = webdriver.ChromeOptions()
            options_.binary_location = browser
            for arg in (*HEADLESS_ARGS, f"--user-data-dir={root / 'profile'}"):
                options_.add_argument(arg.replace("1280,900", "1200,720"))
            driver = webdriver.Chrome(
                options=options_, service=Service(executable_path=driver_path)
            )
            try:
                driver.get(f"http://127.0.0.1:{port}/")
                until(lambda: driver.find_element(By.ID, "secret").is_displayed(), "the form")
                driver.find_element(By.ID, "secret").send_keys(SECRET)
                driver.find_element(By.ID, "connect").click()
                until(
                    lambda: len(driver.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")) == 6,
                    "six rows",
                )
                driver.find_element(By.ID, "urls").send_keys(
                    "https://example.org/files/manual.pdf\nhttps://example.org/files/slides.pdf"
                )
                time.sleep(1.5)  # one more refresh, with speeds
                driver.save_screenshot(str(out))
            finally:
                driver.quit()
        finally:
            engine.terminate()
            engine.wait(20)
    print(out)


if __name__ == "__main__":
    main()
