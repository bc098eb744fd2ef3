"""The window as a new user meets it (issue 18): real widgets, offscreen."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtTest

from conftest import run_cli
from drayman.jobs import JobState
from drayman.queue.jobqueue import JobQueue
from drayman.queue.progress import EngineSnapshot, JobChange, JobProgress
from drayman.ui.app import Session
from drayman.ui.icons import app_icon
from drayman.ui.instance import InstanceServer
from drayman.ui.jobs_model import Column, JobsModel, ProgressRole
from drayman.ui.main_window import MainWindow
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets
from drayman.ui.widgets import ProgressDelegate
from httpserver import LoopbackServer, make_body
from test_gui import make_job, qloop, run, select, settings_file, state_of, until
from test_import_gui import find_add_dialog, opened, preview_of

__all__ = ["qloop"]  # the fixture, shared with test_gui.py


def paint_progress(fraction: float, size: QtCore.QSize) -> QtGui.QImage:
    """The delegate's bar for ``fraction``, painted into an image."""
    model = QtGui.QStandardItemModel(1, 1)
    item = QtGui.QStandardItem("")
    item.setData(fraction, ProgressRole)
    model.setItem(0, 0, item)
    view = QtWidgets.QTableView()
    view.setModel(model)
    delegate = ProgressDelegate(view)
    option = QtWidgets.QStyleOptionViewItem()
    option.rect = QtCore.QRect(QtCore.QPoint(0, 0), size)
    option.state = QtWidgets.QStyle.StateFlag.State_Enabled
    option.widget = view
    image = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QtGui.QPainter(image)
    delegate.paint(painter, option, model.index(0, 0))
    painter.end()
    return image


def test_progress_bars_fill_from_left_to_right(qapp: Any) -> None:
    size = QtCore.QSize(200, 24)
    empty, quarter = paint_progress(0.0, size), paint_progress(0.25, size)
    changed = [
        (x, y)
        for x in range(size.width())
        for y in range(size.height())
        if empty.pixel(x, y) != quarter.pixel(x, y)
    ]
    assert changed, "a quarter's bar looks like an empty one"
    xs = [x for x, _ in changed]
    ys = [y for _, y in changed]
    # the fill is the left quarter, top to bottom (not a strip along the bottom)
    assert max(xs) < size.width() * 0.35, (min(xs), max(xs))
    assert min(xs) < size.width() * 0.1
    assert max(ys) - min(ys) >= size.height() * 0.6, (min(ys), max(ys))


