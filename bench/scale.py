"""drayman with 100,000 queued jobs: prints figures; asserts nothing.

    python bench/scale.py                      # 100,000 jobs, engine runs 15 s (~1 min)
    python bench/scale.py --jobs 20000 --run-seconds 5

Every figure is for the real command line in a subprocess, against a
loopback server (in this process) that answers every path with a 4 KiB file:

- ``add -i``: wall and CPU seconds to add the whole list, and peak RSS;
- ``ls --json``: the same for listing every job as JSON (the output is read
  back and counted);
- ``run -j N``: seconds from starting the engine to the server's first
  request, files finished per second while ~all jobs are still queued (the
  scheduler must not slow down with the queue's length), the engine's CPU per
  file, its peak RSS (VmHWM) and how long it takes to stop on SIGINT.

Targets: add -i <= 10 s, ls --json <= 5 s, engine RSS <= 300 MB (issue 5);
ls --json <= 150 MB peak RSS (issue 11: it streams its array).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web
from loopback import ThreadServer

BODY = os.urandom(4096)
TIME = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)


async def small_file(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=BODY,
        headers={"ETag": '"scale"', "Content-Type": "application/octet-stream"},
    )


def drayman_command() -> list[str]:
    """The drayman of the Python running this script (its venv's console script)."""
    script = Path(sys.executable).with_name("drayman")
    return [str(script)] if script.exists() else [sys.executable, "-m", "drayman"]


def timed(args: list[str], *, stdout: int | None = subprocess.DEVNULL) -> dict[str, float]:
    """Run to completion: wall, CPU (user+sys of the child) and peak RSS in MB."""
    rss_file = None
    command = args
    if TIME:
        handle, rss_file = tempfile.mkstemp(prefix="drayman-rss-")
        os.close(handle)
        command = [TIME, "-f", "%M", "-o", rss_file, *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=stdout, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss = float("nan")
    if rss_file is not None:
        text = Path(rss_file).read_text().strip().splitlines()
        os.unlink(rss_file)
        if text and text[-1].isdigit():
            rss = int(text[-1]) / 1024
    return {"wall": wall, "cpu": cpu, "rss_mb": rss}


def proc_status(pid: int, field: str) -> float:
    """A ``/proc/PID/status`` figure in MB (VmRSS, VmHWM); NaN where there is no /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--run-seconds", type=float, default=15.0)
    parser.add_argument("-j", "--concurrency", type=int, default=16)
    args = parser.parse_args()

    server = ThreadServer(small_file).start()
    drayman = drayman_command()
    with tempfile.TemporaryDirectory(prefix="drayman-scale-") as tmp:
        folder = Path(tmp)
        db, out, urls = folder / "jobs.db", folder / "out", folder / "urls.txt"
        urls.write_text("".join(server.url(f"f{n:06d}.bin") + "\n" for n in range(args.jobs)))
        print(f"{args.jobs:,} jobs, drayman {' '.join(drayman)}")

        add = timed([*drayman, "--db", str(db), "add", "-i", str(urls), "-d", str(out)])
        print(
            f"add -i      {add['wall']:6.2f} s wall  {add['cpu']:6.2f} s CPU  "
            f"{add['rss_mb']:6.0f} MB peak RSS   (target <= 10 s)"
        )

        listing = folder / "ls.json"
        with listing.open("wb") as sink:
            ls = timed([*drayman, "--db", str(db), "ls", "--json"], stdout=sink.fileno())
        count = len(json.loads(listing.read_bytes()))
        print(
            f"ls --json   {ls['wall']:6.2f} s wall  {ls['cpu']:6.2f} s CPU  "
            f"{ls['rss_mb']:6.0f} MB peak RSS   ({count:,} jobs listed; target <= 5 s, <= 150 MB)"
        )

        engine = subprocess.Popen(
            [*drayman, "--db", str(db), "run", "-j", str(args.concurrency)],
            stdout=subprocess.DEVNULL,
        )
        started = time.perf_counter()
        first = None
        rss_peak = 0.0
        while time.perf_counter() - started < 60 and engine.poll() is None:
            if server.requests:
                first = time.perf_counter() - started
                break
            time.sleep(0.005)
        window_start, done_before = time.perf_counter(), server.requests
        cpu_before = proc_cpu(engine.pid)
        while time.perf_counter() - window_start < args.run_seconds and engine.poll() is None:
            time.sleep(0.25)
            rss_peak = max(rss_peak, proc_status(engine.pid, "VmRSS"))
        window = time.perf_counter() - window_start
        served = server.requests - done_before
        cpu = proc_cpu(engine.pid) - cpu_before
        hwm = proc_status(engine.pid, "VmHWM")
        stop_started = time.perf_counter()
        engine.send_signal(signal.SIGINT)
        engine.wait(60)
        stopped = time.perf_counter() - stop_started
        shown = "never" if first is None else f"{first:.2f} s"
        print(f"run         first request after {shown}")
        print(
            f"            {served / window:7.1f} files/s over {window:.1f} s "
            f"({served:,} of {args.jobs:,}), {1000 * cpu / max(served, 1):.2f} ms CPU per file"
        )
        print(f"            engine RSS {rss_peak:.0f} MB (VmHWM {hwm:.0f} MB; target <= 300 MB)")
        print(f"            stopped {stopped:.2f} s after SIGINT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
