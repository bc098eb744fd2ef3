"""drayman: a download manager that never loses work.

The Python API the CLI and the window share::

    from drayman import Engine, JobQueue

    async with Engine("jobs.db") as engine:
        await engine.queue.add(["https://example.org/a.iso"], dest_dir="~/Downloads")
        await engine.wait_idle()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from drayman.queue.engine import Engine, EngineConfig
    from drayman.queue.jobqueue import JobQueue
    from drayman.resolver import resolve

__all__ = ["Engine", "EngineConfig", "JobQueue", "__version__", "resolve"]


def __getattr__(name: str) -> Any:
    # imported lazily: `drayman --version` should not pay for aiohttp
    if name in ("Engine", "EngineConfig"):
        from drayman.queue import engine

        return getattr(engine, name)
    if name == "resolve":
        # what pages hold (the `pages` extra): drayman.resolver.resolve
        from drayman.resolver import resolve

        return resolve
    if name == "JobQueue":
        from drayman.queue.jobqueue import JobQueue

        return JobQueue
    raise AttributeError(name)
