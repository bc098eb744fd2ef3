"""drayman against curl & co. on the shared download benchmark; prints figures.

    python bench/download.py                         # W1-W4 + resume, 3 runs (~8 min)
    python bench/download.py --workloads W2 --runs 5 --clients curl,drayman
    python bench/download.py --only resume
    python bench/download.py -- --keep-server        # anything after -- goes to run.py

It drives ``run.py`` of the shared harness (``../shared/bench`` beside the
repository, where CI and other machines have it), adding the clients of
``bench/drayman_clients.py`` with this checkout's drayman. Before that it
compiles drayman's modules (a Python started with PYTHONDONTWRITEBYTECODE
would otherwise compile them on every run: ~0.3 s of CPU per start here).
At the end it prints drayman's throughput as a ratio to curl's from the same
run (the harness interleaves the clients, so slow drift hits all alike); the
harness's own report (every client, CPU, RSS, requests, resume) is printed
after it and kept under ``$DLBENCH_DIR/results``.

Before and after the harness it times 256 MiB written and fsynced in the
state folder: on a VM's shared disk that speed can swing 5x within minutes
(``README.md``, "The fourth session"), and drayman's ``done`` waits for the
disk where curl's does not. A run whose disk figures differ much is not
comparable with another.

Setup, once (Debian, root): ``apt-get install -y nginx-light aria2`` and
``python3 ../shared/bench/gen.py`` (2.2 GiB of data in /tmp/dlbench/data).
On a machine shared with other benchmarks, ``--state-dir`` keeps this run's
nginx, logs and results apart while reading the same data.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import drayman

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def shared_bench(explicit: str | None) -> Path:
    candidates = [Path(explicit)] if explicit else []
    candidates += [REPO.parent / "shared" / "bench", Path("/work/shared/bench")]
    for candidate in candidates:
        if (candidate / "run.py").exists():
            return candidate
    sys.exit(f"no shared benchmark harness (run.py) in {', '.join(map(str, candidates))}")


def ratio_summary(results: Path, reference: str) -> list[str]:
    report = json.loads(results.read_text())
    rows = report.get("table") or []
    by_key = {(r["workload"], r["client"]): r for r in rows}
    lines = [
        "| workload | client | MB/s | files/s | CPU s | peak RSS MB | "
        f"x {reference} (throughput) | {reference} CPU s | correct |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if not row["client"].startswith("drayman"):
            continue
        ref = by_key.get((row["workload"], reference))
        ratio = f"{ref['median_wall_s'] / row['median_wall_s']:.2f}" if ref else "-"
        ref_cpu = f"{ref['median_cpu_s']:.2f}" if ref else "-"
        lines.append(
            f"| {row['workload']} | {row['client']} | {row['mb_per_s']:.0f} | "
            f"{row['files_per_s']:.1f} | {row['median_cpu_s']:.2f} | {row['peak_rss_mb']:.0f} | "
            f"{ratio} | {ref_cpu} | {'yes' if row['correct'] else 'NO'} |"
        )
    for r in report.get("resume") or []:
        if r["client"].startswith("drayman"):
            # where the extra bytes went: sent but never received (socket buffers,
            # nginx's and ours), received but not kept (read, not yet written or noted)
            received = r["received_at_kill"]
            kept = r["file_size"] - r["phase2_wire_bytes"]
            lines.append(
                f"\nresume ({r['client']}): killed at {received / 1e6:.0f} MB, "
                f"wire / size {r['wire_over_size']:.3f}, phase 2 {r['phase2']['wall_s']:.1f} s, "
                f"sha256 {'ok' if r['sha256_ok'] else 'BAD'}; "
                f"{(r['phase1_wire_bytes'] - received) / 1e6:.0f} MB sent but not received, "
                f"{(received - kept) / 1e6:.0f} MB received but not kept"
            )
    return lines


def disk_speed(folder: Path, size: int = 256 * 1024 * 1024) -> float:
    """MB/s of ``size`` bytes written in 4 MiB blocks and fsynced in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "disk-check.bin"
    block = b"\xa5" * (4 * 1024 * 1024)
    start = time.perf_counter()
    try:
        with open(path, "wb") as file:
            for _ in range(size // len(block)):
                file.write(block)
            file.flush()
            os.fsync(file.fileno())
        return size / (time.perf_counter() - start) / 1e6
    finally:
        path.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared-bench", help="folder of the shared harness (run.py)")
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument(
        "--clients", default="curl,curl-fsync,aria2c-x8,drayman,drayman-asyncio", help="comma list"
    )
    parser.add_argument("--resume-clients", default="curl -C -,drayman")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="bench,resume", help="parts of run.py: bench,resume")
    parser.add_argument(
        "--state-dir",
        default=os.environ.get("DLBENCH_DIR", "/tmp/dlbench"),
        help="nginx state, logs and results (DLBENCH_DIR of run.py)",
    )
    parser.add_argument(
        "--data", default="/tmp/dlbench/data", help="datasets made by gen.py (manifest.json)"
    )
    parser.add_argument("--venv", help="run.py --venv (default: the bench venv, else ours)")
    parser.add_argument("rest", nargs="*", help="after --: more arguments for run.py")
    args = parser.parse_args()

    harness = shared_bench(args.shared_bench)
    if not (Path(args.data) / "manifest.json").exists():
        sys.exit(f"no datasets in {args.data}: python3 {harness / 'gen.py'}")
    compileall.compile_dir(Path(drayman.__file__).parent, quiet=1)
    bench_venv = Path(args.data).parent / "venv"
    venv = args.venv or (str(bench_venv) if (bench_venv / "bin/python").exists() else sys.prefix)
    drayman_bin = Path(sys.executable).with_name("drayman")
    env = dict(os.environ, DLBENCH_DIR=args.state_dir, DRAYMAN_BIN=str(drayman_bin))
    command = [
        sys.executable,
        str(harness / "run.py"),
        "--clients-file", str(HERE / "drayman_clients.py"),
        "--data", args.data,
        "--venv", venv,
        "--runs", str(args.runs),
        "--workloads", args.workloads,
        "--clients", args.clients,
        "--resume-clients", args.resume_clients,
        "--only", args.only,
        *args.rest,
    ]  # fmt: skip
    print("$ " + " ".join(command), flush=True)
    before = disk_speed(Path(args.state_dir))
    status = subprocess.run(command, env=env, check=False).returncode
    after = disk_speed(Path(args.state_dir))
    print(f"\ndisk, 256 MiB written and fsynced: {before:.0f} MB/s before, {after:.0f} MB/s after")
    results = Path(args.state_dir) / "results" / "latest.json"
    if results.exists():
        print("\n## drayman against curl (same run)\n")
        print("\n".join(ratio_summary(results, "curl")))
        print(f"\nfull report: {results.with_suffix('.md')}")
    return status


if __name__ == "__main__":
    sys.exit(main())
