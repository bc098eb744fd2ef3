"""What durability alone costs per small file on this disk; prints figures.

    python bench/fsync_floor.py                    # 2,000 x 64 KiB (W2's shape)
    python bench/fsync_floor.py --files 500 --size 1M --folder /mnt/usb/x

No network, no database, no event loop: one thread creates each file, writes
it, and then does what drayman must do before a file may be called done
(DESIGN.md, invariant 3), step by step, so the cost of each step shows:

- ``page cache``: create, write, link to the final name, unlink the .part
  (what curl and wget do; nothing reaches the disk during the run);
- ``+ file fsync``: the same with an fsync of each file's data;
- ``+ folder fsync``: and an fsync of the folder after each rename
  (drayman coalesces these: one folder fsync covers every rename before it);
- ``+ one folder fsync``: file fsyncs, then a single folder fsync at the end
  (the floor that coalescing approaches).

Compare with the download benchmark's W2 row for curl (page cache) and
drayman (every step, plus an SQLite commit that is itself an fsync of the
WAL, shared by the files that finish together).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from drayman.queue.ratelimit import parse_rate


def run(folder: str, files: int, data: bytes, fsync_file: bool, fsync_folder: str) -> float:
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    started = time.perf_counter()
    for n in range(files):
        part = os.path.join(folder, f"f{n:05d}.bin.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
            if fsync_file:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.link(part, part.removesuffix(".part"))
        os.unlink(part)
        if fsync_folder == "each":
            sync_folder(folder)
    if fsync_folder == "once":
        sync_folder(folder)
    return time.perf_counter() - started


def sync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", default="64k", help="bytes per file (k, M suffixes)")
    parser.add_argument("--folder", help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    data = os.urandom(parse_rate(args.size))
    with tempfile.TemporaryDirectory(prefix="drayman-fsync-", dir=args.folder) as folder:
        print(f"{args.files:,} files x {len(data):,} bytes in {folder}")
        for label, fsync_file, fsync_folder in [
            ("page cache", False, "never"),
            ("+ file fsync", True, "never"),
            ("+ folder fsync", True, "each"),
            ("+ one folder fsync", True, "once"),
        ]:
            cpu = time.process_time()
            wall = run(folder, args.files, data, fsync_file, fsync_folder)
            cpu = time.process_time() - cpu
            print(
                f"{label:20s} {wall:6.2f} s wall {cpu:6.2f} s CPU  "
                f"{args.files / wall:8.0f} files/s  {1000 * wall / args.files:6.3f} ms/file"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
