"""Where a resume run's extra bytes went, from the shared harness's nginx log; prints figures.

    python bench/download.py --only resume --resume-clients drayman --state-dir /tmp/dlbench/r1
    python bench/resume_split.py /tmp/dlbench/r1/nginx/access.log

``run.py``'s resume test reports one figure, wire bytes / file size. This
splits the excess in two, per segment, from what nginx logged for each
request (``$bytes_sent`` of the body, the ``Range`` asked for):

- phase 1 lost: bytes nginx sent before the SIGKILL that the resume asked
  for again (in the sockets, in flight, or received and not yet written
  and noted); per segment, where nginx's sending reached and where the
  resume asked from;
- phase 2 fetched twice: bytes sent by more than one request of the resume
  (a work steal: what the server had sent the victim past the cut).

The two phases are told apart by the longest pause in the log.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: the file the harness's resume test downloads (W1)
PATH = "/W1/w1.bin"


def requests(log: Path) -> list[tuple[float, int, int]]:
    """(time, first byte, body bytes sent) of every request for the file, in order."""
    rows = []
    for line in log.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) < 12 or fields[10] != PATH:
            continue
        asked = fields[9]
        first = int(asked.split("=")[1].split("-")[0]) if asked.startswith("bytes=") else 0
        rows.append((float(fields[0]), first, int(fields[7])))
    return sorted(rows)


def covered(spans: list[tuple[int, int]]) -> int:
    """Bytes in the union of ``[start, end)`` spans."""
    total, current = 0, None
    for start, end in sorted(spans):
        if current is not None and start <= current[1]:
            current[1] = max(current[1], end)
            continue
        if current is not None:
            total += current[1] - current[0]
        current = [start, end]
    return total + (current[1] - current[0] if current is not None else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", type=Path, help="the harness's nginx access.log (one resume run)")
    parser.add_argument("--size", type=int, default=1 << 30, help="the file's size (W1: 1 GiB)")
    args = parser.parse_args()
    rows = requests(args.log)
    if len(rows) < 2:
        raise SystemExit(f"{args.log}: fewer than two requests for {PATH}")
    pause = max(range(len(rows) - 1), key=lambda n: rows[n + 1][0] - rows[n][0])
    before, after = rows[: pause + 1], rows[pause + 1 :]
    sent_before = sum(sent for _, _, sent in before)
    spans_after = [(first, first + sent) for _, first, sent in after]
    sent_after = sum(sent for _, _, sent in after)
    kept = args.size - covered(spans_after)
    print(
        f"phase 1: {sent_before / 1e6:.1f} MB sent, {kept / 1e6:.1f} MB kept, "
        f"{(sent_before - kept) / 1e6:.2f} MB lost | phase 2: {sent_after / 1e6:.1f} MB sent "
        f"in {len(after)} requests, {(sent_after - covered(spans_after)) / 1e6:.2f} MB fetched "
        f"twice | wire / size {(sent_before + sent_after) / args.size:.4f}"
    )
    resumed_at = sorted(first for _, first, _ in after)
    for _, first, sent in sorted(before, key=lambda row: row[1]):
        reached = first + sent
        asked = [at for at in resumed_at if first <= at <= reached]
        lost = f"{(reached - max(asked)) / 1e6:6.2f} MB lost" if asked else "not resumed"
        print(f"  segment from {first / 1e6:8.1f} MB: nginx reached {reached / 1e6:8.1f}, {lost}")


if __name__ == "__main__":
    main()
