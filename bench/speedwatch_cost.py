"""What does low-speed detection cost on the read loop? CPU time per block.

``Transfer._receive`` calls ``SpeedWatch.received()`` once per block read from
the socket, and enters ``paused()`` only while a speed limit is set. Prints
one line: CPU nanoseconds per call of each, and the CPU share they would take
at 1 GiB/s in 64 KiB blocks (16,384 blocks a second).

    python bench/speedwatch_cost.py
"""

from __future__ import annotations

import time

from drayman.queue.stall import SpeedWatch

CALLS = 1_000_000
BLOCKS_PER_SECOND = (1 << 30) // (64 * 1024)


def per_call_ns(run: object) -> float:
    started = time.process_time()
    run()  # type: ignore[operator]
    return (time.process_time() - started) / CALLS * 1e9


def main() -> None:
    watch = SpeedWatch(1024, 60)

    def received() -> None:
        for _ in range(CALLS):
            watch.received(65536)

    def paused() -> None:
        for _ in range(CALLS):
            with watch.paused():
                pass

    def baseline() -> None:
        for _ in range(CALLS):
            pass

    base = per_call_ns(baseline)
    got = per_call_ns(received) - base
    held = per_call_ns(paused) - base
    print(
        f"received_ns={got:.0f} paused_ns={held:.0f} "
        f"cpu_share_at_1GiB_s={got * BLOCKS_PER_SECOND / 1e9:.2%} "
        f"(limited: {(got + held) * BLOCKS_PER_SECOND / 1e9:.2%})"
    )


if __name__ == "__main__":
    main()
