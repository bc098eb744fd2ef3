"""What do the database's safety checks cost? Opening, and the record on each .part.

Every open first looks at the file read-only and runs ``PRAGMA quick_check``
(drayman.storage.database), so a damaged file is refused before anything
writes to it; every checkpoint also writes the ``.part``'s record (an
extended attribute, drayman.queue.partrecord). This measures both, in CPU
seconds (user+sys) of this process, so other load on the machine matters
less than wall time would. Prints one line per figure:

    python bench/db_open.py --jobs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

from drayman.jobs import NewJob
from drayman.queue.partrecord import PartRecord, write_record
from drayman.storage import JobStore
from drayman.storage.database import open_database


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def fill(path: Path, jobs: int) -> None:
    store = await JobStore.open(path)
    try:
        await store.add(
            [
                NewJob(
                    url=f"https://cdn.example.com/videos/{n}/file-{n}.mp4?token=abcdef{n}",
                    dest_dir="/home/user/Downloads",
                    headers=(("Referer", "https://video.example.com/"),),
                )
                for n in range(jobs)
            ]
        )
    finally:
        await store.close()


async def time_opens(path: Path, rounds: int) -> float:
    started = cpu()
    for _ in range(rounds):
        conn = await open_database(path)
        await conn.close()
    return (cpu() - started) / rounds


async def time_unchecked_opens(path: Path, rounds: int) -> float:
    """The same open without the read-only look (what drayman did before)."""
    from drayman.storage import database

    saved = database._refuse_unusable
    database._refuse_unusable = lambda path, busy_timeout: None
    try:
        return await time_opens(path, rounds)
    finally:
        database._refuse_unusable = saved


def time_records(folder: Path, rounds: int) -> float:
    part = folder / "x.part"
    part.write_bytes(b"")
    record = PartRecord("d" * 64, "u" * 64, '"etag-0123456789"', None, 1 << 30, 0)
    started = cpu()
    for n in range(rounds):
        write_record(str(part), PartRecord(**{**record.__dict__, "offset": n}))
    return (cpu() - started) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jobs.db"
        wall = time.perf_counter()
        asyncio.run(fill(path, args.jobs))
        print(
            f"jobs={args.jobs} db_mb={os.path.getsize(path) / 1e6:.1f} "
            f"fill_s={time.perf_counter() - wall:.1f}"
        )
        checked = asyncio.run(time_opens(path, args.rounds))
        unchecked = asyncio.run(time_unchecked_opens(path, args.rounds))
        print(
            f"open_checked_cpu_ms={checked * 1000:.1f} open_unchecked_cpu_ms={unchecked * 1000:.1f}"
        )
        per_record = time_records(Path(folder), 1000)
        print(f"part_record_write_cpu_us={per_record * 1e6:.1f}")


if __name__ == "__main__":
    main()
