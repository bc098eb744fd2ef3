"""The system's trusted authorities, loaded on a thread while a command starts.

aiohttp builds two TLS contexts when it is imported, and each loads the
system's certificate authorities on the spot: OpenSSL 3 parses the whole
bundle, ~32 ms a context on the benchmark machine, about a third of aiohttp's
import and a fifth of ``drayman run``'s start. Imported under
:func:`loads_later` (``run`` and the window do), those loads are noted instead
of made, and made on one thread when the imports end. OpenSSL releases the
GIL while it parses, so they overlap the rest of the start.

:func:`trust_loaded` waits until they are made. The engine awaits it before
it makes its session, and so does every other session of drayman's: a
handshake against a context still loading would fail to verify. The other
context, for downloads with verification off (``--insecure``), compares
nothing with the authorities: its load is skipped, not deferred.

Outside such an import (aiohttp imported earlier, as in the tests, or by a
program that embeds the engine) nothing is deferred, and :func:`trust_loaded`
returns at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: the loads noted under :func:`loads_later`, made by :func:`_load_all` on its thread
_noted: list[Callable[[], None]] = []
_loading: threading.Thread | None = None
_failure: BaseException | None = None


@contextlib.contextmanager
def loads_later() -> Iterator[None]:
    """Imports that note their contexts' loads of the system's authorities; the
    loads start on a thread when the block ends. Main thread, start-up only:
    while the block runs, a default context made anywhere is noted, not loaded.
    """
    cls: Any = ssl.SSLContext
    real_defaults, real_paths = cls.load_default_certs, cls.set_default_verify_paths

    def note_defaults(
        context: ssl.SSLContext, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH
    ) -> None:
        if context.verify_mode != ssl.CERT_NONE:
            _noted.append(lambda: real_defaults(context, purpose))

    def note_paths(context: ssl.SSLContext) -> None:
        if context.verify_mode != ssl.CERT_NONE:
            _noted.append(lambda: real_paths(context))

    cls.load_default_certs, cls.set_default_verify_paths = note_defaults, note_paths
    try:
        yield
    finally:
        cls.load_default_certs, cls.set_default_verify_paths = real_defaults, real_paths
        _start_loading()


def _start_loading() -> None:
    global _loading
    if _noted and (_loading is None or not _loading.is_alive()):
        # not a daemon: the interpreter waits for it at exit. A command that
        # ends within the load (a second window start hands its URLs over and
        # leaves) would otherwise run OpenSSL's exit-time cleanup under the
        # thread still loading, and crash (SIGSEGV)
        _loading = threading.Thread(target=_load_all, name="drayman-trust", daemon=False)
        _loading.start()


def _load_all() -> None:
    global _failure
    while _noted:
        load = _noted.pop(0)
        try:
            load()
        except BaseException as exc:  # said by trust_loaded, on the thread that needs the trust
            _failure = exc


def wait_for_trust() -> None:
    """Block until every noted load is made; raise what a load raised."""
    loading = _loading
    if loading is not None:
        loading.join()
    if _failure is not None:
        raise _failure


def trust_pending() -> bool:
    loading = _loading
    return loading is not None and loading.is_alive()


async def trust_loaded() -> None:
    """:func:`wait_for_trust` off the event loop's thread, when there is anything to wait for."""
    if trust_pending():
        await asyncio.to_thread(wait_for_trust)
    elif _failure is not None:
        raise _failure
