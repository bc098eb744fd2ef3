"""Shared fixtures: real SQLite files, real loopback servers, the real CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from drayman.queue.pump import PUMP_COPY_ENV

# the real widgets, without a screen
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from browser import chromium  # noqa: F401  (fixture)
from dbfaults import quick_lock, small_disk  # noqa: F401  (fixtures)
from filesystems import can_mount, mounts, run_in_namespace  # noqa: F401  (fixtures)
from httpserver import http_server, https_server, other_server, tls  # noqa: F401  (fixtures)
from proxyserver import http_proxy, socks_proxy  # noqa: F401  (fixtures)
from rpcclient import rpc  # noqa: F401  (fixture)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mounts: mounts file systems; as root directly, else inside `unshare -rm`"
    )


#: tmpfs, ext4 on a loop device, FAT, unshare: the mounting tests are Linux's
LINUX_MOUNTS = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="mounts Linux file systems (tmpfs, ext4 on a loop device, vfat) with Linux tools",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # every test that uses the mounts fixture, however indirectly (small_disk)
    for item in items:
        if "mounts" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mounts)
            item.add_marker(LINUX_MOUNTS)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Not root: run a test that mounts inside a user namespace instead (never skip it)."""
    if pyfuncitem.get_closest_marker("mounts") is None or can_mount():
        return None
    run_in_namespace(pyfuncitem)
    return True


@pytest.fixture(autouse=True)
def _own_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user cache folder (thumbnails) and config folder (the RPC secret) of each
    test are its own, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("DRAYMAN_CONFIG_DIR", str(tmp_path / "config"))


#: what drayman reads for proxies: a test that wants them sets them itself
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's proxy variables (a company proxy) never reach a test's engine."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(params=["aiohttp", "pump", "pump-copy"])
def both_readers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test thrice: bodies read through aiohttp, then moved by a pump thread
    (by splice on Linux), then by a pump that copies through Python (as on macOS).

    It sets the test module's ``PUMP_MIN_SIZE``, which that module's engine
    configurations pass on as ``pump_min_size`` (0: never a pump; 1: always).
    """
    monkeypatch.setattr(request.module, "PUMP_MIN_SIZE", 0 if request.param == "aiohttp" else 1)
    if request.param == "pump-copy":
        monkeypatch.setenv(PUMP_COPY_ENV, "1")
    return str(request.param)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "jobs.db"


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.02)


async def async_wait_until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


#: Windows cannot send SIGINT or SIGTERM to another process (Popen.terminate()
#: ends it at once, like SIGKILL), so a graceful stop from outside is tested
#: on POSIX only
POSIX_SIGNALS = sys.platform != "win32"


#: open directories (dir_fd) are POSIX; Windows gets the path checks instead
DIR_FD = pytest.mark.skipif(
    os.name != "posix", reason="open directories (dir_fd) are POSIX; Windows cannot open one"
)

#: the exit code of a process killed without cleanup: -SIGKILL on POSIX; on
#: Windows, TerminateProcess's code, which os.kill sets to the signal number
KILLED = -signal.SIGKILL if hasattr(signal, "SIGKILL") else int(signal.SIGTERM)


def lock_holder_pid(db_path: Path) -> str:
    """The pid a running engine wrote into its lock file ("" if none yet).

    Read from byte 1 on: on Windows the engine's lock covers byte 0, and a
    locked byte cannot be read there by another process.
    """
    try:
        with open(str(db_path) + ".engine.lock", "rb") as handle:
            handle.seek(1)
            return handle.read(32).decode("ascii", "replace").strip()
    except OSError:
        return ""


def stop_engine(engine: subprocess.Popen[str], timeout: float = 15) -> int:
    """Ask a running ``drayman run`` to stop and wait; its exit code.

    SIGTERM on POSIX, which the engine answers by saving progress and exiting 0;
    on Windows an immediate end (see POSIX_SIGNALS).
    """
    if engine.poll() is None:
        engine.terminate()
    try:
        return engine.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        engine.kill()
        engine.wait()
        raise


def make_symlink(link: Path, target: Path, *, directory: bool = False) -> None:
    """``link -> target``. A Windows account that may not create links fails the
    test with what to do (like the mounting tests without root): never a skip."""
    try:
        link.symlink_to(target, target_is_directory=directory)
    except OSError as exc:
        if getattr(exc, "winerror", None) == 1314:  # ERROR_PRIVILEGE_NOT_HELD
            raise RuntimeError(
                "this Windows account may not create symbolic links, which the "
                "symlink tests plant: turn on Developer Mode or run them as an administrator"
            ) from exc
        raise


def cli_env(db_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["DRAYMAN_DB"] = str(db_path)
    env.pop("PYTHONWARNINGS", None)
    env.update(extra or {})
    return env


def run_cli(
    db_path: Path,
    *args: str,
    input: str | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    umask: int = -1,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m drayman ARGS`` with the test's database; never raises on exit code.

    ``env`` adds variables (``DRAYMAN_BUSY_TIMEOUT``, ``DRAYMAN_CRASH_AT``);
    ``umask`` sets the child's umask.
    """
    return subprocess.run(
        [sys.executable, "-m", "drayman", *args],
        env=cli_env(db_path, env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        umask=umask,
    )


def start_cli(
    db_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    umask: int = -1,
    log: Path | None = None,
) -> subprocess.Popen[str]:
    """Start ``python -m drayman ARGS`` in its own process group (so it can be killed).

    Its output goes to pipes, or to the file ``log``: a long run prints more
    than a pipe holds, and a pipe nobody reads would block it.
    """
    command = [sys.executable, "-m", "drayman", *args]
    if log is None:
        return subprocess.Popen(
            command,
            env=cli_env(db_path, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            umask=umask,
        )
    with open(log, "w") as output:  # the child keeps its own copy
        return subprocess.Popen(
            command,
            env=cli_env(db_path, env),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            umask=umask,
        )


def run_cli_on_a_terminal(db_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``python -m drayman ARGS`` on a pseudo-terminal (POSIX only) to its end;
    it must exit 0. Returns what it drew, control codes and all."""
    import pty  # not on Windows

    child_env = cli_env(db_path, env)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real CLI on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "drayman", *args], child_env)
    output = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        output += data
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return output.decode("utf-8", "replace")


#: hypothesis' deadline for one example of a parser or sanitizer property:
#: they take microseconds to milliseconds, so only a hang reaches it. Ten
#: seconds, not two: a shared CI machine can stall a process that long, and a
#: flaky deadline costs minutes of shrinking. Superlinear work is caught by
#: the megabyte tests below (assert_linear), not by this deadline.
PROPERTY_DEADLINE = timedelta(seconds=10)

#: one call on a megabyte of hostile text: linear code takes milliseconds to
#: tens of milliseconds; quadratic code takes minutes to hours. The bound is a
#: hundred times the linear time, so a busy machine cannot fail it.
LINEAR_BOUND_SECONDS = 5.0
MEGABYTE = 1 << 20


def assert_linear(call: Callable[[str], object], text: str) -> object:
    """Run ``call(text)`` on a large input; fail if it took superlinear time."""
    started = time.perf_counter()
    result = call(text)
    elapsed = time.perf_counter() - started
    assert elapsed < LINEAR_BOUND_SECONDS, (
        f"{elapsed:.1f} s on {len(text):,} characters: superlinear work"
    )
    return result
