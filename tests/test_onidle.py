"""When the queue is done: `drayman run --on-idle ACTION`.

The platform's own command is recorded by a fake of it on PATH (systemctl on
Linux, pmset/osascript on macOS): nothing is ever shut down. The countdown is
shortened through DRAYMAN_COUNTDOWN; cancelling it is a real SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POSIX_SIGNALS, cli_env, run_cli, stop_engine, wait_until
from drayman.errors import InvalidIdleAction
from drayman.onidle import IdleAction, parse_idle_action, power_command
from httpserver import LoopbackServer, make_body

KiB = 1024

#: the fakes are shell scripts; Windows' shutdown.exe would need a fake .exe
FAKE_COMMANDS = pytest.mark.skipif(
    sys.platform == "win32", reason="the fake platform command is a POSIX shell script"
)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("nothing", IdleAction("nothing")),
        ("Shutdown", IdleAction("shutdown")),
        ("sleep", IdleAction("sleep")),
        ("notify", IdleAction("notify")),
        ("open", IdleAction("open")),
        ("command:rsync -a ~/Downloads nas:", IdleAction("command", "rsync -a ~/Downloads nas:")),
    ],
)
def test_actions_are_read(text: str, action: IdleAction) -> None:
    assert parse_idle_action(text) == action


@pytest.mark.parametrize("text", ["reboot", "command:", "command: ", "shutdown:now", ""])
def test_a_bad_action_is_refused(text: str) -> None:
    with pytest.raises(InvalidIdleAction):
        parse_idle_action(text)


def test_a_bad_action_on_the_command_line_is_one_line(db_path: Path) -> None:
    result = run_cli(db_path, "run", "--until-idle", "--on-idle", "reboot")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not an --on-idle action" in result.stderr


def test_each_platform_sleeps_and_shuts_down_its_own_way() -> None:
    assert power_command("shutdown", "linux") == ["systemctl", "poweroff"]
    assert power_command("sleep", "linux") == ["systemctl", "suspend"]
    assert power_command("shutdown", "win32") == ["shutdown", "/s", "/t", "0"]
    assert power_command("sleep", "win32") is None  # SetSuspendState, through ctypes
    assert power_command("sleep", "darwin") == ["pmset", "sleepnow"]
    assert power_command("shutdown", "darwin") == [
        "osascript",
        "-e",
        'tell application "System Events" to shut down',
    ]


def fake_platform(tmp_path: Path, witness: Path) -> tuple[Path, Path]:
    """Fakes of the platform's commands on a PATH of their own; each records its call
    and whether ``witness`` (the last job's file) existed at that moment."""
    bin_dir, record = tmp_path / "fake-bin", tmp_path / "calls.txt"
    bin_dir.mkdir()
    for name in ("systemctl", "pmset", "osascript"):
        script = bin_dir / name
        script.write_text(
            "#!/bin/sh\n"
            f'if [ -f "{witness}" ]; then last=done; else last=missing; fi\n'
            f'echo "{name} $* last=$last" >> "{record}"\n'
        )
        script.chmod(0o755)
    return bin_dir, record


def queue_with_a_failure(
    db_path: Path, downloads: Path, server: LoopbackServer
) -> tuple[bytes, Path]:
    server.add("/quick.bin", make_body(10 * KiB))
    body = make_body(600 * KiB, seed=3)
    server.add("/last.bin", body, rate=400 * KiB)  # ends last
    urls = [server.url("/quick.bin"), server.url("/missing.bin"), server.url("/last.bin")]
    added = run_cli(db_path, "add", *urls, "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    return body, downloads / "last.bin"


@FAKE_COMMANDS
def test_shutdown_runs_once_after_the_last_job_even_with_a_failed_one(
    db_path: Path, downloads: Path, tmp_path: Path, http_server: LoopbackServer
) -> None:
    body, last = queue_with_a_failure(db_path, downloads, http_server)
    bin_dir, record = fake_platform(tmp_path, last)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DRAYMAN_COUNTDOWN": "0.2"}
    result = run_cli(db_path, "run", "--until-idle", "--on-idle", "shutdown", env=env)
    assert result.returncode == 1, result.stderr  # the missing file failed
    expected = {"linux": "systemctl poweroff", "darwin": "osascript -e"}
    [call] = record.read_text().splitlines()
    platform = "darwin" if sys.platform == "darwin" else "linux"
    assert call.startswith(expected[platform]), call
    assert call.endswith("last=done"), call  # after the last job ended, never before
    assert last.read_bytes() == body
    assert "shutting down in 0 s (Ctrl-C cancels)" in result.stderr
    states = {j["url"].rsplit("/", 1)[1]: j["state"] for j in ls_json(db_path)}
    assert states == {"quick.bin": "done", "missing.bin": "failed", "last.bin": "done"}


def ls_json(db_path: Path) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(run_cli(db_path, "ls", "--json").stdout)
    return listed


@FAKE_COMMANDS
@pytest.mark.skipif(
    not POSIX_SIGNALS, reason="Windows cannot send SIGINT to another process (Ctrl-C is by hand)"
)
def test_ctrl_c_during_the_countdown_cancels_the_shutdown(
    db_path: Path, downloads: Path, tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/a.bin", make_body(10 * KiB))
    assert run_cli(db_path, "add", http_server.url("/a.bin"), "-d", str(downloads)).returncode == 0
    bin_dir, record = fake_platform(tmp_path, downloads / "a.bin")
    env = cli_env(db_path, {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "w") as err:
        engine = subprocess.Popen(
            [sys.executable, "-m", "drayman", "run", "--until-idle", "--on-idle", "sleep"],
            env=env,  # the real 60 s countdown
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_until(lambda: "going to sleep in 60 s" in stderr.read_text(), what="countdown")
            engine.send_signal(signal.SIGINT)
            assert engine.wait(timeout=15) == 0
        finally:
            stop_engine(engine)
    assert "cancelled; not going to sleep" in stderr.read_text()
    assert not record.exists()


def test_a_command_gets_the_paths_without_a_shell_line_made_of_them(
    db_path: Path, downloads: Path, tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/a.bin", make_body(10 * KiB))
    http_server.add("/b.bin", make_body(20 * KiB))
    # a name a shell would run: it must arrive as a name, never as code
    hostile = "x $(touch pwned); `touch pwned2` 'q.bin"
    assert (
        run_cli(
            db_path, "add", http_server.url("/a.bin"), "-d", str(downloads), "-o", hostile
        ).returncode
        == 0
    )
    assert run_cli(db_path, "add", http_server.url("/b.bin"), "-d", str(downloads)).returncode == 0
    out = tmp_path / "seen.json"
    reader = tmp_path / "reader.py"
    reader.write_text(
        "import json, os, sys\n"
        f"json.dump({{'stdin': sys.stdin.read().splitlines(), "
        f"'env': os.environ['DRAYMAN_FILES'].splitlines(), "
        f"'done': os.environ['DRAYMAN_DONE'], 'failed': os.environ['DRAYMAN_FAILED']}}, "
        f"open({str(out)!r}, 'w'))\n"
    )
    command = f'command:"{sys.executable}" "{reader}"'
    result = run_cli(db_path, "run", "--until-idle", "--on-idle", command, env={})
    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    expected = sorted([str(downloads / hostile), str(downloads / "b.bin")])
    assert sorted(seen["stdin"]) == expected
    assert sorted(seen["env"]) == expected
    assert (seen["done"], seen["failed"]) == ("2", "0")
    assert not list(Path.cwd().glob("pwned*")) and not list(downloads.glob("pwned*"))


def test_notify_says_what_ended(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    queue_with_a_failure(db_path, downloads, http_server)
    result = run_cli(db_path, "run", "--until-idle", "--on-idle", "notify")
    assert result.returncode == 1
    assert "the queue is done: 2 download(s) finished, 1 failed" in result.stderr


def test_nothing_queued_means_nothing_done(db_path: Path, tmp_path: Path) -> None:
    bin_dir, record = fake_platform(tmp_path, tmp_path / "none")
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DRAYMAN_COUNTDOWN": "0"}
    result = run_cli(db_path, "run", "--until-idle", "--on-idle", "shutdown", env=env)
    assert result.returncode == 0, result.stderr
    assert not record.exists()
    assert "shutting down" not in result.stderr


def test_a_long_running_engine_says_it_once_per_batch(
    db_path: Path, downloads: Path, tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/one.bin", make_body(10 * KiB))
    http_server.add("/two.bin", make_body(20 * KiB))
    assert (
        run_cli(db_path, "add", http_server.url("/one.bin"), "-d", str(downloads)).returncode == 0
    )
    stderr = tmp_path / "stderr.txt"

    def notices() -> int:
        return stderr.read_text().count("the queue is done")

    with open(stderr, "w") as err:
        engine = subprocess.Popen(
            [sys.executable, "-m", "drayman", "run", "--on-idle", "notify"],
            env=cli_env(db_path),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_until(lambda: notices() == 1, what="the first batch's notice")
            added = run_cli(db_path, "add", http_server.url("/two.bin"), "-d", str(downloads))
            assert added.returncode == 0
            wait_until(lambda: notices() == 2, what="the second batch's notice")
            assert "the queue is done: 1 download(s) finished" in stderr.read_text()
        finally:
            stop_engine(engine)
    assert notices() == 2
    assert (downloads / "two.bin").exists()