def test_an_error_while_in_the_tray_is_said_by_the_tray_and_its_box_waits_for_the_window(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    """A box on a hidden window is a box nobody sees: the tray says it at once, and
    the box opens when the window comes back (the start, too: it may be about to show)."""

    async def scenario() -> None:
        session = Session(db_path, settings_file(db_path))
        window = await session.open()
        try:
            window.tray = QtWidgets.QSystemTrayIcon(app_icon(), window)
            window.show_error("the proxy chosen in Settings cannot be read")
            window.show()  # the start: shown in the same turn, so no tray message
            await until(lambda: open_boxes(window) == 1, what="the box")
            assert window.last_notification is None
            close_boxes(window)

            window.hide_to_tray()
            window.last_notification = None
            window.show_error("When the queue is done: shutdown failed")
            await until(lambda: window.last_notification is not None, what="the tray")
            assert "shutdown failed" in (window.last_notification or "")
            assert "shutdown failed" in window.statusBar().currentMessage()
            assert open_boxes(window) == 0
            window.tray_menu.actions()[0].trigger()  # Show drayman
            await until(lambda: open_boxes(window) == 1, what="the box it kept")
            # the message is not drawn over the labels it covers (Qt leaves them be
            # when it is said to a hidden window)
            assert "shutdown failed" in window.statusBar().currentMessage()
            assert not window.speed_label.isVisible()
            box = next(b for b in window.findChildren(QtWidgets.QMessageBox) if b.isVisible())
            assert "shutdown failed" in box.text()
        finally:
            window.quit()
            await session.close()

    run(qloop, scenario())


def open_boxes(window: MainWindow) -> int:
    return sum(b.isVisible() for b in window.findChildren(QtWidgets.QMessageBox))


def close_boxes(window: MainWindow) -> None:
    for box in window.findChildren(QtWidgets.QMessageBox):
        box.done(0)
        box.deleteLater()


def test_the_app_has_an_icon_and_the_tray_a_menu_and_a_word_when_the_window_hides(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    pixmap = app_icon().pixmap(32, 32)
    assert not pixmap.isNull()
    image = pixmap.toImage()
    assert any(image.pixelColor(x, 16).alpha() > 0 for x in range(32)), "a blank icon"

    async def scenario() -> None:
        queue = await JobQueue.open(db_path)
        ids = await queue.add(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"], dest_dir=downloads)
        await queue.pause(ids[1:])
        session = Session(db_path, settings_file(db_path))
        window = await session.open()
        try:
            assert window.windowIcon().cacheKey() == app_icon().cacheKey()
            labels = [a.text() for a in window.tray_menu.actions() if not a.isSeparator()]
            assert labels == ["Show drayman", "Pause all", "Resume all", "Quit"]
            # the tray where the platform has one (a real X session); offscreen has none
            window.tray = QtWidgets.QSystemTrayIcon(app_icon(), window)
            window.settings = dataclasses.replace(window.settings, close_to_tray=True)
            window.show()
            window.close()
            assert not window.isVisible()
            assert "keeps downloading in the tray" in (window.last_notification or "")
            window.last_notification = None
            window.tray_menu.actions()[0].trigger()  # Show
            assert window.isVisible()
            window.close()
            assert window.last_notification is None  # told once, not every time
            pause_all = next(a for a in window.tray_menu.actions() if a.text() == "Pause all")
            pause_all.trigger()
            await until(
                lambda: all(state_of(window, i) == JobState.PAUSED for i in ids), what="paused"
            )
        finally:
            window.quit()
            await session.close()
            await queue.close()

    run(qloop, scenario())


def test_ctrl_v_at_start_pastes_urls_and_an_active_filter_shows_its_way_out(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def scenario() -> None:
        queue = await JobQueue.open(db_path)
        ids = await queue.add(["http://127.0.0.1:9/a.bin"], dest_dir=downloads)
        await queue.pause(ids)
        session = Session(db_path, settings_file(db_path))
        window = await session.open()
        try:
            window.show()
            window.activateWindow()
            await until(lambda: window.model.rowCount() == 1, what="the row")
            await until(lambda: QtWidgets.QApplication.focusWidget() is not None, what="focus")
            assert QtWidgets.QApplication.focusWidget() is window.table
            QtWidgets.QApplication.clipboard().setText("http://127.0.0.1:9/pasted.iso")
            QtTest.QTest.keyClick(
                QtWidgets.QApplication.focusWidget(),
                Qt.Key.Key_V,
                Qt.KeyboardModifier.ControlModifier,
            )
            await until(lambda: find_add_dialog(window) is not None, what="the Add dialog")
            dialog = find_add_dialog(window)
            assert dialog.urls.toPlainText() == "http://127.0.0.1:9/pasted.iso"
            dialog.reject()
            assert window.search.text() == ""
            assert not window.filter_chip.isVisible()
            # a filter typed on purpose hides rows, and says so
            QtTest.QTest.keyClicks(window.search, "zzz")
            assert window.proxy.rowCount() == 0
            assert window.filter_chip.isVisible()
            assert "“zzz”" in window.filter_chip.text() and "0 of 1" in window.filter_chip.text()
            QtTest.QTest.mouseClick(window.filter_chip, Qt.MouseButton.LeftButton)
            assert window.search.text() == "" and window.proxy.rowCount() == 1
            assert not window.filter_chip.isVisible()
            window.group.setCurrentIndex(window.group.findData("failed"))
            assert "Failed" in window.filter_chip.text()
        finally:
            window.quit()
            await session.close()
            await queue.close()

    run(qloop, scenario())


def test_pasted_plain_urls_go_to_the_folder_itself_and_an_empty_field_makes_no_folder(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    media = tmp_path / "list.json"
    media.write_text(
        json.dumps(
            [
                {"url": "http://127.0.0.1:9/v/1.mp4", "title": "One", "author": "Ann"},
                {"url": "http://127.0.0.1:9/v/2.mp4", "title": "Two"},  # no author
            ]
        )
    )

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            QtWidgets.QApplication.clipboard().setText(
                "http://127.0.0.1:9/a/big.iso\nhttp://127.0.0.1:9/b/small.dat"
            )
            window.paste_action.trigger()
            await until(lambda: window.import_dialog is not None, what="the preview")
            dialog = window.import_dialog
            assert dialog is not None
            assert dialog.template.text() == ""  # named by their server
            await asyncio.wait_for(dialog.planned.wait(), 20)
            assert [row.target for row in dialog.model.rows] == ["big.iso", "small.dat"]
            await dialog.shut()
            dialog = await preview_of(window, media)
            assert dialog.template.text() == "{author}/{title}.{ext}"
            await asyncio.wait_for(dialog.planned.wait(), 20)
            targets = [row.target for row in dialog.model.rows]
            assert targets == [os.path.join("Ann", "One.mp4"), "Two.mp4"], targets
            await dialog.shut()

    run(qloop, scenario())


@pytest.mark.parametrize("bad", ["file in the way", "read-only"])
def test_a_folder_that_cannot_take_files_is_said_in_the_dialog_and_never_remembered(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    bad: str,
) -> None:
    if bad == "read-only":
        mounts = request.getfixturevalue("mounts")
        folder = mounts.tmpfs("ro", 1024 * 1024, read_only=True) / "sub"
    else:
        (tmp_path / "notes.txt").write_text("a file, not a folder")
        folder = tmp_path / "notes.txt" / "sub"
    (tmp_path / "list.txt").write_text("http://127.0.0.1:9/x.bin\nhttp://127.0.0.1:9/y.bin\n")

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (session, window):
            dialog = window.open_add_dialog("http://127.0.0.1:9/a.bin")
            dialog.folder.setText(str(folder))
            dialog.accept()
            await until(lambda: dialog.error.isVisible(), what="the folder's problem")
            assert dialog.isVisible()
            assert str(tmp_path) in dialog.error.text()
            assert await window.queue.jobs() == []
            # a folder that works is taken, and only then remembered
            dialog.folder.setText(str(downloads / "new"))
            dialog.accept()
            await until(lambda: window.model.rowCount() == 1, what="the job")
            assert window.default_folder == str(downloads / "new")
            assert session.settings.default_folder == str(downloads / "new")
            # the import preview says it too, and its button stays off
            preview = await preview_of(window, tmp_path / "list.txt")
            preview.folder.setText(str(folder))
            await until(lambda: preview.plan_error is not None, what="the plan's problem")
            assert not preview.download_button.isEnabled()
            assert window.default_folder == str(downloads / "new")
            await preview.shut()

    run(qloop, scenario())


def test_columns_fit_the_window_and_are_remembered_and_priority_shows_when_used(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            window.resize(1100, 640)
            await until(lambda: window.table.viewport().width() > 0, what="the layout")
            table, header = window.table, window.table.horizontalHeader()
            # an empty list: no horizontal scroll bar, the date whole
            assert not table.horizontalScrollBar().isVisible()
            assert table.horizontalScrollBar().maximum() == 0
            date = window.fontMetrics().horizontalAdvance("2026-12-31 23:59")
            assert table.columnWidth(Column.ADDED) > date
            assert table.isColumnHidden(Column.PRIORITY)
            # maximised, the spare width goes to the name and the error
            narrow = {c: table.columnWidth(c) for c in Column}
            window.resize(1900, 900)
            await until(lambda: header.length() >= table.viewport().width() - 2, what="a relayout")
            assert table.columnWidth(Column.NAME) > narrow[Column.NAME]
            assert table.columnWidth(Column.ATTEMPTS) > narrow[Column.ATTEMPTS]
            for fitted in (Column.SIZE, Column.STATE, Column.FOLDER, Column.ADDED):
                assert table.columnWidth(fitted) == narrow[fitted], fitted
            assert not table.horizontalScrollBar().isVisible()
            # the priority column shows once a job has one
            ids = await window.queue.add(["http://127.0.0.1:9/a.bin"], dest_dir=downloads)
            await window.queue.pause(ids)
            await until(lambda: window.model.rowCount() == 1, what="the row")
            assert table.isColumnHidden(Column.PRIORITY)
            window.table.selectRow(0)
            window.up_action.trigger()
            await until(lambda: not table.isColumnHidden(Column.PRIORITY), what="priority")
            # widths and sort order are kept for the next run
            table.setColumnWidth(Column.FOLDER, 333)
            table.sortByColumn(Column.SIZE, Qt.SortOrder.DescendingOrder)

        async with opened(db_path, tmp_path, downloads) as (_, window):
            header = window.table.horizontalHeader()
            assert window.table.columnWidth(Column.FOLDER) == 333
            assert header.sortIndicatorSection() == Column.SIZE
            assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
            await until(lambda: window.model.rowCount() == 1, what="the row")
            await until(lambda: not window.table.isColumnHidden(Column.PRIORITY), what="priority")

    run(qloop, scenario())


class Opened(QtCore.QObject):
    """Stands in for the desktop's file opener: QDesktopServices hands it the URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @QtCore.Slot(QtCore.QUrl)
    def open(self, url: QtCore.QUrl) -> None:
        self.urls.append(url.toLocalFile())


def test_the_habits_of_every_file_manager_enter_space_and_a_menu_that_makes_sense(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    http_server.add("/done.bin", b"done" * 100)
    http_server.add("/wait.bin", make_body(4 * 1024 * 1024), rate=256 * 1024)
    opener = Opened()
    QtGui.QDesktopServices.setUrlHandler("file", opener, "open")

    async def scenario() -> None:
        queue = await JobQueue.open(db_path)
        [paused] = await queue.add([http_server.url("/wait.bin")], dest_dir=downloads)
        await queue.pause([paused])
        [done] = await queue.add([http_server.url("/done.bin")], dest_dir=downloads)
        await queue.close()
        async with opened(db_path, tmp_path, downloads) as (_, window):
            await until(lambda: state_of(window, done) == JobState.DONE, what="done")
            menu = window.context_menu()
            assert [a.text() for a in menu.actions()[:2]] == ["Open file", "Open folder"]
            # a done row: Pause makes no sense, Open file does; Enter opens it
            select(window, done)
            assert not window.pause_action.isEnabled() and not window.resume_action.isEnabled()
            assert window.open_action.isEnabled() and window.remove_action.isEnabled()
            window.table.setFocus()
            QtTest.QTest.keyClick(window.table, Qt.Key.Key_Return)
            assert opener.urls == [str(downloads / "done.bin")]
            # a paused row: Space resumes it, Space again pauses it
            window.table.clearSelection()
            select(window, paused)
            assert window.resume_action.isEnabled() and not window.open_action.isEnabled()
            QtTest.QTest.keyClick(window.table, Qt.Key.Key_Space)
            await until(lambda: state_of(window, paused) != JobState.PAUSED, what="resumed")
            await until(lambda: window.pause_action.isEnabled(), what="Pause enabled")
            QtTest.QTest.keyClick(window.table, Qt.Key.Key_Space)
            await until(lambda: state_of(window, paused) == JobState.PAUSED, what="paused")
            # the search box still takes spaces
            QtTest.QTest.keyClicks(window.search, "a b")
            assert window.search.text() == "a b"
            window.clear_filter()
            assert window.remove_action.shortcut() == QtGui.QKeySequence(Qt.Key.Key_Delete)
            # Remove finished: the done row goes, its file stays
            window.remove_finished_action.trigger()
            await until(lambda: window.model.job(done) is None, what="the done row gone")
            assert window.model.job(paused) is not None
            assert (downloads / "done.bin").read_bytes() == b"done" * 100
            # Tab leaves the Add dialog's URL box
            dialog = window.open_add_dialog()
            dialog.activateWindow()
            dialog.urls.setFocus()
            QtTest.QTest.keyClick(dialog.urls, Qt.Key.Key_Tab)
            assert dialog.urls.toPlainText() == ""
            assert dialog.focusWidget() is dialog.folder
            dialog.reject()

    try:
        run(qloop, scenario())
    finally:
        QtGui.QDesktopServices.unsetUrlHandler("file")


def test_the_speed_graph_is_the_selected_downloads_own_or_the_total_named_so(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def scenario() -> None:
        queue = await JobQueue.open(db_path)
        busy, idle = await queue.add(
            ["http://127.0.0.1:9/busy.bin", "http://127.0.0.1:9/idle.bin"], dest_dir=downloads
        )
        await queue.pause([busy, idle])
        window = MainWindow(queue, engine_note="", default_folder=str(downloads))
        watching = asyncio.ensure_future(window.watch())
        try:
            await until(lambda: window.model.rowCount() == 2, what="the rows")
            for speed in (100.0, 200.0, 300.0):
                busy_progress = JobProgress(busy, "busy.bin", 10, 1000, speed)
                window.apply_progress(EngineSnapshot((busy_progress,), (), speed + 1))
            # nothing selected: the total, named as the total
            assert window.sparkline.title == "Total speed"
            assert list(window.sparkline.samples) == [101.0, 201.0, 301.0]
            select(window, busy)
            assert window.sparkline.title == "Speed of busy.bin"
            assert list(window.sparkline.samples) == [100.0, 200.0, 300.0]
            # a download that never ran has no history, not another one's
            window.table.clearSelection()
            select(window, idle)
            assert window.sparkline.title == "Speed of idle.bin"
            assert list(window.sparkline.samples) == []
            window.apply_progress(EngineSnapshot((busy_progress,), (), 7.0))
            assert list(window.sparkline.samples) == []
            window.table.clearSelection()
            assert window.sparkline.title == "Total speed"
            assert list(window.sparkline.samples)[-1] == 7.0
        finally:
            watching.cancel()
            window.close()
            await queue.close()

    run(qloop, scenario())


def test_a_second_start_brings_the_open_window_forward_with_its_urls(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            instance = InstanceServer(db_path, window)
            instance.arrived.connect(window.receive_urls)
            assert instance.listen()
            window.hide()
            second = await asyncio.to_thread(
                run_cli, db_path, "gui", "http://127.0.0.1:9/second.iso", timeout=60
            )
            assert second.returncode == 0, second.stderr
            assert "already open" in second.stderr
            await until(lambda: find_add_dialog(window) is not None, what="the Add dialog")
            assert window.isVisible()
            dialog = find_add_dialog(window)
            assert dialog.urls.toPlainText() == "http://127.0.0.1:9/second.iso"
            dialog.reject()
            # another database is another window
            other = await asyncio.to_thread(
                lambda: InstanceServer(tmp_path / "other.db").name != instance.name
            )
            assert other
            instance.close()

    run(qloop, scenario())


def test_the_window_without_the_gui_extra_says_how_to_install_it(
    db_path: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker" / "qasync"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'qasync'\", name='qasync')\n"
    )
    path = os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])
    result = run_cli(db_path, "gui", env={"PYTHONPATH": path})
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert "qasync" in line and 'pip install "drayman[gui]"' in line


def test_the_polish_a_user_notices(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            # the empty window says how to start
            assert window.empty_hint.isVisible()
            assert "Ctrl+V" in window.empty_hint.text()
            # toolbar buttons have icons; Help has About
            for action in (window.add_action, window.pause_action, window.remove_action):
                assert not action.icon().isNull(), action.text()
            menus = [a.text() for a in window.menuBar().actions()]
            assert menus == ["&File", "&Downloads", "&Help"]
            about = window.show_about()
            assert "drayman" in about.text() and str(db_path) in about.informativeText()
            about.close()
            # the same URL twice: added, with a word
            for rows in (1, 2):
                dialog = window.open_add_dialog("http://127.0.0.1:9/twice.iso")
                dialog.folder.setText(str(downloads))
                dialog.accept()
                await until(lambda r=rows: window.model.rowCount() == r, what=f"{rows} rows")
            await until(lambda: window.last_notification is not None, what="a word")
            assert "Already in the list" in (window.last_notification or "")
            assert "twice.iso" in (window.last_notification or "")
            assert not window.empty_hint.isVisible()
            window.search.setText("nothing like it")
            assert window.empty_hint.isVisible() and "filter" in window.empty_hint.text()
            window.clear_filter()
            # "Remove 'name'?" for one, "Remove 2 downloads?" for more
            jobs = [window.model.job_at(row) for row in range(2)]
            assert window.remove_question(jobs[:1])[0] == "Remove “twice.iso” from the list?"
            assert window.remove_question(jobs)[0] == "Remove 2 downloads from the list?"
            # Settings: a Browse button beside the folder, and room for its hints
            settings = window.open_settings()
            buttons = [b.text() for b in settings.findChildren(QtWidgets.QPushButton)]
            assert "Browse…" in buttons
            hint = settings.max_speed.placeholderText()
            assert settings.max_speed.width() >= settings.fontMetrics().horizontalAdvance(hint)
            settings.reject()

    run(qloop, scenario())


def test_a_media_rows_name_stays_its_title_when_the_file_gets_its_name(qapp: Any) -> None:
    model = JobsModel()
    job = make_job(1, JobState.QUEUED)
    titled = dataclasses.replace(job, title="Episode 1: Pilot", file_name=None)
    model.set_jobs([titled])
    assert model.index(0, Column.NAME).data() == "Episode 1: Pilot"
    model.set_jobs([dataclasses.replace(titled, file_name="Episode 1_ Pilot.mp4")])
    assert model.index(0, Column.NAME).data() == "Episode 1: Pilot"
    plain = dataclasses.replace(job, title=None, file_name="big.iso")
    model.set_jobs([plain])
    assert model.index(0, Column.NAME).data() == "big.iso"


def test_a_restart_from_zero_is_said_in_the_window_and_kept_in_the_details(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def scenario() -> None:
        queue = await JobQueue.open(db_path)
        [big] = await queue.add(["http://127.0.0.1:9/big.iso"], dest_dir=downloads)
        await queue.pause([big])
        window = MainWindow(queue, engine_note="", default_folder=str(downloads))
        watching = asyncio.ensure_future(window.watch())
        try:
            await until(lambda: window.model.rowCount() == 1, what="the row")
            note = "the server cannot resume; starting again from 0"
            change = JobChange(big, JobState.RUNNING, name="big.iso", note=note)
            window.apply_progress(EngineSnapshot((), (change,), 0.0))
            assert window.last_notification == f"big.iso: {note}"
            select(window, big)
            assert note in window.details.text()
        finally:
            watching.cancel()
            window.close()
            await queue.close()

    run(qloop, scenario())


def test_in_chinese_the_engines_error_lines_and_the_new_window_texts_are_chinese(
    qapp: QtWidgets.QApplication, db_path: Path
) -> None:
    from drayman.ui.app import install_translator
    from drayman.ui.errortext import error_text

    translator = install_translator(qapp, "zh_CN")
    assert translator is not None
    try:
        assert (
            error_text("the server answered HTTP 404 Not Found") == "服务器返回 HTTP 404 Not Found"
        )
        gave_up = "a temporary network or server problem: 127.0.0.1:9 refused the connection " + (
            "(is the address right, and the server up?) (gave up after 3 attempts)"
        )
        assert error_text(gave_up) == (
            "暂时的网络或服务器问题：127.0.0.1:9 拒绝连接（地址是否正确，服务器是否在运行？）"
            "（尝试 3 次后放弃）"
        )
        assert error_text("something new and strange") == "something new and strange"
        model = JobsModel()
        failed = dataclasses.replace(
            make_job(1, JobState.FAILED), error="the server answered HTTP 404 Not Found", attempts=1
        )
        model.set_jobs([failed])
        assert model.index(0, Column.ATTEMPTS).data() == "1: 服务器返回 HTTP 404 Not Found"
        queue = asyncio.run(JobQueue.open(db_path))
        window = MainWindow(queue, engine_note="", default_folder="/tmp")
        assert window.empty_hint.text() == "粘贴链接（Ctrl+V）、拖放到这里，或点击“添加”开始。"
        assert window.remove_question([failed])[0] == "从列表中移除“f1”？"
        assert window.batch_summary(3, 1) == "下载已结束：3 个完成，1 个失败。"
        window.close()
        asyncio.run(queue.close())
    finally:
        qapp.removeTranslator(translator)
