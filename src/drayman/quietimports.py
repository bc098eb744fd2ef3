"""Imports without the garbage collector: most of what a ``drayman`` start costs.

Starting ``drayman run`` imports some 600 modules (asyncio, aiohttp, the
engine): a few hundred thousand objects, each tracked by CPython's cyclic
collector, which runs again and again while they come in and finds nothing
to free, since modules live as long as the process. :mod:`drayman.startup`
imports the command line this way and then freezes what it made
(:func:`gc.freeze`: later collections skip it); ``run`` and the window
import their heavy parts this way too, and freeze them
(:func:`freeze_start_up`): unfrozen, the first collections after start-up
would walk them all at once, during the first downloads. ``drayman run``
with nothing to do: 4-5 % less wall time (``farm-bench``, ``bench/README.md``).
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


def freeze_start_up() -> None:
    """Leave what the process made so far out of every later collection.

    For the command line only (it owns the process): what start-up imported
    lives as long as the process, and a collection that walks it frees nothing.
    """
    gc.freeze()
