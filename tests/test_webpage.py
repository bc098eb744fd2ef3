"""The web page at "/" on the RPC port, in a real headless Chromium, against a real
`drayman run` and a loopback file server; and what the page's server answers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from browser import BrowserFactory, wait_for
from conftest import run_cli, start_cli, stop_engine
from httpserver import LoopbackServer, make_body
from rpcclient import SECRET, RpcClient, rpc_port_in

KiB = 1024

#: every job row of the page: its GID and what it shows
ROWS_SCRIPT = """
return [...document.querySelectorAll('#jobs tbody tr')].map(row => ({
    gid: row.dataset.gid,
    status: row.dataset.status,
    completed: Number(row.dataset.completed),
    total: Number(row.dataset.total),
    name: row.cells[0].textContent,
    progress: row.cells[2].textContent,
    state: row.cells[5].textContent,
}));
"""


@dataclass
class WebEngine:
    """A running ``drayman run --rpc-listen-port 0`` and its page's address."""

    process: subprocess.Popen[str]
    port: int
    db_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def jobs(self) -> list[dict[str, Any]]:
        """``drayman ls --json``, from another process."""
        listed = run_cli(self.db_path, "ls", "--json")
        assert listed.returncode == 0, listed.stderr
        return list(json.loads(listed.stdout))


@pytest.fixture
def web_engine(tmp_path: Path, db_path: Path, downloads: Path) -> Iterator[WebEngine]:
    log = tmp_path / "run.log"
    args = ("--rpc-listen-port", "0", "--rpc-secret", SECRET, "--rpc-allow-dir", str(downloads))
    process = start_cli(db_path, "run", *args, log=log)
    try:
        yield WebEngine(process, rpc_port_in(log), db_path)
    finally:
        stop_engine(process)


def rows(driver: Any) -> list[dict[str, Any]]:
    return list(driver.execute_script(ROWS_SCRIPT))


def log_in(driver: Any, engine: WebEngine, secret: str = SECRET) -> None:
    """Open the page and type the secret into its form."""
    from selenium.webdriver.common.by import By

    if driver.current_url != engine.url:
        driver.get(engine.url)
    field = wait_for(
        lambda: (
            driver.find_element(By.ID, "secret").is_displayed()
            and driver.find_element(By.ID, "secret")
        ),
        what="the secret's field",
    )
    field.send_keys(secret)
    driver.find_element(By.ID, "connect").click()


def queue_shown(driver: Any) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_element(By.ID, "queue").is_displayed())


def one_row(driver: Any) -> dict[str, Any] | None:
    found = rows(driver)
    return found[0] if len(found) == 1 else None


def test_the_page_shows_a_download_progress_and_completes_it(
    chromium: BrowserFactory,
    web_engine: WebEngine,
    http_server: LoopbackServer,
    downloads: Path,
) -> None:
    body = make_body(1024 * KiB + 7, seed=3)
    held = 384 * KiB
    # throttled, and held a while at 384 KiB: the page must show the progress change
    http_server.add("/film.bin", body, hold_at=[held], rate=512 * KiB)
    added = run_cli(web_engine.db_path, "add", http_server.url("/film.bin"), "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    driver = chromium()
    log_in(driver, web_engine)
    wait_for(lambda: queue_shown(driver), what="the queue after the secret")
    seen: list[int] = []

    def showing(completed: int, status: str) -> bool:
        row = one_row(driver)
        if row is None:
            return False
        if not seen or seen[-1] != row["completed"]:
            seen.append(row["completed"])
        return bool(row["completed"] == completed and row["status"] == status)

    wait_for(lambda: showing(held, "active"), what="the page to show the held progress")
    row = one_row(driver)
    assert row is not None
    assert row["name"] == "film.bin"
    assert row["total"] == len(body)
    assert row["state"] == "downloading"
    assert row["progress"] == f"{held * 100 // len(body)}%"
    http_server.release_hold("/film.bin")
    wait_for(lambda: showing(len(body), "complete"), what="the page to show it done")
    row = one_row(driver)
    assert row is not None and row["progress"] == "100%" and row["state"] == "done"
    # progress only grows, from the held point to the whole file
    assert seen == sorted(seen) and held in seen and seen[-1] == len(body)
    assert (downloads / "film.bin").read_bytes() == body
    assert [job["state"] for job in web_engine.jobs()] == ["done"]


async def test_the_page_is_served_with_the_rpc_protections(rpc: RpcClient) -> None:
    base = f"http://127.0.0.1:{rpc.server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            page = await response.text()
            policy = response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "DENY"
        # everything it loads is drayman's own: no CDN, nothing inline
        assert '<script src="app.js"></script>' in page and "http" not in page.split("<body>")[1]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        for path, kind in (("/app.js", "text/javascript"), ("/app.css", "text/css")):
            async with session.get(base + path) as response:
                assert response.status == 200 and response.content_type == kind
                assert len(await response.read()) > 1000
        # DNS rebinding: a name that is not loopback never gets the page either
        async with session.get(
            base + "/", headers={"Host": f"evil.example:{rpc.server.port}"}
        ) as r:
            assert r.status == 403
            assert "Host" in await r.text()
        async with session.get(base + "/nothing-else") as response:
            assert response.status == 404
        # no access log, no secret: the page's files hold no secret either
        async with session.get(base + "/app.js") as response:
            assert SECRET not in await response.text()
