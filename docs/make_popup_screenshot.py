"""Take docs/extension-popup.png: the extension's popup in headless Chromium, live on
a real drayman with downloads running, paused, queued and done.

PYTHONPATH=src python docs/make_popup_screenshot.py [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser import HEADLESS_ARGS, find_chromedriver, find_chromium  # noqa: E402
from extensionbrowser import EXTENSION_DIR, EXTENSION_ORIGIN, rpc_call, set_settings  # noqa: E402
from httpserver import LoopbackServer, make_body  # noqa: E402
from nativehost import free_port  # noqa: E402

SECRET = "screenshot-secret"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "extension-popup.png"))
    args = parser.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer() as server:
        folder = Path(tmp)
        downloads = folder / "downloads"
        downloads.mkdir()
        names = [
            ("Episode 01 - Pilot.mp4", 90_000_000, 3_100_000),
            ("debian-12.9.0-amd64-netinst.iso", 60_000_000, 1_300_000),
            ("Lecture 7 - Entropy.webm", 40_000_000, None),
            ("dataset-2026.tar.gz", 30_000_000, None),
            ("podcast-118.mp3", 3_000_000, None),
            ("slides.pdf", 900_000, None),
        ]
        for n, (name, size, rate) in enumerate(names):
            server.add(f"/f/{name}", make_body(size, seed=n), rate=rate)
        port = free_port()
        env = {
            **os.environ,
            "DRAYMAN_DB": str(folder / "jobs.db"),
            "DRAYMAN_CONFIG_DIR": str(folder / "config"),
        }
        engine = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "drayman",
                "run",
                "-j",
                "2",
                "--split",
                "1",
                "--rpc-listen-port",
                str(port),
                "--rpc-secret",
                SECRET,
                "--rpc-allow-dir",
                str(downloads),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        options = webdriver.ChromeOptions()
        options.binary_location = find_chromium()
        for arg in (
            *HEADLESS_ARGS,
            f"--user-data-dir={folder / 'profile'}",
            f"--load-extension={EXTENSION_DIR}",
            "--window-size=400,760",
            "--force-device-scale-factor=2",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(find_chromedriver()))
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    rpc_call(port, "aria2.getVersion", secret=SECRET)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            # the small ones first, so they are done; the big ones run slowly
            gids = {}
            for n in (4, 5, 0, 1, 2, 3):
                gids[n] = rpc_call(
                    port,
                    "aria2.addUri",
                    [server.url(f"/f/{quote(names[n][0])}")],
                    {"dir": str(downloads)},
                    secret=SECRET,
                )
            deadline = time.monotonic() + 60
            while (
                rpc_call(port, "aria2.tellStatus", gids[5], ["status"], secret=SECRET)["status"]
                != "complete"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("slides.pdf did not finish")
                time.sleep(0.2)
            rpc_call(port, "aria2.pause", gids[3], secret=SECRET)
            driver.get(f"{EXTENSION_ORIGIN}/options.html")
            set_settings(driver, host="127.0.0.1", port=port, secret=SECRET)
            driver.get(f"{EXTENSION_ORIGIN}/popup.html")
            time.sleep(4)  # a few refreshes: speeds settle
            driver.find_element("tag name", "body").screenshot(args.out)
        finally:
            driver.quit()
            engine.terminate()
            engine.wait(30)
    print(args.out, os.path.getsize(args.out), "bytes")


if __name__ == "__main__":
    main()
