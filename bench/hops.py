"""Hops to other threads per file, counted on a real engine; prints figures.

    python bench/hops.py W2          # 2,000 x 64 KiB from the harness's nginx

An engine in this process downloads one workload of the shared harness
(``../shared/bench/gen.py``'s data, served by ``serve.sh``, see
``workload_cpu.py``) while the blocking lane, SQLite's thread, the job table and
the default executor count their calls. Each call is a hand-over between the
event loop and another thread (a GIL hand-over and a wake-up each way), the
cost per file that ``strace -f -c`` shows as futex calls. Counts, not
times: they do not depend on the machine's load. The mean wait per call
(hand-over to result) comes last: a download's slot is held for the sum of
its own waits, which is what bounds files/s at ``-j 16`` (they do depend on
the load).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite

from drayman.queue import blocking, durable
from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.jobqueue import JobQueue
from drayman.storage import repository

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload_cpu import server, urls  # the harness's nginx, its URLs

lane: collections.Counter[str] = collections.Counter()
#: seconds from a call's hand-over to its result, summed per kind of call
waited: collections.Counter[str] = collections.Counter()
sqlite_hops = 0
store_calls: collections.Counter[str] = collections.Counter()
executor: collections.Counter[str] = collections.Counter()


def _name(fn: Any) -> str:
    fn = getattr(fn, "func", fn)
    return getattr(fn, "__qualname__", type(fn).__name__)


def instrument() -> None:
    global sqlite_hops
    run = blocking.BlockingLane.run

    def counted_run(self: blocking.BlockingLane, fn: Callable[..., Any], *args: Any) -> Any:
        name, start = _name(fn), time.perf_counter()
        lane[name] += 1
        future = run(self, fn, *args)

        def done(_: Any) -> None:
            waited[f"lane {name}"] += time.perf_counter() - start

        future.add_done_callback(done)
        return future

    blocking.BlockingLane.run = counted_run  # type: ignore[method-assign]
    execute = aiosqlite.Connection._execute

    async def counted_execute(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
        global sqlite_hops
        sqlite_hops += 1
        return await execute(self, fn, *args, **kw)

    # every call to SQLite's thread goes through here (reads, and each group commit)
    aiosqlite.Connection._execute = counted_execute  # type: ignore[method-assign]
    for name, method in list(vars(repository.JobStore).items()):
        if name.startswith("_") or not asyncio.iscoroutinefunction(method):
            continue

        def wrap(method: Any = method, name: str = name) -> Any:
            async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
                store_calls[name] += 1
                start = time.perf_counter()
                try:
                    return await method(self, *args, **kwargs)
                finally:
                    waited[f"db {name}"] += time.perf_counter() - start

            return counted

        setattr(repository.JobStore, name, wrap())
    submit = concurrent.futures.ThreadPoolExecutor.submit

    def counted_submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        executor[_name(fn)] += 1
        return submit(self, fn, *args, **kwargs)

    concurrent.futures.ThreadPoolExecutor.submit = counted_submit  # type: ignore[method-assign]


async def main(workload: str) -> None:
    files = urls(workload, server())
    work = tempfile.mkdtemp(prefix="drayman-hops-", dir="/tmp/dlbench")
    try:
        db = os.path.join(work, "state.db")
        queue = await JobQueue.open(db)
        await queue.add(files, dest_dir=os.path.join(work, "out"))
        await queue.close()
        instrument()
        rounds = durable.FOLDER_SYNCS.count
        started, wall = time.process_time(), time.perf_counter()
        # as `drayman run -j 16`: 16 at once, per host too
        async with Engine(db, EngineConfig(concurrency=16, per_host=16)) as engine:
            await engine.wait_idle()
            commits = engine.queue.store.commits
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
        rounds = durable.FOLDER_SYNCS.count - rounds
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = len(files)

    def per_file(counts: collections.Counter[str]) -> str:
        total = sum(counts.values()) / n
        parts = ", ".join(f"{name} {count / n:.2f}" for name, count in counts.most_common())
        return f"{total:.2f} ({parts})"

    print(f"{workload}: {n} files, process CPU {cpu:.2f} s (counting included)")
    print(f"blocking-lane hops per file: {per_file(lane)}")
    print(f"executor hops per file: {per_file(executor)}")
    print(f"folder fsyncs per file: {rounds / n:.2f}")
    print(f"SQLite thread hops per file: {sqlite_hops / n:.2f} ({commits / n:.2f} commits)")
    print(f"job-table calls per file: {per_file(store_calls)}")
    # waits, not CPU: each download holds one of the 16 slots for the sum of its own
    print(f"a slot per file: {16 * wall / n * 1000:.1f} ms (wall {wall:.2f} s); mean waits:")
    counts = {f"lane {k}": v for k, v in lane.items()} | {
        f"db {k}": v for k, v in store_calls.items()
    }
    for kind, seconds in sorted(waited.items(), key=lambda item: -item[1]):
        if seconds / n >= 0.0001:
            mean = 1000 * seconds / counts[kind]
            print(f"  {kind}: {mean:.2f} ms a call, {1000 * seconds / n:.2f} ms a file")


if __name__ == "__main__":
    arg = sys.argv[1] if len(sys.argv) > 1 else "W2"
    try:
        import uvloop

        uvloop.run(main(arg))
    except ImportError:
        asyncio.run(main(arg))
