"""What do the disk safety checks cost a download? CPU seconds for one file.

Each checkpoint now also checks that the ``.part`` is still at its name and
its folder still where it was (two stat calls each), and records a digest of
the last 64 KiB written (kept in memory, not read back); each write hands
its bytes to that 64 KiB window. This downloads one file over loopback with
the engine's default settings and prints the CPU seconds (user+sys) of this
process, which includes the loopback server's thread: compare the same
command on two checkouts (``PYTHONPATH=OTHER/src``), run a few times each:

    python bench/disk_checks.py --mib 1024 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from drayman.jobs import JobState
from drayman.queue.engine import Engine, EngineConfig
from httpserver import LoopbackServer, make_body

MiB = 1024 * 1024


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_download(server: LoopbackServer, folder: str) -> tuple[float, float]:
    started_cpu, started = cpu(), time.monotonic()
    async with Engine(os.path.join(folder, "jobs.db"), EngineConfig()) as engine:
        [job_id] = await engine.queue.add([server.url("/f.bin")], dest_dir=folder)
        await engine.wait_idle()
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    return cpu() - started_cpu, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    block = make_body(64 * MiB)
    body = block * max(args.mib // 64, 1)
    figures = []
    with LoopbackServer() as server:
        server.add("/f.bin", body)
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                figures.append(asyncio.run(one_download(server, folder)))
    cpus = [c for c, _ in figures]
    print(
        f"{len(body) // MiB} MiB: CPU median {statistics.median(cpus):.2f} s "
        f"(min {min(cpus):.2f}, max {max(cpus):.2f}) over {args.runs} runs; "
        f"wall median {statistics.median(w for _, w in figures):.2f} s"
    )


if __name__ == "__main__":
    main()
