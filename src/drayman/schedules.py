"""Schedules: weekly time bands that pause the queue or limit its speed.

A band is a set of weekdays and a local start and end time (``mon-fri
09:00-18:00``, ``daily 22:00-07:00``: an end at or before the start is on the
next day). Each day's band is one interval of real time, from the instant its
start time happens to the instant its end time happens, so a band fires once
a day whatever daylight saving time does:

- a start or end that falls in a skipped hour (clocks jump 02:00 -> 03:00)
  happens at the jump itself, the first moment the clock shows a later time
  (a band wholly inside the skipped hour runs its length from the jump);
- a start or end in a repeated hour (03:00 -> 02:00) happens the first time
  the clock shows it.

Everything here is a pure function of an instant (seconds since the epoch,
what :func:`time.time` gives) and a time zone, so tests drive hours of real
schedule through an injected clock without sleeping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from drayman.errors import InvalidSchedule

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = 0b1111111
_NAMED_SETS = {"daily": ALL_DAYS, "weekdays": 0b0011111, "weekends": 0b1100000}
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
#: how many ends a merged pause follows (back-to-back bands: 22:00-24:00, 00:00-07:00)
_MERGE_STEPS = 16


@dataclass(frozen=True, slots=True)
class Band:
    """One schedule entry: on ``days`` (bit 0 = Monday), ``start``-``end`` in minutes."""

    days: int
    #: minutes after local midnight, 0..1439
    start: int
    #: 1..1440; at or before ``start`` means the next day
    end: int
    #: bytes per second; None: the band pauses the queue
    rate: int | None = None
    id: int = 0

    @property
    def pauses(self) -> bool:
        return self.rate is None

    @property
    def spec(self) -> str:
        """The band as ``schedule add`` takes it, normalized: ``mon-fri 09:00-18:00``."""
        return f"{days_text(self.days)} {_clock_text(self.start)}-{_clock_text(self.end)}"

    @property
    def action(self) -> str:
        return "pause" if self.rate is None else "limit"

    def intervals(self, around: date, zone: tzinfo) -> list[tuple[float, float]]:
        """The band's instants [start, end) for the days it starts on near ``around``."""
        found = []
        for offset in (-1, 0, 1):
            day = around + timedelta(days=offset)
            if not self.days & (1 << day.weekday()):
                continue
            end_day = day + timedelta(days=1) if self.end <= self.start else day
            start = instant(day, self.start, zone)
            end = instant(end_day, self.end, zone)
            if end <= start:
                # wholly inside a skipped hour: it runs its length from the jump
                end = start + ((self.end - self.start) % 1440) * 60
            found.append((start, end))
        return found

    def to_public_dict(
        self, zone: tzinfo | None = None, now: float | None = None
    ) -> dict[str, Any]:
        """The fields of ``drayman schedule ls --json``."""
        public: dict[str, Any] = {
            "id": self.id,
            "spec": self.spec,
            "days": [name for n, name in enumerate(DAY_NAMES) if self.days & (1 << n)],
            "start": _clock_text(self.start),
            "end": _clock_text(self.end),
            "action": self.action,
            "limit": self.rate,
        }
        if zone is not None and now is not None:
            public["active"] = any(
                start <= now < end for start, end in self.intervals(_local_date(now, zone), zone)
            )
        return public


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """What the bands say at one instant."""

    #: a pause band holds the queue: nothing starts but jobs that ignore the schedule
    paused: bool = False
    #: when the pause ends (back-to-back pause bands merged), seconds since the epoch
    paused_until: float | None = None
    #: the smallest limit of the limit bands in force, bytes/s (0: none)
    limit: int = 0
    #: the next instant any band starts or ends (None: none within two days)
    next_change: float | None = None

    def until_text(self, zone: tzinfo, now: float | None = None) -> str:
        """``01:00`` (or ``Tue 01:00`` when the pause ends a day or more after ``now``)."""
        if self.paused_until is None:
            return ""
        return clock_at(self.paused_until, zone, now)


def clock_at(when: float, zone: tzinfo, now: float | None = None) -> str:
    """Local ``HH:MM`` of an instant, with the weekday when it is not within a day."""
    local = datetime.fromtimestamp(when, zone)
    if now is not None and when - now >= 86400 - 60:
        return local.strftime("%a %H:%M")
    return local.strftime("%H:%M")


def state_at(bands: Sequence[Band], now: float, zone: tzinfo) -> ScheduleState:
    """What ``bands`` say at ``now`` in time zone ``zone``."""
    if not bands:
        return ScheduleState()
    today = _local_date(now, zone)
    paused_until: float | None = None
    limit = 0
    next_change: float | None = None
    for band in bands:
        for start, end in band.intervals(today, zone):
            for edge in (start, end):
                if edge > now and (next_change is None or edge < next_change):
                    next_change = edge
            if not start <= now < end:
                continue
            if band.rate is None:
                paused_until = end if paused_until is None else max(paused_until, end)
            elif band.rate > 0:
                limit = band.rate if not limit else min(limit, band.rate)
    if paused_until is not None:
        paused_until = _merged_pause_end(bands, paused_until, zone)
    return ScheduleState(
        paused=paused_until is not None,
        paused_until=paused_until,
        limit=limit,
        next_change=next_change,
    )


