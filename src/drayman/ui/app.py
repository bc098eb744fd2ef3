"""Start the window: one qasync event loop on the main thread, engine included.

The engine runs on the same loop as the window (no loop inside a QThread:
that is what hangs aiohttp on Windows). If another process already runs an
engine on the database, the window is a viewer and controller only: its
commands are table writes, which that engine picks up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import qasync

from drayman.errors import EngineAlreadyRunning, EnvironmentProblem, ProxyLost
from drayman.private import make_private_dirs, open_private
from drayman.queue.engine import Engine
from drayman.queue.jobqueue import JobQueue
from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.ui.icons import app_icon
from drayman.ui.instance import InstanceServer, forward
from drayman.ui.main_window import MainWindow, default_folder
from drayman.ui.proxyfile import read_proxy, store_proxy
from drayman.ui.qt import QtCore, QtWidgets
from drayman.ui.settings import Settings, has_old_proxy, load, proxy_lost_text, save

if TYPE_CHECKING:
    from drayman.rpc.server import RpcServer

log = logging.getLogger(__name__)

#: where the job table's column widths, order and sort are kept between runs
HEADER_KEY = "window/table_header"
#: how long closing the window may take to checkpoint every transfer
SHUTDOWN_SECONDS = 5.0


def _log_to_file() -> Path:
    """Unexpected errors go to a file with their traceback, never into a dialog."""
    import platformdirs

    folder = platformdirs.user_log_path("drayman", appauthor=False)
    make_private_dirs(folder)
    path = folder / "drayman.log"
    # tracebacks name URLs and folders: readable by the user only
    fd = open_private(path, os.O_WRONLY | os.O_APPEND)
    handler = logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    return path


class Session:
    """The window plus whatever feeds it (own engine, or a viewer's job queue)."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        settings: QtCore.QSettings | None = None,
        *,
        thumbnail_cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.db_path = os.fspath(db_path)
        #: where thumbnails are kept (default: the user cache folder)
        self.thumbnail_cache = thumbnail_cache
        self.thumbnails: ThumbnailFetcher | None = None
        self.store = settings if settings is not None else QtCore.QSettings("drayman", "drayman")
        #: the user's Downloads folder (read once, here: platformdirs may read a file)
        self.downloads_folder = default_folder()
        #: a manual proxy's URL is in a private file: read in open(), off this thread
        self.settings = load(self.store, self.downloads_folder)
        self.engine: Engine | None = None
        self.queue: JobQueue | None = None
        self.window: MainWindow | None = None
        self._watch: asyncio.Task[None] | None = None
        self._prune: asyncio.Task[int] | None = None
        #: aria2's JSON-RPC, when the settings turn it on (own engine only)
        self.rpc: RpcServer | None = None
        self._rpc_serving: tuple[object, ...] | None = None
        self._rpc_lock = asyncio.Lock()
        #: what the proxy's private file holds (None: unknown, a write failed), and
        #: the write of a newer one, if any
        self._stored_proxy: str | None = ""
        self._proxy_write: asyncio.Task[None] | None = None
        self._proxy_lock = asyncio.Lock()

    async def open(self) -> MainWindow:
        await self._load_proxy()
        engine = Engine(self.db_path, self.settings.engine_config())
        try:
            await engine.start()
        except EngineAlreadyRunning as exc:
            self.queue = await JobQueue.open(self.db_path)
            note = QtCore.QCoreApplication.translate(
                "Session", "Viewer of the engine in process {0}"
            ).format(exc.context.get("pid"))
        else:
            self.engine, self.queue = engine, engine.queue
            note = self._own_engine_note()
        # thumbnails ride the engine's HTTP session on this loop; a viewer has
        # no engine here, so its fetcher opens a session of its own
        self.thumbnails = (
            self.engine.thumbnails(self.thumbnail_cache)
            if self.engine is not None
            else ThumbnailFetcher(self.thumbnail_cache)
        )
        self._prune = asyncio.ensure_future(self.thumbnails.prune())
        self.window = MainWindow(
            self.queue,
            engine_note=note,
            default_folder=self.settings.default_folder,
            settings=self.settings,
            apply_settings=self.apply_settings,
            thumbnails=self.thumbnails,
            downloads_folder=self.downloads_folder,
        )
        self.window.restore_header(self.store.value(HEADER_KEY))
        if self.engine is not None and self.settings.proxy_lost:
            # said at once, in words: the engine holds what would go through it
            self.window.show_error(proxy_lost_text(self.settings.proxy_lost))
        if self.engine is not None:
            self.engine.subscribe(self.window.apply_progress)
            self.queue.on_change(self.window.request_reload)
        self._watch = asyncio.ensure_future(self.window.watch())
        if self.settings.rpc_enabled and self.engine is not None:
            # a port in use is a message box, not a window that never opens
            self.window.run(self.apply_rpc())
        return self.window

    async def apply_rpc(self) -> None:
        """Start, restart or stop aria2's JSON-RPC to match the settings.

        It runs on the window's own engine, on this loop; a viewer has none
        (the engine of the other process serves it, if it was asked to).
        """
        from drayman.rpc.config import RpcConfig
        from drayman.rpc.secret import load_or_create_secret, store_secret
        from drayman.rpc.server import RpcServer

        async with self._rpc_lock:
            settings = self.settings
            wanted = (
                settings.rpc_enabled,
                settings.rpc_port,
                settings.rpc_listen_all,
                settings.rpc_secret,
                settings.default_folder,
            )
            if self.engine is None or wanted == self._rpc_serving:
                return
            if self.rpc is not None:
                await self.rpc.stop()
                self.rpc, self._rpc_serving = None, None
            if not settings.rpc_enabled:
                return
            secret = settings.rpc_secret
            if secret:
                # the one secret `drayman run` uses too, in its private file
                await asyncio.to_thread(store_secret, secret)
            else:
                secret, _ = await asyncio.to_thread(load_or_create_secret)
                self._show_secret(secret)
            config = RpcConfig(
                port=settings.rpc_port,
                secret=secret,
                listen_all=settings.rpc_listen_all,
                default_dir=settings.default_folder or None,
            )
            quit_window = self.window.quit if self.window is not None else None
            server = RpcServer(self.engine, config, on_shutdown=quit_window)
            await server.start()
            self.rpc = server
            self._rpc_serving = (*wanted[:3], secret, wanted[4])
            if self.window is not None:
                self.window.statusBar().showMessage(
                    QtCore.QCoreApplication.translate(
                        "Session", "aria2 RPC on port {0}: browser extensions can add downloads"
                    ).format(server.port),
                    15_000,
                )

    async def _load_proxy(self) -> None:
        """The manual proxy from its private file, read off the GUI thread, as the
        RPC secret is. One an older version left in QSettings, password and all,
        moves to that file first and leaves the settings file."""
        if has_old_proxy(self.store):
            self._stored_proxy = self.settings.manual_proxy()
            await asyncio.to_thread(store_proxy, self._stored_proxy)
            save(self.store, self.settings)
            return
        unreadable = ""
        try:
            self._stored_proxy = await asyncio.to_thread(read_proxy)
        except ProxyLost as exc:
            # left as it is: the URL given again in Settings replaces it
            self._stored_proxy, unreadable = "", str(exc.context["why"])
        self.settings = load(self.store, self.downloads_folder, self._stored_proxy, unreadable)

    def _own_engine_note(self) -> str:
        """The status bar's word on the window's own engine."""
        if self.settings.proxy_lost:
            return QtCore.QCoreApplication.translate(
                "Session", "Waiting for the proxy: give it again in Settings"
            )
        return QtCore.QCoreApplication.translate("Session", "Downloading (own engine)")

    async def _store_proxy(self, url: str) -> None:
        async with self._proxy_lock:  # in the order chosen: the last choice is the one kept
            try:
                await asyncio.to_thread(store_proxy, url)
            except BaseException:
                self._stored_proxy = None  # the next save writes it again
                raise

    def _show_secret(self, secret: str) -> None:
        """The secret made or read for the RPC, shown in the settings from now on."""
        self.settings = replace(self.settings, rpc_secret=secret)
        if self.window is not None:
            self.window.settings = replace(self.window.settings, rpc_secret=secret)

    def apply_settings(self, settings: Settings) -> None:
        """Keep the settings and hand the engine its new limits, live."""
        self.settings = settings
        save(self.store, settings)
        if settings.manual_proxy() != self._stored_proxy:
            self._stored_proxy = settings.manual_proxy()
            write = self._store_proxy(self._stored_proxy)
            # a failed write is a message box; close() waits for the last one
            self._proxy_write = (
                self.window.run(write) if self.window is not None else asyncio.ensure_future(write)
            )
        if self.engine is not None:
            self.engine.reconfigure(settings.engine_config(self.engine.config))
            if self.window is not None:
                self.window.engine_label.setText(self._own_engine_note())
        if self.queue is not None and self.window is not None:
            # stored too, so a viewer's limit reaches the engine of another process
            self.window.run(self.queue.set_speed_limit(settings.max_speed))
            if self.engine is not None:
                self.window.run(self.apply_rpc())

    async def close(self) -> None:
        """Checkpoint every transfer and let go of the database, within a bound."""
        watching = [task for task in (self._watch, self._prune) if task is not None]
        for task in watching:
            task.cancel()
        if self._proxy_write is not None:
            # the chosen proxy reaches its file before the executor goes away
            watching.append(self._proxy_write)
        if self.window is not None:
            self.window.stop_thumbnails()
            self.store.setValue(HEADER_KEY, self.window.header_state())
            self.store.sync()
        try:
            # what the window started ends before the database goes away: a task
            # still waiting on it then would never end. Bounded on its own, so
            # that the engine's checkpoints below always get their time
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                if self.window is not None:
                    await self.window.settle()
                await asyncio.gather(*watching, return_exceptions=True)
        except TimeoutError:
            log.warning("the window's tasks took longer than %s s to end", SHUTDOWN_SECONDS)
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                if self.thumbnails is not None:
                    await self.thumbnails.close()
                if self.rpc is not None:
                    await self.rpc.stop()
                if self.engine is not None:
                    # shielded: a second close request must not cut the checkpoints short
                    await asyncio.shield(self.engine.stop())
                elif self.queue is not None:
                    await self.queue.close()
        except TimeoutError:
            log.warning("shutdown took longer than %s s", SHUTDOWN_SECONDS)


@contextlib.asynccontextmanager
async def opened_window(
    db_path: str | os.PathLike[str],
    settings: QtCore.QSettings | None = None,
    *,
    thumbnail_cache: str | os.PathLike[str] | None = None,
) -> AsyncIterator[tuple[Session, MainWindow]]:
    """The window on ``db_path`` as the app opens it (its own engine, or a
    viewer's queue), closed as the app closes it when the block ends: every
    transfer checkpointed, the database let go. ``settings`` instead of the
    user's (e.g. an INI file of one's own), ``thumbnail_cache`` as
    :class:`Session` takes it. For code that drives the real window: the
    screenshot scripts in docs/, the GUI tests. Runs on the window's loop
    (:func:`make_loop`)."""
    session = Session(db_path, settings, thumbnail_cache=thumbnail_cache)
    window = await session.open()
    try:
        yield session, window
    finally:
        window.close()
        await session.close()


async def _run(db_path: str, urls: Sequence[str] = ()) -> int:
    session = Session(db_path)
    try:
        window = await session.open()
    except EnvironmentProblem as exc:
        QtWidgets.QMessageBox.critical(None, "drayman", str(exc))
        return exc.exit_code
    # a second start brings this window to the front, with its URLs
    instance = InstanceServer(db_path, window)
    instance.arrived.connect(window.receive_urls)
    instance.listen()
    if urls:
        window.receive_urls(list(urls))
    closed = asyncio.Event()
    app = QtWidgets.QApplication.instance()
    assert isinstance(app, QtWidgets.QApplication)
    app.lastWindowClosed.connect(closed.set)
    if session.settings.start_minimized and window.tray is not None:
        window.hide_to_tray()
    else:
        window.show()
    await closed.wait()
    instance.close()
    await session.close()
    return 0


def install_translator(app: QtCore.QCoreApplication, language: str) -> QtCore.QTranslator | None:
    """Load the window's translation for ``language`` ("system" follows the locale)."""
    from importlib import resources

    code = QtCore.QLocale.system().name() if language == "system" else language
    if code.startswith("en"):
        return None
    folder = resources.files("drayman.ui").joinpath("i18n")
    translator = QtCore.QTranslator(app)
    if translator.load(f"drayman_{code}", str(folder)):
        app.installTranslator(translator)
        return translator
    log.info("no translation for %s", code)
    return None


def make_loop(
    app: QtWidgets.QApplication, executor: ThreadPoolExecutor | None = None
) -> qasync.QEventLoop:
    """The qasync loop, with a plain thread pool for file I/O.

    qasync's default executor runs jobs on QThreads; with PySide6 many short
    hops from them crashed the interpreter (a refcount error freeing None,
    seen with 16 transfers in bench/gui_lag.py). Python's own pool has no Qt
    in the way.
    """
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(executor or ThreadPoolExecutor(thread_name_prefix="drayman-io"))
    return loop


def main(db_path: str | os.PathLike[str], urls: Sequence[str] = ()) -> int:
    """Open the window on ``db_path`` (with ``urls`` to add), or hand them to the one open."""
    existing = QtWidgets.QApplication.instance()
    app = (
        existing
        if isinstance(existing, QtWidgets.QApplication)
        else QtWidgets.QApplication(sys.argv[:1])
    )
    app.setApplicationName("drayman")
    app.setDesktopFileName("drayman")  # the desktop entry shipped in drayman/ui/icons
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the loop decides when to quit, after checkpoints
    if forward(db_path, urls):
        print("drayman: the window is already open; brought it to the front", file=sys.stderr)
        return 0
    install_translator(app, load(QtCore.QSettings("drayman", "drayman"), "").language)
    log_path = _log_to_file()
    log.info("window starting; log at %s", log_path)
    executor = ThreadPoolExecutor(thread_name_prefix="drayman-io")
    loop = make_loop(app, executor)
    asyncio.set_event_loop(loop)
    try:
        return int(loop.run_until_complete(_run(os.fspath(db_path), urls)))
    finally:
        # qasync's close can wait on a stuck worker (a dead network drive):
        # everything worth keeping is checkpointed by now, so do not wait
        executor.shutdown(wait=False, cancel_futures=True)
        loop.set_default_executor(None)  # qasync's close would join the threads
        loop.close()
