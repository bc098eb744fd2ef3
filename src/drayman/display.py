"""What ``drayman run`` shows: a live rich display on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from typing import TextIO

from drayman.jobs import JobState
from drayman.queue.engine import Engine
from drayman.queue.progress import EngineSnapshot, JobChange
from drayman.units import human_duration, human_size


def describe_change(change: JobChange) -> str:
    if change.state == JobState.DONE and change.path:
        # where the file is, in full: the answer to "where did my file go?"
        note = f" ({change.note})" if change.note else ""
        return f"job {change.job_id} done: {change.path}{note}"
    if change.note:
        return f"{change.name or f'job {change.job_id}'}: {change.note}"
    name = f" {change.name}" if change.name else ""
    if change.removed:
        return f"job {change.job_id} removed{name}"
    if change.state == JobState.PAUSED:
        return f"job {change.job_id} paused{name}"
    if change.state == JobState.RUNNING:
        return f"job {change.job_id} started{name}"
    if change.state == JobState.DONE:
        return f"job {change.job_id} done{name}"
    if change.state == JobState.FAILED:
        return f"job {change.job_id} failed: {change.error}"
    if change.state == JobState.QUEUED and change.next_attempt_at is not None:
        wait = max(change.next_attempt_at - time.time(), 0)
        return f"job {change.job_id}: {change.error}; retrying in {wait:.0f} s"
    return f"job {change.job_id} {change.state.value}"


class PlainDisplay:
    """One line per event, and a progress line per transfer every few seconds."""

    def __init__(self, engine: Engine, out: TextIO, every: float = 5.0) -> None:
        self.out = out
        self.every = every
        self._next = time.monotonic() + every
        self._unsubscribe = engine.subscribe(self.update)

    def update(self, snapshot: EngineSnapshot) -> None:
        for change in snapshot.changes:
            self.out.write(describe_change(change) + "\n")
        now = time.monotonic()
        if now >= self._next and snapshot.active:
            self._next = now + self.every
            for p in snapshot.active:
                share = f"{100 * p.bytes_done / p.bytes_total:.1f}%" if p.bytes_total else "?"
                done, total = human_size(p.bytes_done), human_size(p.bytes_total)
                speed = human_size(p.speed)
                self.out.write(f"job {p.job_id} {share} {done}/{total} {speed}/s\n")
        self.out.flush()

    def close_soon(self) -> None:
        pass

    def close(self) -> None:
        self._unsubscribe()


class RichDisplay:
    """A progress bar per transfer, with speed and ETA; events scroll above."""

    def __init__(self, engine: Engine, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
        from rich.table import Column

        # one line per download at any width: the name gives way (cut with
        # "…"), the bar shrinks, the figures never wrap
        self.progress = Progress(
            TextColumn(
                "[bold]{task.fields[job_id]:>4}[/] {task.description}",
                justify="left",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=3, min_width=12),
            ),
            BarColumn(bar_width=None, table_column=Column(ratio=2, min_width=10)),
            DownloadColumn(binary_units=True, table_column=Column(no_wrap=True, justify="right")),
            # the engine's own speed and ETA (averaged over seconds), not rich's
            TextColumn("{task.fields[speed]:>11}", table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[eta]:>8}", table_column=Column(no_wrap=True)),
            console=Console(file=out),
            refresh_per_second=4,
            transient=False,
            expand=True,
        )
        self._tasks: dict[int, object] = {}
        self.progress.start()
        self._unsubscribe = engine.subscribe(self.update)

    def update(self, snapshot: EngineSnapshot) -> None:
        from rich.progress import TaskID

        progress = self.progress
        for change in snapshot.changes:
            if change.note:
                progress.console.print(describe_change(change), highlight=False, markup=False)
            if change.state != JobState.RUNNING or change.removed:
                if not change.note:
                    progress.console.print(describe_change(change), highlight=False, markup=False)
                task = self._tasks.pop(change.job_id, None)
                if task is not None:
                    progress.remove_task(TaskID(task))  # type: ignore[arg-type]
        for p in snapshot.active:
            name = p.name or f"job {p.job_id}"
            task = self._tasks.get(p.job_id)
            if task is None:
                task = self._tasks[p.job_id] = progress.add_task(
                    name, total=p.bytes_total, job_id=p.job_id, speed="", eta=""
                )
            progress.update(
                task,  # type: ignore[arg-type]
                description=name,
                completed=p.bytes_done,
                total=p.bytes_total,
                speed=f"{human_size(p.speed)}/s",
                eta=human_duration(p.eta, "--:--"),
            )

    def close_soon(self) -> None:
        pass

    def close(self) -> None:
        self._unsubscribe()
        self.progress.stop()


def make_display(engine: Engine, out: TextIO) -> PlainDisplay | RichDisplay:
    return RichDisplay(engine, out) if out.isatty() else PlainDisplay(engine, out)
