"""Work on a connection's own thread, in one hop: the one use of aiosqlite's internals.

aiosqlite runs every call on one thread per connection, in order;
``Connection._execute`` is how its own methods get there. Reads, whole write
batches and the migrations go through :func:`on_connection_thread`, so many
statements cost one thread hop, not one per statement and cursor call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar, cast

import aiosqlite

T = TypeVar("T")


async def on_connection_thread(
    conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]
) -> T:
    """``fn(the sqlite3 connection)`` on ``conn``'s thread; its result or its error."""

    def call() -> T:
        return fn(conn._conn)

    return cast(T, await conn._execute(call))  # type: ignore[no-untyped-call]
