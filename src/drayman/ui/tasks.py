"""The asyncio tasks a window or dialog starts, tracked so that none outlives it.

A cancelled task is still pending until the loop runs it once more (to
raise CancelledError inside it). A loop that stops before that prints
"Task was destroyed but it is pending!" and the task's ``finally`` blocks
never run; one left waiting on a database that has been closed never ends
at all. So whoever closes a widget cancels its tasks, then awaits
:meth:`BackgroundTasks.wait` before the database goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class BackgroundTasks:
    """The tasks one widget started; ``on_done`` hears of each as it ends."""

    def __init__(self, on_done: Callable[[asyncio.Task[Any]], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_done = on_done

    def start(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if self._on_done is not None:
            self._on_done(task)

    def cancel(self) -> None:
        """Cancel every task but the one making this call (it may be one of them)."""
        current = _current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def wait(self) -> None:
        """Return once every task (but the caller's own) has ended."""
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        if pending:
            await asyncio.wait(pending)

    def __len__(self) -> int:
        return len(self._tasks)


def _current_task() -> asyncio.Task[Any] | None:
    """The running task, or None when called from Qt outside any (no running loop)."""
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


__all__ = ["BackgroundTasks"]
