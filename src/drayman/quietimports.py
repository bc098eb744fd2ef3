"""Imports without the garbage collector: most of what a ``drayman`` start costs.

Starting ``drayman run`` imports some 600 modules (asyncio, aiohttp, the
engine): a few hundred thousand objects, each tracked by CPython's cyclic
collector, which runs again and again while they come in and finds nothing
to free, since modules live as long as the process. :mod:`drayman.startup`
imports the command line this way and then freezes what it made
(:func:`gc.freeze`: later collections skip it); the commands import their
heavy parts this way too. ``drayman run`` with nothing to do: 4-5 % less wall
time (``farm-bench``, ``bench/README.md``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def without_collection() -> Iterator[None]:
    """Imports with the cyclic collector off, then as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
