"""Where the bytes of a killed segmented download are: prints figures; asserts nothing.

    python bench/resume_probe.py                 # SIGKILL at 50 % of W1, 3 times
    python bench/resume_probe.py --kill-at 0.3 --runs 1

The shared harness's resume test (``download.py --only resume``) gives one
figure, wire / size. This splits it: ``drayman run`` downloads W1 (1 GiB)
from the harness's nginx on its resume port (64 MB/s per connection, 8
connections), is SIGKILLed once its sockets received ``--kill-at`` of the
file, and then the probe reads, without resuming:

- **received**: what the kernel had received on drayman's sockets (``ss``);
- **sent**: what nginx logged as sent (``$bytes_sent``): sent - received sat
  in socket buffers (nginx's, or ours) or was on the way;
- **db**: the bytes the database's segments call durable (fsynced);
- **noted**: the ranges the ``.part``'s record notes as written (the live
  part, believed on the same boot);
- **file**: the bytes of the ``.part`` that really are the file's.

A resume fetches ``size - noted`` again (``size - db`` after a reboot), so
``(sent - noted) / size + 1`` is the wire / size the harness would report.
Needs the harness's data (``python3 ../shared/bench/gen.py --only W1``),
nginx and ``ss``; its nginx runs in ``--state-dir`` and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MB = 1e6


def serve(harness: Path, state: str, data: str, command: str) -> None:
    env = dict(os.environ, DLBENCH_DIR=state)
    subprocess.run(
        ["bash", str(harness / "serve.sh"), command, data], env=env, check=True, capture_output=True
    )


def received_on(port: str) -> int:
    out = subprocess.run(
        ["ss", "-tin", "dst", f"127.0.0.1:{port}"], capture_output=True, text=True
    ).stdout
    return sum(int(w.split(":")[1]) for w in out.split() if w.startswith("bytes_received:"))


def held(source: Path, part: Path, segments: list[tuple[int, int, int]]) -> int:
    """Bytes of ``part`` equal to ``source`` from each segment's start on."""
    total = 0
    with source.open("rb") as want, part.open("rb") as have:
        for start, stop, _ in segments:
            position = start
            while position < stop:
                want.seek(position)
                have.seek(position)
                a, b = want.read(1 << 20), have.read(1 << 20)
                n = min(len(a), stop - position)
                if a[:n] != b[:n]:
                    position += next(i for i in range(n) if a[i] != b[i])
                    break
                position += n
            total += position - start
    return total


def probe(drayman: list[str], port: str, source: Path, log: Path, kill_at: float) -> str:
    size = source.stat().st_size
    with tempfile.TemporaryDirectory(prefix="drayman-probe-") as tmp:
        db = os.path.join(tmp, "state.db")
        url = f"http://127.0.0.1:{port}/W1/{source.name}"
        add = [*drayman, "--db", db, "add", url, "-d", tmp]
        subprocess.run(add, check=True, capture_output=True)
        mark = len(log.read_text().splitlines()) if log.exists() else 0
        engine = subprocess.Popen(
            [*drayman, "--db", db, "run", "--until-idle"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started, received = time.monotonic(), 0
        while engine.poll() is None and time.monotonic() - started < 120:
            received = max(received, received_on(port))
            if received >= kill_at * size:
                break
            time.sleep(0.01)
        os.killpg(engine.pid, signal.SIGKILL)
        engine.wait()
        time.sleep(1.0)  # nginx logs the dead connections
        rows = log.read_text().splitlines()[mark:]
        # the harness's log format: the 7th column is $bytes_sent
        columns = [row.split("\t") for row in rows]
        sent = sum(int(c[6]) for c in columns if len(c) > 6 and c[6].isdigit())
        conn = sqlite3.connect(db)
        try:
            segments = conn.execute("SELECT start, stop, durable FROM segments").fetchall()
        finally:
            conn.close()
        part = Path(tmp) / f"{source.name}.part"
        try:
            record = json.loads(os.getxattr(part, "user.drayman"))
        except (OSError, ValueError):
            record = {}
        noted = sum(b - a for a, b in record.get("written", []))
        db_bytes = sum(d - s for s, _, d in segments)
        in_file = held(source, part, segments) if segments else 0
        return (
            f"sent {sent / MB:6.1f}  received {received / MB:6.1f}  file {in_file / MB:6.1f}  "
            f"noted {noted / MB:6.1f}  db {db_bytes / MB:6.1f} MB  -> wire/size "
            f"{(sent - noted + size) / size:.4f} (same boot), "
            f"{(sent - db_bytes + size) / size:.4f} (after a reboot)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-at", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", default="/tmp/dlbench/data")
    parser.add_argument("--state-dir", default="/tmp/dlbench/probe")
    parser.add_argument("--shared-bench", default=str(HERE.parent.parent / "shared" / "bench"))
    args = parser.parse_args()
    harness = Path(args.shared_bench)
    if not (harness / "serve.sh").exists():
        harness = Path("/work/shared/bench")
    source = next((Path(args.data) / "W1").glob("*"), None)
    if source is None:
        sys.exit(f"no W1 file in {args.data}: python3 {harness / 'gen.py'} --only W1")
    script = Path(sys.executable).with_name("drayman")
    drayman = [str(script)] if script.exists() else [sys.executable, "-m", "drayman"]
    serve(harness, args.state_dir, args.data, "start")
    try:
        ports = dict(
            line.split("=", 1)
            for line in Path(args.state_dir, "nginx", "ports.env").read_text().split()
        )
        log = Path(args.state_dir, "nginx", "access.log")
        for _ in range(args.runs):
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            line = probe(drayman, ports["RESUME_PORT"], source, log, args.kill_at)
            print(f"load {load:4.1f}  {line}", flush=True)
    finally:
        serve(harness, args.state_dir, args.data, "stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
