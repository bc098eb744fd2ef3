"""The command line as a user runs it: real subprocesses, real database, loopback server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    POSIX_SIGNALS,
    cli_env,
    lock_holder_pid,
    run_cli,
    run_cli_on_a_terminal,
    start_cli,
    stop_engine,
    wait_until,
)
from drayman.jobs import JobState
from drayman.queue.transferconfig import PUMP_MIN_SPEED_ENV
from httpserver import LoopbackServer, Resource, make_body

KiB, MiB = 1024, 1024 * 1024
PUBLIC_FIELDS = {"id", "url", "state", "path", "bytes_done", "bytes_total", "attempts", "error"}


def ls_json(db_path: Path, *args: str) -> list[dict[str, object]]:
    result = run_cli(db_path, "ls", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def job(db_path: Path, job_id: int) -> dict[str, object]:
    [found] = [j for j in ls_json(db_path) if j["id"] == job_id]
    return found


def test_version_and_help(db_path: Path) -> None:
    version = run_cli(db_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("drayman ")
    helptext = run_cli(db_path, "--help")
    assert helptext.returncode == 0
    for command in ("add", "ls", "pause", "resume", "retry", "rm", "run", "gui"):
        assert command in helptext.stdout
    run_help = run_cli(db_path, "run", "--help")
    assert "--until-idle" in run_help.stdout and "--max-speed" in run_help.stdout


def test_add_prints_ids_and_ls_json_has_the_contract_fields(db_path: Path, downloads: Path) -> None:
    result = run_cli(
        db_path,
        "add",
        "http://127.0.0.1:9/a.iso",
        "https://example.org/b.mp4",
        "-d",
        str(downloads),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2"]
    jobs = ls_json(db_path)
    assert [j["id"] for j in jobs] == [1, 2]
    for j in jobs:
        assert set(j) >= PUBLIC_FIELDS
        assert j["state"] == "queued"
        assert j["path"] is None and j["bytes_total"] is None and j["error"] is None
        assert j["bytes_done"] == 0 and j["attempts"] == 0
    assert jobs[1]["url"] == "https://example.org/b.mp4"


def test_add_from_file_and_stdin(db_path: Path, downloads: Path, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("# my list\nhttp://127.0.0.1:9/1\n\n   http://127.0.0.1:9/2  \n")
    from_file = run_cli(db_path, "add", "-i", str(listing), "-d", str(downloads))
    assert from_file.stdout.split() == ["1", "2"], from_file.stderr
    from_stdin = run_cli(
        db_path, "add", "-i", "-", "-d", str(downloads), input="http://127.0.0.1:9/3\n"
    )
    assert from_stdin.stdout.split() == ["3"], from_stdin.stderr
    assert [j["url"] for j in ls_json(db_path)][-1] == "http://127.0.0.1:9/3"


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        ("http://127.0.0.1:9/ok\nhttp://127.0.0.1:9/ok2\nftp://host/x\n", "line 3"),
        ("http://127.0.0.1:9/ok\nnot a url\n", "line 2"),
        ("http://exa mple.org/x\n", "line 1"),
    ],
)
def test_one_bad_line_adds_nothing(
    db_path: Path, downloads: Path, tmp_path: Path, lines: str, needle: str
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(lines)
    result = run_cli(db_path, "add", "-i", str(listing), "-d", str(downloads))
    assert result.returncode == 2
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ls_json(db_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["http://127.0.0.1:9/a", "-H", "no colon here"],
        ["http://127.0.0.1:9/a", "-H", "Range: bytes=0-"],
        ["http://127.0.0.1:9/a", "--sha256", "xyz"],
        ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "-o", "name.bin"],
        ["http://127.0.0.1:9/a", "-o", "../escape.bin"],
        ["javascript:alert(1)"],
        [],
        ["http://127.0.0.1:9/a", "-d", "/etc/hostname"],
    ],
)
def test_bad_add_input_exits_2_with_one_line(
    db_path: Path, downloads: Path, args: list[str]
) -> None:
    folder = [] if "-d" in args else ["-d", str(downloads)]
    result = run_cli(db_path, "add", *args, *folder)
    assert result.returncode == 2
    assert result.stderr.startswith("drayman: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_header_values_are_not_in_ls_json(db_path: Path, downloads: Path) -> None:
    run_cli(db_path, "add", "http://127.0.0.1:9/a", "-H", "Cookie: secret=1", "-d", str(downloads))
    out = run_cli(db_path, "ls", "--json").stdout
    assert "secret" not in out
    assert json.loads(out)[0]["header_names"] == ["Cookie"]


def test_ls_json_streams_one_array_across_batches(db_path: Path, downloads: Path) -> None:
    # 2,500 jobs are three of the listing's 1,000-row batches: one array, every
    # job once, in queue order, with the bytes json.dumps would have written
    urls = "".join(f"http://127.0.0.1:9/f{n:04d}.bin\n" for n in range(2500))
    assert run_cli(db_path, "add", "-i", "-", "-d", str(downloads), input=urls).returncode == 0
    assert run_cli(db_path, "pause", "7", "2001").returncode == 0
    out = run_cli(db_path, "ls", "--json").stdout
    listed = json.loads(out)
    assert [j["id"] for j in listed] == list(range(1, 2501))
    assert out == json.dumps(listed, ensure_ascii=False) + "\n"
    assert [j["id"] for j in ls_json(db_path, "--state", "paused")] == [7, 2001]
    assert run_cli(db_path, "ls", "--json", "--state", "done").stdout == "[]\n"


def test_piped_output_is_utf8_under_a_legacy_code_page(db_path: Path, downloads: Path) -> None:
    # what a Windows pipe gets (the ANSI code page), reproduced here: a title
    # outside it must not cut `ls --json` short
    listing = json.dumps([{"url": "http://127.0.0.1:9/v.mp4", "title": "第一集 😀"}])
    cp1252 = {"PYTHONIOENCODING": "cp1252"}
    added = run_cli(
        db_path,
        "add",
        "-i",
        "-",
        "--format",
        "json",
        "-d",
        str(downloads),
        input=listing,
        env=cp1252,
    )
    assert added.returncode == 0, added.stderr
    result = subprocess.run(
        [sys.executable, "-m", "drayman", "ls", "--json"],
        env=cli_env(db_path, cp1252),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.decode("utf-8"))[0]["title"] == "第一集 😀"


def test_pause_resume_retry_rm_and_their_errors(db_path: Path, downloads: Path) -> None:
    run_cli(db_path, "add", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "-d", str(downloads))
    assert run_cli(db_path, "pause", "1").returncode == 0
    assert job(db_path, 1)["state"] == "paused"
    assert [j["id"] for j in ls_json(db_path, "--state", "paused")] == [1]
    # retry is for failed jobs; resume is for paused ones
    wrong = run_cli(db_path, "retry", "1")
    assert wrong.returncode == 2 and "resume" in wrong.stderr
    assert run_cli(db_path, "resume", "--all").returncode == 0
    assert job(db_path, 1)["state"] == "queued"
    unknown = run_cli(db_path, "pause", "1", "99")
    assert unknown.returncode == 2 and "99" in unknown.stderr
    assert job(db_path, 1)["state"] == "queued"  # all or nothing
    assert run_cli(db_path, "pause", "--all").returncode == 0
    assert {j["state"] for j in ls_json(db_path)} == {"paused"}
    both = run_cli(db_path, "pause")
    assert both.returncode == 2
    assert run_cli(db_path, "rm", "2").returncode == 0
    assert [j["id"] for j in ls_json(db_path)] == [1]
    assert run_cli(db_path, "rm", "2").returncode == 2
    bad_state = run_cli(db_path, "ls", "--state", "sleeping")
    assert bad_state.returncode == 2


def test_ls_table_is_readable(db_path: Path, downloads: Path) -> None:
    assert "no jobs" in run_cli(db_path, "ls").stdout
    run_cli(db_path, "add", "http://127.0.0.1:9/file.iso", "-d", str(downloads))
    out = run_cli(db_path, "ls").stdout
    assert "ID" in out and "STATE" in out and "queued" in out and "file.iso" in out


def test_db_flag_wins_over_environment(db_path: Path, downloads: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    run_cli(db_path, "--db", str(other), "add", "http://127.0.0.1:9/x", "-d", str(downloads))
    assert other.exists()
    assert ls_json(db_path) == []


def test_run_until_idle_downloads_and_exit_codes(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(MiB)
    http_server.add("/ok.bin", body)
    run_cli(db_path, "add", http_server.url("/ok.bin"), "-d", str(downloads))
    result = run_cli(db_path, "run", "--until-idle")
    assert result.returncode == 0, result.stderr
    assert "job 1 done" in result.stdout
    assert (downloads / "ok.bin").read_bytes() == body
    done = job(db_path, 1)
    assert done["state"] == "done"
    assert done["path"] == str(downloads / "ok.bin")
    assert done["bytes_done"] == done["bytes_total"] == len(body)

    run_cli(db_path, "add", http_server.url("/nope"), "-d", str(downloads))
    failed = run_cli(db_path, "run", "--until-idle")
    assert failed.returncode == 1
    assert "404" in str(job(db_path, 2)["error"])
    # a failure left from that run is not this run's: a run that only downloads succeeds
    http_server.add("/later.bin", body)
    run_cli(db_path, "add", http_server.url("/later.bin"), "-d", str(downloads))
    later = run_cli(db_path, "run", "--until-idle")
    assert later.returncode == 0, later.stderr
    assert job(db_path, 2)["state"] == "failed" and job(db_path, 3)["state"] == "done"
    # retry brings it back to the queue
    assert run_cli(db_path, "retry", "--failed").returncode == 0
    assert job(db_path, 2)["state"] == "queued" and job(db_path, 2)["attempts"] == 0


def test_corrupt_database_is_a_one_line_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"not a database at all" * 100)
    before = db_path.read_bytes()
    result = run_cli(db_path, "ls")
    assert result.returncode == 3
    assert "not a usable drayman database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert db_path.read_bytes() == before


def test_gui_commands_exist(db_path: Path) -> None:
    helptext = run_cli(db_path, "gui", "--help")
    assert helptext.returncode == 0 and "gui" in helptext.stdout
    import subprocess
    import sys

    script = "from drayman.cli import gui_main; gui_main(['--help'])"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and "--db" in result.stdout


def slow_server_job(
    db_path: Path, downloads: Path, server: LoopbackServer, size: int, rate: int
) -> tuple[bytes, Resource]:
    body = make_body(size)
    resource = server.add("/big.bin", body, rate=rate)
    assert run_cli(db_path, "add", server.url("/big.bin"), "-d", str(downloads)).returncode == 0
    return body, resource


def test_pause_from_another_process_stops_a_running_engine(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body, resource = slow_server_job(db_path, downloads, http_server, 8 * MiB, rate=2 * MiB)
    engine = start_cli(db_path, "run", "--checkpoint-every", "0.2")
    try:
        wait_until(lambda: int(job(db_path, 1)["bytes_done"]) > 0, what="progress")
        assert run_cli(db_path, "pause", "1").returncode == 0
        # the engine notices: the part file stops at the recorded offset
        part = downloads / "big.bin.part"

        def settled() -> bool:
            if http_server.in_flight.get("/big.bin"):
                return False  # still sending: the engine has not dropped the connection
            j = job(db_path, 1)
            return j["state"] == "paused" and part.stat().st_size == j["bytes_done"]

        wait_until(settled, timeout=5, what="the engine to stop the paused job")
        assert len(http_server.requests_for("/big.bin")) == 1
        resource.rate = None
        assert run_cli(db_path, "resume", "1").returncode == 0
        wait_until(lambda: job(db_path, 1)["state"] == "done", timeout=20, what="done")
        second = http_server.requests_for("/big.bin")[1]
        assert second.headers["Range"].startswith("bytes=")
        assert (downloads / "big.bin").read_bytes() == body
    finally:
        code = stop_engine(engine)
    if POSIX_SIGNALS:
        assert code == 0


def test_second_engine_is_refused_with_the_holders_pid(db_path: Path, downloads: Path) -> None:
    run_cli(db_path, "ls")  # create the database
    engine = start_cli(db_path, "run")
    try:
        wait_until(lambda: lock_holder_pid(db_path) == str(engine.pid), what="the engine lock")
        second = run_cli(db_path, "run", "--until-idle")
        assert second.returncode == 3
        assert f"pid {engine.pid}" in second.stderr
    finally:
        stop_engine(engine)


@pytest.mark.skipif(
    not POSIX_SIGNALS, reason="Windows cannot send SIGINT to another process (Ctrl-C is by hand)"
)
def test_sigint_checkpoints_and_next_run_resumes(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body, resource = slow_server_job(db_path, downloads, http_server, 8 * MiB, rate=2 * MiB)
    engine = start_cli(db_path, "run", "--until-idle")
    wait_until(lambda: int(job(db_path, 1)["bytes_done"]) > 0, what="progress")
    engine.send_signal(signal.SIGINT)
    engine.wait(timeout=5)
    assert engine.returncode == 130
    stopped = job(db_path, 1)
    assert stopped["state"] == "queued"
    part = downloads / "big.bin.part"
    assert part.stat().st_size == stopped["bytes_done"]
    resource.rate = None
    assert run_cli(db_path, "run", "--until-idle").returncode == 0
    assert (downloads / "big.bin").read_bytes() == body
    assert (
        http_server.requests_for("/big.bin")[1].headers["Range"]
        == f"bytes={stopped['bytes_done']}-"
    )


@pytest.mark.parametrize("reader", ["aiohttp", "pump"])
def test_sigkill_at_random_points_resumes_byte_exact(
    db_path: Path, downloads: Path, http_server: LoopbackServer, reader: str
) -> None:
    import random

    size, rate = 12 * MiB, 6 * MiB
    body, _ = slow_server_job(db_path, downloads, http_server, size, rate=rate)
    rng = random.Random(7)
    kills = 0
    for _ in range(4):
        # the body read through aiohttp, or moved by a pump thread however slow it comes
        env = {PUMP_MIN_SPEED_ENV: "0"} if reader == "pump" else {PUMP_MIN_SPEED_ENV: str(1 << 40)}
        recorded = int(job(db_path, 1)["bytes_done"])
        engine = start_cli(db_path, "run", "--until-idle", "--checkpoint-every", "0.1", env=env)

        def checkpointed(engine: subprocess.Popen[str] = engine, recorded: int = recorded) -> bool:
            return engine.poll() is not None or int(job(db_path, 1)["bytes_done"]) > recorded

        # a checkpoint of this run first (else its kill proves nothing about resuming),
        # then a kill after a random further 0.5-2 MiB has crossed the wire
        wait_until(checkpointed, timeout=20, what="a checkpoint of this run")
        target = http_server.bytes_sent.get("/big.bin", 0) + rng.randint(512 * KiB, 2 * MiB)

        def advanced(engine: subprocess.Popen[str] = engine, target: int = target) -> bool:
            sent = http_server.bytes_sent.get("/big.bin", 0)
            return engine.poll() is not None or sent >= target

        wait_until(advanced, timeout=20, what="the download to advance")
        if engine.poll() is not None:
            break
        engine.kill()  # SIGKILL; on Windows TerminateProcess, as abrupt
        engine.wait(timeout=5)
        kills += 1
    final = run_cli(db_path, "run", "--until-idle", env=env)
    assert final.returncode == 0, final.stderr
    assert kills >= 2
    assert (downloads / "big.bin").read_bytes() == body
    requests = http_server.requests_for("/big.bin")
    assert all(r.headers.get("If-Range") for r in requests[1:] if "Range" in r.headers)
    assert sum("Range" in r.headers for r in requests) >= kills
    # resumed each time, never restarted: each kill wastes at most ~one checkpoint interval
    assert http_server.bytes_sent["/big.bin"] <= size * 1.3
    assert job(db_path, 1)["state"] == JobState.DONE.value


def test_rm_delete_files_removes_only_the_jobs_own_files(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/keep.bin", b"keep")
    http_server.add("/drop.bin", b"drop")
    run_cli(
        db_path,
        "add",
        http_server.url("/keep.bin"),
        http_server.url("/drop.bin"),
        "-d",
        str(downloads),
    )
    assert run_cli(db_path, "run", "--until-idle").returncode == 0
    (downloads / "unrelated.txt").write_text("mine")
    assert run_cli(db_path, "rm", "1").returncode == 0
    assert (downloads / "keep.bin").read_bytes() == b"keep"  # not asked: file stays
    assert run_cli(db_path, "rm", "2", "--delete-files").returncode == 0
    assert sorted(p.name for p in downloads.iterdir()) == ["keep.bin", "unrelated.txt"]
    assert ls_json(db_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals (pty) exist on POSIX only")
def test_run_on_a_terminal_shows_live_progress(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """`run` under a pseudo-terminal draws rich progress bars, not plain lines."""
    http_server.add("/tty.bin", make_body(2 * MiB), rate=4 * MiB)
    run_cli(db_path, "add", http_server.url("/tty.bin"), "-d", str(downloads))
    text = run_cli_on_a_terminal(db_path, "run", "--until-idle")
    assert "tty.bin" in text and "job 1 done" in text
    assert "\x1b[" in text  # terminal control codes: the live display
    assert "━" in text  # a progress bar


def test_limit_is_stored_and_a_running_engine_applies_it_live(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    assert run_cli(db_path, "limit").stdout.strip() == "no limit"
    assert run_cli(db_path, "limit", "2M").returncode == 0
    assert run_cli(db_path, "limit").stdout.strip() == "2.0 MiB/s"
    assert run_cli(db_path, "limit", "fast").returncode == 2
    assert run_cli(db_path, "limit", "--job", "9", "1k").returncode == 2  # no job 9
    run_cli(db_path, "add", "http://127.0.0.1:9/x", "-d", str(downloads))
    assert run_cli(db_path, "limit", "--job", "1", "500k").returncode == 0
    assert job(db_path, 1)["max_speed"] == 500 * 1024
    assert run_cli(db_path, "limit", "--job", "1", "0").returncode == 0
    assert job(db_path, 1)["max_speed"] is None
