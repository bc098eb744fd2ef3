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
        port = rpc_port_in(log)
        # where the page is, said where the RPC is
        assert "its web page at /" in log.read_text()
        yield WebEngine(process, port, db_path)
    finally:
        stop_engine(process)


def rows(driver: Any) -> list[dict[str, Any]]:
    found = list(driver.execute_script(ROWS_SCRIPT))
    # never a job twice, though it moves between tellWaiting and tellStopped
    gids = [row["gid"] for row in found]
    assert len(set(gids)) == len(gids), found
    return found


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


def state_of(driver: Any, engine: WebEngine) -> str:
    """What the page and the table show, for a failure's message."""
    from selenium.webdriver.common.by import By

    shown = driver.find_element(By.ID, "error").text
    return f"the page shows {rows(driver)} (error: {shown!r}); the table {engine.jobs()}"


def click_in_row(driver: Any, gid: str, label: str) -> None:
    from selenium.webdriver.common.by import By

    button = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"#job-{gid} button.{label}"),
        what=f"the {label} button of {gid}",
    )[0]
    button.click()


def job_state(engine: WebEngine) -> str:
    [job] = engine.jobs()
    return str(job["state"])


def test_pause_and_resume_from_the_page_change_the_job(
    chromium: BrowserFactory,
    web_engine: WebEngine,
    http_server: LoopbackServer,
    downloads: Path,
) -> None:
    body = make_body(900 * KiB, seed=4)
    http_server.add("/held.bin", body, hold_at=[200 * KiB, 600 * KiB])
    added = run_cli(web_engine.db_path, "add", http_server.url("/held.bin"), "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    driver = chromium()
    log_in(driver, web_engine)
    row = wait_for(
        lambda: (r := one_row(driver)) and r["status"] == "active" and r, what="an active row"
    )
    wait_for(lambda: http_server.held_at("/held.bin") is not None, what="the server to hold")
    click_in_row(driver, row["gid"], "pause")
    wait_for(lambda: job_state(web_engine) == "paused", what="`drayman ls` to say paused")
    wait_for(lambda: (r := one_row(driver)) and r["state"] == "paused", what="the row paused")
    click_in_row(driver, row["gid"], "resume")
    # the resumed download asks from 200 KiB and is held again at 600 KiB
    wait_for(lambda: job_state(web_engine) == "running", what="`drayman ls` to say running")
    wait_for(lambda: (r := one_row(driver)) and r["state"] == "downloading", what="the row on")
    http_server.release_hold("/held.bin")
    wait_for(lambda: job_state(web_engine) == "done", what="the download to finish")
    wait_for(lambda: (r := one_row(driver)) and r["state"] == "done", what="the row done")
    assert (downloads / "held.bin").read_bytes() == body


def test_adding_links_and_the_speed_limit_from_the_page(
    chromium: BrowserFactory,
    web_engine: WebEngine,
    http_server: LoopbackServer,
    downloads: Path,
) -> None:
    from selenium.webdriver.common.by import By

    bodies = {"/one.iso": make_body(300 * KiB, seed=5), "/two.iso": make_body(200 * KiB, seed=6)}
    for path, body in bodies.items():
        http_server.add(path, body)
    driver = chromium()
    log_in(driver, web_engine)
    wait_for(lambda: queue_shown(driver), what="the queue")
    typed = "\n".join(
        [http_server.url("/one.iso"), "", http_server.url("/two.iso"), "ftp://nope.example/x"]
    )
    driver.find_element(By.ID, "urls").send_keys(typed)
    driver.find_element(By.ID, "folder").send_keys(str(downloads))
    driver.find_element(By.ID, "add").click()
    result = wait_for(
        lambda: driver.find_element(By.ID, "add-result").text,
        what=lambda: "what the add did" + "; " + state_of(driver, web_engine),
    )
    assert result.startswith("Added 2 of 3.") and "ftp://nope.example/x" in result
    # the link refused stays in the box to fix; the others are jobs
    assert driver.find_element(By.ID, "urls").get_property("value") == "ftp://nope.example/x"
    wait_for(
        lambda: sorted(job["state"] for job in web_engine.jobs()) == ["done", "done"],
        what=lambda: "both jobs done; " + state_of(driver, web_engine),
    )
    assert sorted(job["url"] for job in web_engine.jobs()) == sorted(
        http_server.url(path) for path in bodies
    )
    for path, body in bodies.items():
        assert (downloads / path.lstrip("/")).read_bytes() == body
    wait_for(
        lambda: len(rows(driver)) == 2,
        what=lambda: "two rows" + "; " + state_of(driver, web_engine),
    )
    # the global speed limit, stored like `drayman limit`
    driver.find_element(By.ID, "limit").send_keys("3M")
    driver.find_element(By.ID, "set-limit").click()
    wait_for(
        lambda: driver.find_element(By.ID, "limit-now").text == "now 3.0 MiB/s",
        what=lambda: "the limit shown; " + state_of(driver, web_engine),
    )
    shown = run_cli(web_engine.db_path, "limit")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "3.0 MiB/s\n", shown.stdout
    # a failed job is retried from the page once the link works
    driver.find_element(By.ID, "urls").clear()
    driver.find_element(By.ID, "urls").send_keys(http_server.url("/gone.bin"))
    driver.find_element(By.ID, "add").click()
    failed = wait_for(
        lambda: [r for r in rows(driver) if r["status"] == "error"],
        what=lambda: "the failed row" + "; " + state_of(driver, web_engine),
    )[0]
    body = make_body(50 * KiB, seed=7)
    http_server.add("/gone.bin", body)
    click_in_row(driver, failed["gid"], "retry")
    wait_for(
        lambda: [r["status"] for r in rows(driver) if r["gid"] == failed["gid"]] == ["complete"],
        what=lambda: (
            f"the retried job done; the page shows {rows(driver)}, the table {web_engine.jobs()}"
        ),
    )
    assert (downloads / "gone.bin").read_bytes() == body


def test_a_wrong_secret_is_refused_and_the_right_one_kept(
    chromium: BrowserFactory, web_engine: WebEngine
) -> None:
    from selenium.webdriver.common.by import By

    driver = chromium()
    log_in(driver, web_engine, secret="not-the-secret")
    message = wait_for(
        lambda: "refused" in (text := driver.find_element(By.ID, "login-error").text) and text,
        what="the refusal",
    )
    assert "Unauthorized" in message
    assert not queue_shown(driver)
    assert driver.execute_script("return localStorage.length") == 0
    log_in(driver, web_engine)
    wait_for(lambda: queue_shown(driver), what="the queue")
    kept = driver.execute_script("return localStorage.getItem('drayman.rpc-secret')")
    assert kept == SECRET
    # typed once: a reload connects with what the browser kept; never in a URL
    driver.refresh()
    wait_for(lambda: queue_shown(driver), what="the queue after a reload")
    assert SECRET not in driver.current_url
    assert driver.find_element(By.ID, "connection").text.startswith("drayman ")
    # and forgotten on request: the form again, nothing kept
    driver.find_element(By.ID, "forget").click()
    wait_for(lambda: driver.find_element(By.ID, "login").is_displayed(), what="the form")
    assert not queue_shown(driver)
    assert driver.execute_script("return localStorage.length") == 0


#: run in a page of another origin: try the RPC with the right secret, by a
#: no-cors POST (sent without a preflight) and by a WebSocket; what came of it
OTHER_ORIGIN_SCRIPT = """
const [port, secret, url, done] = arguments;
const call = JSON.stringify({jsonrpc: "2.0", id: 1, method: "aria2.addUri",
                             params: ["token:" + secret, [url]]});
const seen = {};
fetch(`http://127.0.0.1:${port}/jsonrpc`, {method: "POST", mode: "no-cors", body: call,
                                            headers: {"Content-Type": "text/plain"}})
  .then(() => { seen.post = "sent"; }, (e) => { seen.post = "failed: " + e; })
  .then(() => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/jsonrpc`);
    ws.onopen = () => { seen.ws = "open"; ws.send(call); };
    ws.onmessage = (event) => { seen.answer = event.data; };
    ws.onclose = () => { seen.closed = true; resolve(); };
    setTimeout(resolve, 5000);
  }))
  .then(() => done(seen));
"""


def test_a_page_of_another_origin_cannot_use_the_rpc(
    chromium: BrowserFactory, web_engine: WebEngine, http_server: LoopbackServer
) -> None:
    http_server.add(
        "/evil.html", b"<!doctype html><title>elsewhere</title>", content_type="text/html"
    )
    http_server.add("/wanted.bin", make_body(10 * KiB))
    driver = chromium()
    driver.get(http_server.url("/evil.html"))
    driver.set_script_timeout(20)
    seen = driver.execute_async_script(
        OTHER_ORIGIN_SCRIPT, web_engine.port, SECRET, http_server.url("/wanted.bin")
    )
    # the POST went out (no-cors) but was refused; the socket never opened
    assert seen.get("post") == "sent" and "ws" not in seen and "answer" not in seen, seen
    assert seen.get("closed") is True, seen
    assert web_engine.jobs() == []
    assert http_server.requests_for("/wanted.bin") == []
