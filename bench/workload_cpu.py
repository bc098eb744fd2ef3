"""Where drayman's CPU goes, per workload of the shared harness; prints figures.

    python bench/workload_cpu.py W2  # CPU seconds of `run`, 3 runs
    python bench/workload_cpu.py W1 --runs 5 --run-args '--split 1'
    python bench/workload_cpu.py W2 --py-spy  # + a py-spy profile (GIL holder), summarised
    python bench/workload_cpu.py W3 --py-spy --top 40 --raw /tmp/w3.txt

It serves ``/tmp/dlbench/data`` (``../shared/bench/gen.py``) with the shared
harness's nginx (``serve.sh``, its own state folder), adds the workload's
URLs to a fresh database (not timed), then times ``drayman run --until-idle
-j 16`` alone: wall, and user+sys CPU seconds of its process tree
(``os.wait4``). CPU seconds are the figure to compare on a shared machine:
other processes stretch wall-clock time far more than the CPU a process
spends. With ``--py-spy`` the run is sampled (``py-spy record --gil
--format raw``; install it with ``pip install py-spy``) and the samples are
summarised by function (self and inclusive) and by phase of a download.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVE = Path("/work/shared/bench/serve.sh")
if not SERVE.exists():
    SERVE = REPO.parent / "shared" / "bench" / "serve.sh"

#: frames of a py-spy stack -> the phase of a download they belong to (first match wins,
#: from the innermost frame outwards)
PHASES = [
    ("aiohttp request/response", ("aiohttp/client.py", "aiohttp/connector.py", "client_reqrep")),
    ("aiohttp body reads", ("aiohttp/streams.py", "client_proto.py")),
    ("sqlite / job table", ("storage/", "aiosqlite")),
    ("blocking lane / thread hops", ("queue/blocking.py",)),
    ("part file / fsync", ("queue/partfile.py", "queue/durable.py", "queue/partrecord.py")),
    ("finish", ("queue/finish.py",)),
    ("names", ("drayman/names.py", "queue/folder.py")),
    ("segments", ("queue/segmented.py",)),
    ("transfer", ("queue/transfer.py",)),
    ("engine", ("queue/engine.py", "queue/jobqueue.py")),
    ("event loop", ("asyncio/", "uvloop")),
    ("start-up (imports)", ("<frozen importlib", "importlib")),
]


def server() -> dict[str, str]:
    state = os.environ.get("DLBENCH_DIR", "/tmp/dlbench/profile")
    env = dict(os.environ, DLBENCH_DIR=state)
    out = subprocess.run(
        ["bash", str(SERVE), "start", "/tmp/dlbench/data"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.split() if "=" in line)


def urls(workload: str, ports: dict[str, str]) -> list[str]:
    manifest = json.loads(Path("/tmp/dlbench/data/manifest.json").read_text())
    spec = manifest["workloads"][workload]
    port = ports["SLOW_PORT" if spec["port"] == "slow" else "FAST_PORT"]
    return [f"http://127.0.0.1:{port}/{f['path']}" for f in spec["files"]]


def drayman(*args: str) -> list[str]:
    return [sys.executable, "-m", "drayman", *args]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall, user and sys CPU seconds of ``command`` and its children."""
    start = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} exited {status}")
    return wall, usage.ru_utime, usage.ru_stime


def one_run(workload: str, ports: dict[str, str], args: argparse.Namespace, raw: Path | None):
    work = Path(tempfile.mkdtemp(prefix=f"drayman-{workload}-", dir=args.work))
    try:
        env = dict(os.environ)
        db, out = str(work / "state.db"), work / "out"
        listing = work / "urls.txt"
        listing.write_text("\n".join(urls(workload, ports)) + "\n")
        subprocess.run(
            drayman("--db", db, "add", "-i", str(listing), "-d", str(out)),
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(["sync"], check=False)
        command = drayman("--db", db, "run", "--until-idle", "-j", str(args.jobs), *args.extra)
        if raw is not None:
            command = [
                "py-spy", "record", "--gil", "--format", "raw", "--rate", str(args.rate),
                "--nonblocking", "-o", str(raw), "--", *command,
            ]  # fmt: skip
        return timed(command, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarise(raw: Path, top: int) -> None:
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    phases: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_time[_short(frames[-1])] += count
        for frame in set(map(_short, frames)):
            inclusive[frame] += count
        phases[_phase(frames)] += count
    print(f"\n{total} samples (GIL held)\n\nby phase (innermost match):")
    for name, count in phases.most_common():
        print(f"  {100 * count / total:5.1f} %  {name}")
    print("\nself:")
    for name, count in self_time.most_common(top):
        print(f"  {100 * count / total:5.1f} %  {name}")
    print("\ninclusive:")
    for name, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f} %  {name}")


def _short(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    return f"{name} ({'/'.join(parts[-2:])})"


def _phase(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in PHASES:
            if any(n in frame for n in needles):
                return name
    return "other"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["W1", "W2", "W3", "W4"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-j", "--jobs", type=int, default=16)
    parser.add_argument("--py-spy", action="store_true", help="sample one more run with py-spy")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", help="keep py-spy's collapsed stacks here")
    parser.add_argument("--work", default="/tmp/dlbench", help="folder for the runs' files")
    parser.add_argument("--run-args", default="", help="more arguments for `drayman run`")
    args = parser.parse_args()
    args.extra = args.run_args.split()
    ports = server()
    walls, cpus, users = [], [], []
    for n in range(args.runs):
        wall, user, system = one_run(args.workload, ports, args, None)
        walls.append(wall)
        cpus.append(user + system)
        users.append(user)
        print(
            f"run {n + 1}: wall {wall:.2f} s, CPU {user + system:.2f} s "
            f"(user {user:.2f}, sys {system:.2f})",
            flush=True,
        )
    if args.runs:
        print(
            f"{args.workload}: median wall {statistics.median(walls):.2f} s, "
            f"median CPU {statistics.median(cpus):.2f} s "
            f"(min {min(cpus):.2f}, max {max(cpus):.2f}), "
            f"median user {statistics.median(users):.2f} s"
        )
    if args.py_spy:
        raw = Path(args.raw or tempfile.mktemp(suffix=".txt"))
        wall, user, system = one_run(args.workload, ports, args, raw)
        print(f"py-spy run: wall {wall:.2f} s, CPU {user + system:.2f} s (py-spy's included)")
        summarise(raw, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
