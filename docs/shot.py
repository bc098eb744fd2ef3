"""What the screenshot scripts share: the app in a language, its loop, a loopback server.

``shot.main(scene, default_out)`` parses ``--out`` and ``--lang``, then runs
``scene(out, folder, server)`` on the window's own (qasync) loop with a
temporary folder and a :class:`LoopbackServer` from the tests;
``shot.app_window(folder)`` opens the window there as the app does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from drayman.ui.app import Session, install_translator, make_loop, opened_window  # noqa: E402
from drayman.ui.main_window import MainWindow  # noqa: E402
from drayman.ui.qt import QtCore, QtWidgets  # noqa: E402
from httpserver import LoopbackServer  # noqa: E402


def app_window(
    folder: Path, **options: Any
) -> contextlib.AbstractAsyncContextManager[tuple[Session, MainWindow]]:
    """The window as the app opens it, with its settings and database in ``folder``."""
    settings = QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    return opened_window(folder / "jobs.db", settings, **options)


Scene = Callable[[Path, Path, LoopbackServer], Awaitable[None]]


def main(scene: Scene, default_out: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(default_out))
    parser.add_argument("--lang", default="en", help="en or zh_CN")
    args = parser.parse_args()
    app = QtWidgets.QApplication(sys.argv[:1])
    install_translator(app, args.lang)
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer() as server:
        loop.run_until_complete(scene(Path(args.out), Path(tmp), server))
    print(args.out, os.path.getsize(args.out), "bytes")
