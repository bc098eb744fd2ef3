"""SpeedWatch (low-speed detection) on a fake clock: no sleeps, exact times; ReadDeadline
(the read timeout) on the event loop's own clock, its periods a fraction of a second."""

from __future__ import annotations

import asyncio

import pytest

from drayman.errors import TransientError
from drayman.queue.stall import ReadDeadline, SpeedWatch

KiB = 1024


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def feed(watch: SpeedWatch, clock: FakeClock, *, every: float, amount: int, until: float) -> None:
    """``amount`` bytes each ``every`` seconds until ``until`` (absolute fake time)."""
    while clock.now + every <= until + 1e-9:
        clock.now += every
        watch.received(amount)


def test_a_drip_trips_once_a_whole_period_was_too_slow() -> None:
    clock = FakeClock()
    watch = SpeedWatch(1 * KiB, 60, clock=clock)
    start = clock.now
    feed(watch, clock, every=1, amount=1, until=start + 59)  # not judged yet
    clock.now += 1
    with pytest.raises(
        TransientError, match=r"too slow: 1 B/s for 60 s \(the minimum is 1.0 KiB/s\)"
    ):
        watch.received(1)


def test_a_steady_transfer_above_the_minimum_never_trips() -> None:
    clock = FakeClock()
    watch = SpeedWatch(1 * KiB, 60, clock=clock)
    feed(watch, clock, every=0.5, amount=600, until=clock.now + 3600)  # 1.2 KiB/s for an hour


def test_bursts_that_average_above_the_minimum_do_not_trip() -> None:
    clock = FakeClock()
    watch = SpeedWatch(1 * KiB, 60, clock=clock)
    # 90 KiB once a minute is 1.5 KiB/s on average, with nothing in between
    feed(watch, clock, every=60, amount=90 * KiB, until=clock.now + 3600)


def test_a_fast_start_does_not_hide_a_drip_that_follows() -> None:
    """The window slides: megabytes in the first seconds buy no lasting credit."""
    clock = FakeClock()
    watch = SpeedWatch(1 * KiB, 60, clock=clock)
    feed(watch, clock, every=0.1, amount=64 * KiB, until=clock.now + 120)
    drip_from = clock.now
    with pytest.raises(TransientError, match="too slow"):
        feed(watch, clock, every=1, amount=1, until=drip_from + 3600)
    # judged over the last period only: caught within a period and two steps of it
    assert drip_from + 60 <= clock.now <= drip_from + 60 + 2 * 60 / 8 + 1


def test_time_in_our_own_limiter_does_not_count() -> None:
    """A job held to 500 B/s by `drayman limit` is not a slow server."""
    clock = FakeClock()
    watch = SpeedWatch(1 * KiB, 60, clock=clock)
    for _ in range(3600):
        watch.received(500)
        with watch.paused():
            clock.now += 1.0  # the token bucket's sleep
        clock.now += 0.001  # the next block was already waiting in the socket


def test_only_the_servers_time_counts_between_pauses() -> None:
    clock = FakeClock()
    watch = SpeedWatch(1 * KiB, 60, clock=clock)
    start = clock.now
    with pytest.raises(TransientError, match="too slow: 1 B/s for 60 s"):
        while True:
            with watch.paused():
                clock.now += 10.0
            clock.now += 1.0  # the server's second
            watch.received(1)
    # 60 counted seconds: 60 of the server's and 600 of our own pauses
    assert clock.now - start == pytest.approx(660)


@pytest.mark.parametrize(("min_speed", "period"), [(0, 60), (1024, 0)])
def test_zero_turns_the_watch_off(min_speed: int, period: float) -> None:
    clock = FakeClock()
    watch = SpeedWatch(min_speed, period, clock=clock)
    assert not watch.enabled
    feed(watch, clock, every=30, amount=1, until=clock.now + 3600)


def test_memory_stays_bounded_on_a_long_transfer() -> None:
    clock = FakeClock()
    watch = SpeedWatch(1, 60, clock=clock)
    feed(watch, clock, every=0.01, amount=1 * KiB, until=clock.now + 600)
    assert len(watch._samples) <= 8 + 2


# -- ReadDeadline: the read timeout, one timer per period (on the real loop clock) --


async def test_a_read_without_a_byte_ends_with_a_timeout_after_fed_bytes() -> None:
    deadline = ReadDeadline(0.2)
    fed = 0
    with pytest.raises(TimeoutError):
        async with deadline.guard():
            for _ in range(5):  # bytes keep it alive past the first period
                await asyncio.sleep(0.1)
                deadline.fed()
                fed += 1
            await asyncio.Event().wait()  # then the server goes silent
    assert fed == 5


async def test_time_held_back_by_drayman_does_not_count() -> None:
    deadline = ReadDeadline(0.2)
    async with deadline.guard():
        with deadline.paused():  # our own speed limit, a wait for our disk
            await asyncio.sleep(0.5)
        deadline.fed()
    # and no deadline at all when the read timeout is 0
    async with ReadDeadline(0).guard():
        await asyncio.sleep(0.01)