def _merged_pause_end(bands: Sequence[Band], until: float, zone: tzinfo) -> float:
    """A pause that ends where another begins goes on until the last one ends."""
    pauses = [band for band in bands if band.rate is None]
    for _ in range(_MERGE_STEPS):
        later = until
        for band in pauses:
            for start, end in band.intervals(_local_date(until, zone), zone):
                if start <= until < end:
                    later = max(later, end)
        if later == until:
            break
        until = later
    return until


# -- local time -----------------------------------------------------------------------


def _local_date(when: float, zone: tzinfo) -> date:
    return datetime.fromtimestamp(when, zone).date()


def instant(day: date, minute: int, zone: tzinfo) -> float:
    """The instant the local clock of ``zone`` first shows ``minute`` on ``day``.

    ``minute`` 1440 is the next day's midnight. A time the clock skips (the
    spring-forward gap) happens at the jump: the first instant whose local
    time is later.
    """
    day += timedelta(days=minute // 1440)
    hour, rest = divmod(minute % 1440, 60)
    wall = datetime(day.year, day.month, day.day, hour, rest)
    first = wall.replace(tzinfo=zone, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == wall:
        return utc.timestamp()  # it exists; fold=0 is its first occurrence
    # in a gap: fold=0 reads it with the offset before the jump, fold=1 after;
    # the jump lies between the two readings
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp()
    high = utc.timestamp()
    low, high = min(low, high), max(low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return float(high)


# -- text -------------------------------------------------------------------------------


def parse_band(text: str, *, rate: int | None = None) -> Band:
    """``'mon-fri 09:00-18:00'`` -> a :class:`Band`; ``rate`` None pauses.

    Days: ``daily``, ``weekdays``, ``weekends``, names (``mon`` or ``monday``),
    ranges (``mon-fri``, ``fri-mon``) and lists (``sat,sun``); without days a
    band is daily. Times are 24-hour ``HH:MM``; 24:00 may end a band.
    """
    parts = text.split()
    if len(parts) == 1:
        days, times = ALL_DAYS, parts[0]
    elif len(parts) == 2:
        days, times = _parse_days(text, parts[0]), parts[1]
    else:
        raise InvalidSchedule(text=text, why="give the days, then the times")
    start_text, dash, end_text = times.partition("-")
    if not dash:
        raise InvalidSchedule(text=text, why="the times are START-END, e.g. 09:00-18:00")
    start = _parse_clock(text, start_text)
    end = _parse_clock(text, end_text)
    if start == 1440:
        raise InvalidSchedule(text=text, why="a band cannot start at 24:00 (use 00:00)")
    if end == 0:
        end = 1440
    if end == start:
        raise InvalidSchedule(text=text, why="a band cannot end when it starts")
    if rate is not None and rate <= 0:
        raise InvalidSchedule(text=text, why="a limit must be more than 0 (use --pause)")
    return Band(days=days, start=start, end=end, rate=rate)


def _parse_clock(text: str, part: str) -> int:
    match = _TIME.fullmatch(part.strip())
    if not match:
        raise InvalidSchedule(text=text, why=f"{part!r} is not a time (HH:MM)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise InvalidSchedule(text=text, why=f"{part!r} is not a time of day")
    return hours * 60 + minutes


def _day_number(text: str, name: str) -> int:
    key = name.strip().lower()
    for number, short in enumerate(DAY_NAMES):
        if len(key) >= 3 and (key == short or _FULL_NAMES[number].startswith(key)):
            return number
    raise InvalidSchedule(text=text, why=f"{name!r} is not a day (mon, tue, ... sun)")


_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _parse_days(text: str, part: str) -> int:
    named = _NAMED_SETS.get(part.lower())
    if named is not None:
        return named
    days = 0
    for item in part.split(","):
        first, dash, last = item.partition("-")
        a = _day_number(text, first)
        b = _day_number(text, last) if dash else a
        n = a
        while True:
            days |= 1 << n
            if n == b:
                break
            n = (n + 1) % 7
    return days


def days_text(days: int) -> str:
    """A day mask as text: ``daily``, ``mon-fri``, ``sat-sun``, ``mon,wed,fri``."""
    if days == ALL_DAYS:
        return "daily"
    runs: list[tuple[int, int]] = []
    for n in range(7):
        if days & (1 << n):
            if runs and runs[-1][1] == n - 1:
                runs[-1] = (runs[-1][0], n)
            else:
                runs.append((n, n))
    # a run through Sunday continues into Monday's (fri-mon)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == 6:
        first = runs.pop(0)
        runs[-1] = (runs[-1][0], first[1])
    parts = []
    for a, b in runs:
        parts.append(DAY_NAMES[a] if a == b else f"{DAY_NAMES[a]}-{DAY_NAMES[b]}")
    return ",".join(parts)


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def local_zone() -> tzinfo:
    """This computer's time zone, with its daylight saving rules (tzlocal)."""
    try:
        import tzlocal

        return tzlocal.get_localzone()
    except Exception:  # no zone name to be found: today's offset, without DST
        zone = datetime.now().astimezone().tzinfo
        return zone if zone is not None else UTC
