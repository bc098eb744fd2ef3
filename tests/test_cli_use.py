"""The command line as a new user meets it (issue 18): real subprocesses, loopback servers."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POSIX_SIGNALS, run_cli, run_cli_on_a_terminal, start_cli, wait_until
from httpserver import LoopbackServer, Resource, make_body

KiB, MiB = 1024, 1024 * 1024


def ls_json(db_path: Path) -> list[dict[str, object]]:
    result = run_cli(db_path, "ls", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def job(db_path: Path, job_id: int) -> dict[str, object]:
    [found] = [j for j in ls_json(db_path) if j["id"] == job_id]
    return found


def done_bytes(db_path: Path, job_id: int = 1) -> int:
    return int(str(job(db_path, job_id)["bytes_done"]))


def add_from_a_server_that_ignores_ranges(
    db_path: Path, downloads: Path, http_server: LoopbackServer, body: bytes
) -> Resource:
    """big.iso, at 1 MiB/s from a server that answers every range request with the whole
    file, added to the queue."""
    resource = http_server.add("/big.iso", body, rate=MiB, ignore_range=True)
    added = run_cli(db_path, "add", http_server.url("/big.iso"), "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    return resource


def ctrl_c_promises_no_resume_and_the_next_run_finishes(
    run: subprocess.Popen[str],
    log: Path,
    db_path: Path,
    downloads: Path,
    resource: Resource,
    body: bytes,
) -> subprocess.CompletedProcess[str]:
    """Ctrl-C the ``run`` that has learnt the server cannot resume: it must not promise a
    resume (its output in ``log``); then the next run, at full speed, brings the file
    whole (returned)."""
    run.send_signal(signal.SIGINT)
    run.wait(timeout=10)
    assert run.returncode == 130
    said = log.read_text()
    assert "big.iso: the server cannot resume; the next `drayman run` starts it again" in said
    assert "resumes" not in said
    resource.rate = None
    last = run_cli(db_path, "run", "--until-idle")
    assert last.returncode == 0, last.stderr
    assert (downloads / "big.iso").read_bytes() == body
    return last


@pytest.mark.skipif(
    not POSIX_SIGNALS, reason="Windows cannot send SIGINT to another process (Ctrl-C is by hand)"
)
def test_a_server_that_cannot_resume_is_said_when_it_starts_again_and_at_ctrl_c(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    body = make_body(8 * MiB, seed=12)
    resource = add_from_a_server_that_ignores_ranges(db_path, downloads, http_server, body)
    first = start_cli(db_path, "run", "--until-idle")
    wait_until(
        lambda: int(str(job(db_path, 1)["bytes_done"])) > 0, what="saved progress", timeout=30
    )
    saved = int(str(job(db_path, 1)["bytes_done"]))
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=10)
    # the next run asks for the rest, gets the whole file, and says so at once
    log = tmp_path / "second.log"
    second = start_cli(db_path, "run", "--until-idle", log=log)
    told = "big.iso: the server cannot resume; starting again from 0"
    wait_until(lambda: told in log.read_text(), what="the word about the restart", timeout=30)
    wait_until(
        lambda: int(str(job(db_path, 1)["bytes_done"])) not in (0, saved),
        what="progress",
        timeout=30,
    )
    # now the server has shown it: Ctrl-C promises no resume for it
    ctrl_c_promises_no_resume_and_the_next_run_finishes(
        second, log, db_path, downloads, resource, body
    )


@pytest.mark.skipif(
    not POSIX_SIGNALS, reason="Windows cannot send SIGINT to another process (Ctrl-C is by hand)"
)
@pytest.mark.parametrize(
    ("etag", "why"),
    [(None, "no ETag, no Last-Modified"), ('W/"v1"', "only a weak ETag, no Last-Modified")],
)
def test_a_server_that_names_no_version_of_the_file_is_never_promised_a_resume(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    tmp_path: Path,
    etag: str | None,
    why: str,
) -> None:
    """It honours ranges but sends no strong ETag and no Last-Modified (lighttpd can be
    set up so): a resume could splice two versions, so Ctrl-C promises none, and the
    next run says why it starts again from 0."""
    body = make_body(8 * MiB, seed=14)
    resource = http_server.add("/big.iso", body, rate=MiB, etag=etag, last_modified=None)
    added = run_cli(db_path, "add", http_server.url("/big.iso"), "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    first_log = tmp_path / "first.log"
    first = start_cli(db_path, "run", "--until-idle", log=first_log)
    wait_until(lambda: done_bytes(db_path) > 0, what="saved progress", timeout=30)
    last = ctrl_c_promises_no_resume_and_the_next_run_finishes(
        first, first_log, db_path, downloads, resource, body
    )
    # the run that finished it told why the bytes saved before did not count
    told = f"big.iso: the server names no version of the file ({why}); starting again from 0"
    assert told in last.stdout + last.stderr


def test_run_until_idle_exits_by_the_jobs_this_run_finished(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/ok.bin", make_body(64 * KiB))
    run_cli(db_path, "add", http_server.url("/gone.bin"), "-d", str(downloads))
    failed = run_cli(db_path, "run", "--until-idle")
    assert failed.returncode == 1
    assert "1 job(s) failed" in failed.stderr
    # nothing queued: nothing failed in this run
    idle = run_cli(db_path, "run", "--until-idle")
    assert idle.returncode == 0, idle.stderr
    # `add && run --until-idle` succeeds when what it added succeeds
    run_cli(db_path, "add", http_server.url("/ok.bin"), "-d", str(downloads))
    ok = run_cli(db_path, "run", "--until-idle")
    assert ok.returncode == 0, ok.stderr
    assert [j["state"] for j in ls_json(db_path)] == ["failed", "done"]


def test_a_paused_job_leaves_the_live_view_and_the_run_says_why_it_is_idle(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.add("/slow.bin", make_body(8 * MiB, seed=3), rate=MiB)
    run_cli(db_path, "add", http_server.url("/slow.bin"), "-d", str(downloads))
    log = tmp_path / "run.log"
    engine = start_cli(db_path, "run", "--until-idle", log=log)
    wait_until(lambda: "job 1 started" in log.read_text(), what="the start", timeout=30)
    assert run_cli(db_path, "pause", "--all").returncode == 0
    engine.wait(timeout=30)
    said = log.read_text()
    assert engine.returncode == 0, said
    assert "job 1 paused slow.bin" in said
    assert "idle: 1 job(s) paused; `drayman resume --all` continues them" in said


def test_a_closed_port_fails_after_a_few_quick_retries_in_one_line(
    db_path: Path, downloads: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/big.iso"
    assert run_cli(db_path, "add", url, "-d", str(downloads)).returncode == 0
    result = run_cli(db_path, "run", "--until-idle", timeout=60)
    assert result.returncode == 1
    failed = job(db_path, 1)
    assert failed["state"] == "failed" and failed["attempts"] == 3
    error = str(failed["error"])
    assert f"127.0.0.1:{port} refused the connection" in error
    assert "gave up after 3 attempts" in error and "\n" not in error


def test_where_the_file_went_is_said_at_add_at_the_end_and_in_ls(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    keep, big = make_body(10 * KiB, seed=1), make_body(20 * KiB, seed=2)
    http_server.add("/keep", keep)
    http_server.add("/big.iso", big)
    (downloads / "keep.txt").write_text("mine")
    (downloads / "big.iso").write_text("mine too")
    added = run_cli(
        db_path, "add", http_server.url("/keep"), "-o", "keep.txt", "-d", str(downloads)
    )
    assert added.returncode == 0 and added.stdout == "1\n"
    assert f"queued 1 download into {downloads}; start downloading with `drayman run`" in (
        added.stderr
    )
    run_cli(db_path, "add", http_server.url("/big.iso"), "-d", str(downloads))
    again = run_cli(db_path, "add", http_server.url("/big.iso"), "-d", str(downloads))
    assert again.stdout == "3\n"
    assert f"already in the list, added again: {http_server.url('/big.iso')}" in again.stderr
    run_cli(db_path, "rm", "3")
    result = run_cli(db_path, "run", "--until-idle")
    assert result.returncode == 0, result.stderr
    kept, renamed = downloads / "keep (1).txt", downloads / "big (1).iso"
    assert f"job 1 done: {kept} (keep.txt was already there; saved as keep (1).txt" in (
        result.stdout
    )
    assert f"job 2 done: {renamed} (big.iso was already there" in result.stdout
    assert kept.read_bytes() == keep and renamed.read_bytes() == big
    assert (downloads / "keep.txt").read_text() == "mine"
    listing = run_cli(db_path, "ls", env={"COLUMNS": "200"})
    assert "FOLDER" in listing.stdout and str(downloads) in listing.stdout


def test_job_and_rule_ids_are_never_reused(db_path: Path, downloads: Path) -> None:
    urls = [f"http://127.0.0.1:9/{n}.bin" for n in range(3)]
    assert run_cli(db_path, "add", *urls, "-d", str(downloads)).stdout == "1\n2\n3\n"
    assert run_cli(db_path, "rm", "3").returncode == 0
    assert run_cli(db_path, "add", urls[0], "-d", str(downloads)).stdout == "4\n"
    for pattern in ("a.example", "b.example"):
        assert run_cli(db_path, "rules", "add", pattern, "-d", str(downloads)).returncode == 0
    assert run_cli(db_path, "rules", "rm", "b.example").returncode == 0
    assert run_cli(db_path, "rules", "add", "c.example", "-d", str(downloads)).returncode == 0
    rules = json.loads(run_cli(db_path, "rules", "ls", "--json").stdout)
    assert sorted(rule["id"] for rule in rules) == [1, 3]


def test_the_readme_tells_users_and_developers_how_to_install_and_the_core_has_no_qt() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    first_screen = (root / "README.md").read_text(encoding="utf-8").split("## Usage")[0]
    assert 'pip install ".[gui]"' in first_screen  # a user: the window and the CLI
    assert "pip install ." in first_screen  # a headless server: no Qt
    assert 'pip install -e ".[test]"' in first_screen  # a developer
    assert "drayman add" in first_screen and "drayman run" in first_screen
    assert "Downloads" in first_screen  # where the files land
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = " ".join(project["dependencies"]).lower()
    assert "pyside6" not in core and "qasync" not in core


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX (pty)")
def test_at_80_columns_a_long_name_is_cut_and_each_download_stays_on_one_line(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    name = "A very long file name that goes on and on - Episode 12 (1080p).mkv"
    http_server.add(f"/{name}", make_body(2 * MiB), rate=2 * MiB)
    url = http_server.url("/" + name.replace(" ", "%20"))
    run_cli(db_path, "add", url, "-d", str(downloads))
    drawn = run_cli_on_a_terminal(
        db_path, "run", "--until-idle", env={"COLUMNS": "80", "LINES": "24"}
    )
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    bars = [line for line in re.split(r"[\r\n]+", text) if "━" in line]
    assert bars, text
    for line in bars:
        assert len(line) <= 80, line
        assert "…" in line and "MiB" in line, line  # the name cut, the figures whole
    assert any("/s" in line for line in bars), bars  # and the speed on the same line


def test_smaller_trips_of_the_command_line(db_path: Path, downloads: Path, tmp_path: Path) -> None:
    # bare `drayman`, and `drayman URL`: where to go instead
    bare = run_cli(db_path)
    assert bare.returncode == 2 and "drayman add URL" in bare.stderr
    assert len(bare.stderr.splitlines()) == 1
    url = run_cli(db_path, "https://example.org/a.iso")
    assert url.returncode == 2 and "drayman add https://example.org/a.iso" in url.stderr
    # --db after the command, as many users type it
    other = tmp_path / "other.db"
    assert run_cli(db_path, "add", "http://127.0.0.1:9/x", "--db", str(other)).returncode == 0
    assert "x" in run_cli(db_path, "ls", "--db", str(other)).stdout
    assert "no jobs" in run_cli(db_path, "ls").stdout  # the other database took it
    # a text file given to --db is not "damaged"
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    check = run_cli(db_path, "--db", str(notes), "check")
    assert check.returncode == 3 and "is not a drayman database" in check.stdout + check.stderr
    assert "damaged" not in check.stdout + check.stderr and notes.read_text() == "my notes\n"
    # sha256: prefixes, and raw spaces encoded as wget does
    digest = "ab" * 32
    spaced = run_cli(
        db_path, "add", "http://127.0.0.1:9/my file.iso", "--sha256", f"sha256:{digest}"
    )
    assert spaced.returncode == 0, spaced.stderr
    [added] = [j for j in ls_json(db_path) if "my" in str(j["url"])]
    assert added["url"] == "http://127.0.0.1:9/my%20file.iso"
    # rules ls hides every header value, as its help says
    run_cli(db_path, "rules", "add", "h.example", "-H", "X-Test: secret123")
    for args in (("rules", "ls"), ("rules", "ls", "--json")):
        listed = run_cli(db_path, *args)
        assert "X-Test" in listed.stdout and "secret123" not in listed.stdout
    # pause --all: ranges, not a thousand ids on one line
    urls = [f"http://127.0.0.1:9/{n}" for n in range(40)]
    run_cli(db_path, "add", *urls, "-d", str(downloads))
    paused = run_cli(db_path, "pause", "--all")
    assert paused.stdout == "paused: 1-41\n", paused.stdout


@pytest.mark.parametrize(
    ("validators", "then"),
    [
        ({}, "the next `drayman run` resumes it"),
        # a server that names no version of the file: nothing saved can be trusted
        ({"etag": None, "last_modified": None}, "the next `drayman run` starts it again from 0"),
    ],
)
def test_after_kill_9_ls_shows_the_job_interrupted_until_the_next_run(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    validators: dict[str, None],
    then: str,
) -> None:
    body = make_body(8 * MiB, seed=9)
    http_server.add("/big.bin", body, rate=MiB, **validators)
    run_cli(db_path, "add", http_server.url("/big.bin"), "-d", str(downloads))
    engine = start_cli(db_path, "run", "--until-idle")
    wait_until(lambda: done_bytes(db_path) > 0, what="saved progress", timeout=30)
    engine.kill()  # SIGKILL: nobody marks the row
    engine.wait(timeout=10)
    table = run_cli(db_path, "ls").stdout
    assert "interrupted" in table and then in table
    assert job(db_path, 1)["state"] == "running"  # --json keeps the contract's states
    http_server.resources["/big.bin"].rate = None
    assert run_cli(db_path, "run", "--until-idle").returncode == 0
    assert (downloads / "big.bin").read_bytes() == body


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a network namespace is Linux's")
@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("127.0.0.1:9", "waiting for the network: no route to 127.0.0.1"),
        ("nonexistent.invalid", "waiting for the network: cannot reach a name server"),
    ],
    ids=["no-route", "no-name-server"],
)
def test_offline_jobs_wait_for_the_network_without_spending_attempts(
    db_path: Path, downloads: Path, tmp_path: Path, host: str, said: str
) -> None:
    """`run` in a network namespace with nothing up: the machine is offline."""
    import shutil

    from conftest import cli_env

    if not shutil.which("unshare"):
        pytest.fail("this test takes the network away with unshare (util-linux): install it")
    run_cli(db_path, "add", f"http://{host}/big.iso", "-d", str(downloads))
    isolate = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    offline = subprocess.Popen(
        [*isolate, sys.executable, "-m", "drayman", "run", "--until-idle"],
        env=cli_env(db_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: said in str(job(db_path, 1)["error"]), what="the word", timeout=30)
        # the run goes on waiting, and the job is queued with no attempt spent
        assert offline.poll() is None
        seen = job(db_path, 1)
        assert seen["state"] == "queued" and seen["attempts"] == 0, seen
    finally:
        offline.kill()
        offline.wait(timeout=10)


@pytest.mark.skipif(
    not POSIX_SIGNALS, reason="Windows cannot send SIGINT to another process (Ctrl-C is by hand)"
)
def test_ctrl_c_promises_no_resume_once_a_segments_range_request_got_the_whole_file(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    # big enough to be split: the first run learns from its range probe, not
    # from a restart, that this server cannot resume
    body = make_body(32 * MiB, seed=13)
    resource = add_from_a_server_that_ignores_ranges(db_path, downloads, http_server, body)
    log = tmp_path / "first.log"
    first = start_cli(db_path, "run", "--until-idle", log=log)
    wait_until(
        lambda: len(http_server.requests_for("/big.iso")) >= 2 and done_bytes(db_path) > 0,
        what="the range probe answered and progress saved",
        timeout=30,
    )
    ctrl_c_promises_no_resume_and_the_next_run_finishes(
        first, log, db_path, downloads, resource, body
    )
