"""The main window: a view over the job table, and buttons that write to it.

Nothing here touches the network or the disk: reads and commands are
coroutines on the qasync loop (SQLite I/O runs in aiosqlite's thread), and
their errors come back as message boxes in plain words.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from drayman import __version__
from drayman.batch import ImportResult, parse_import
from drayman.categories import Categories, InvalidCategory
from drayman.errors import DraymanError
from drayman.jobs import Job, JobState
from drayman.onidle import COMMAND, NOTIFY, OPEN, IdleAction, countdown_seconds, perform, summary
from drayman.queue.idlewatch import IdleWatch, QueueDone
from drayman.queue.jobqueue import JobQueue
from drayman.queue.progress import EngineSnapshot
from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.schedules import Band, local_zone, state_at
from drayman.ui.add_dialog import AddDialog, AddRequest
from drayman.ui.clipboard import ClipboardWatch
from drayman.ui.countdown import CountdownDialog
from drayman.ui.errortext import error_text
from drayman.ui.icons import action_icon, app_icon
from drayman.ui.import_dialog import LIST_EXTENSIONS, ImportDialog, read_list_file
from drayman.ui.jobs_model import (
    STATE_COLORS,
    Column,
    JobIdRole,
    JobsFilter,
    JobsModel,
    row_name,
    state_name,
)
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets
from drayman.ui.settings import Settings, SettingsDialog
from drayman.ui.tasks import BackgroundTasks
from drayman.ui.thumbnails import ThumbnailImages
from drayman.ui.widgets import ProgressDelegate, Sparkline, ThumbnailDelegate
from drayman.units import human_size

log = logging.getLogger(__name__)

#: rows shown before the whole table is read (first paint of a 100,000-job queue)
FIRST_PAGE = 500
#: downloads whose speed history is kept (the most recently active ones)
SPEED_HISTORIES = 200


class MainWindow(QtWidgets.QMainWindow):
    def __init__(
        self,
        queue: JobQueue,
        *,
        engine_note: str,
        default_folder: str,
        settings: Settings | None = None,
        apply_settings: Callable[[Settings], None] | None = None,
        poll_interval: float = 0.5,
        thumbnails: ThumbnailFetcher | None = None,
        downloads_folder: str | None = None,
        clock: Callable[[], float] = time.time,
        timezone: tzinfo | None = None,
        idle_countdown: float | None = None,
    ) -> None:
        """``clock`` and ``timezone`` are what the schedule is read by (the
        engine's); ``idle_countdown`` the seconds before sleeping or shutting
        down (default 60); tests pass their own."""
        super().__init__()
        self.queue = queue
        #: the user's Downloads folder: the Add dialog sorts by type there (as `add` without -d)
        self.downloads_folder = downloads_folder or default_folder
        #: folders by file type, as stored (read when the window starts; None until then)
        self.categories: Categories | None = None
        self._clock = clock
        self._zone = timezone or local_zone()
        self.idle_countdown = countdown_seconds() if idle_countdown is None else idle_countdown
        #: the schedule's bands, as last read
        self._bands: list[Band] = []
        #: "when the queue is done": armed while the setting says to do something
        self.idle_watch = IdleWatch(queue)
        self.countdown: CountdownDialog | None = None
        #: what the last on-idle action said (shown in the status bar too)
        self.idle_result: str | None = None
        #: one fetcher (and its disk cache and request bound) for the table and imports
        self.fetcher = thumbnails if thumbnails is not None else ThumbnailFetcher()
        self.import_dialog: ImportDialog | None = None
        self._quitting = False
        self.settings = settings or Settings(default_folder=default_folder)
        self._apply_settings = apply_settings
        self.default_folder = default_folder
        self.poll_interval = poll_interval
        self.setWindowTitle("drayman")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1100, 640)
        self._tasks = BackgroundTasks(self._command_done)
        self._reload = asyncio.Event()
        self._reload.set()
        self.last_error: str | None = None
        self.last_notification: str | None = None
        #: errors said while the window was hidden: their boxes open when it shows
        self.errors_waiting: list[str] = []
        self._batch_may_be_over = False
        #: jobs that ended since the last "finished" notice: the batch it sums up
        self._batch_done: set[int] = set()
        self._batch_failed: set[int] = set()
        #: what the engine told about a download this session (shown in its details)
        self.notes: dict[int, str] = {}

        self.model = JobsModel(self)
        self.proxy = JobsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        # unsorted until the user clicks a header: queue order, and no sort of
        # 100,000 rows through Python at start-up
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(self.table))
        # one line per row, all rows the same height: readable, and the view
        # never measures 100,000 rows
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        row_height = self.fontMetrics().height() + 10
        rows.setDefaultSectionSize(row_height)
        # media jobs show a small picture, fetched when its row is painted
        thumb_height = row_height - 4
        self.thumbs = ThumbnailImages(
            self.fetcher, QtCore.QSize(thumb_height * 16 // 9, thumb_height), self
        )
        self.thumbs.ready.connect(self.model.thumbnails_ready)
        self.table.setItemDelegateForColumn(
            Column.THUMB, ThumbnailDelegate(self.thumbs, self.table)
        )
        self.table.setColumnHidden(Column.THUMB, True)
        self.table.setColumnHidden(Column.PRIORITY, True)  # until a job has a priority
        self.table.setAlternatingRowColors(True)
        self._size_columns()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._show_details)
        self.table.selectionModel().selectionChanged.connect(self._enable_actions)
        # double-click or Enter: a done file opens, any other row shows its details
        self.table.activated.connect(self._activated)

        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText(self.tr("Search name or URL"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.group = QtWidgets.QComboBox()
        for key, label in (
            ("all", self.tr("All")),
            ("active", self.tr("Active")),
            ("queued", self.tr("Queued")),
            ("paused", self.tr("Paused")),
            ("done", self.tr("Done")),
            ("failed", self.tr("Failed")),
        ):
            self.group.addItem(label, key)
        self.group.currentIndexChanged.connect(
            lambda _: self.proxy.set_group(str(self.group.currentData()))
        )

        self.details = QtWidgets.QLabel()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.sparkline = Sparkline()
        #: the last minute of each download's speed (the most recent ones), and the total's
        self.speed_history: collections.OrderedDict[int, collections.deque[float]] = (
            collections.OrderedDict()
        )
        self.total_history: collections.deque[float] = collections.deque(
            maxlen=self.sparkline.samples.maxlen
        )
        details_box = QtWidgets.QWidget()
        details_layout = QtWidgets.QVBoxLayout(details_box)
        details_layout.addWidget(self.details, 1)
        details_layout.addWidget(self.sparkline)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.group)
        self.splitter = splitter = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(details_box)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.addLayout(top)
        layout.addWidget(splitter)
        self.setCentralWidget(central)

        # an empty list says how to start; a filter that hides everything says so
        self.empty_hint = QtWidgets.QLabel()
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        hint_font = self.empty_hint.font()
        hint_font.setPointSizeF(hint_font.pointSizeF() * 1.25)
        self.empty_hint.setFont(hint_font)
        self.empty_hint.setStyleSheet("color: palette(placeholder-text)")
        QtWidgets.QVBoxLayout(self.table.viewport()).addWidget(self.empty_hint)

        # the table has the focus at start: Ctrl+V then pastes URLs (the
        # search box would take it, and filter every download out of sight)
        self.table.setFocus()

        # an active filter stays in sight, with its way out
        self.filter_chip = QtWidgets.QToolButton()
        self.filter_chip.setAutoRaise(True)
        self.filter_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.filter_chip.setToolTip(self.tr("Show every download"))
        self.filter_chip.clicked.connect(self.clear_filter)
        self.filter_chip.hide()
        self.search.textChanged.connect(self._show_filter)
        self.group.currentIndexChanged.connect(self._show_filter)
        self.proxy.rowsInserted.connect(self._show_filter)
        self.proxy.rowsRemoved.connect(self._show_filter)
        self.proxy.modelReset.connect(self._show_filter)
        self.proxy.layoutChanged.connect(self._show_filter)

        self.speed_label = QtWidgets.QLabel()
        self.counts_label = QtWidgets.QLabel()
        # the failed count is a link to the failed rows
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.linkActivated.connect(self.show_group)
        self.engine_label = QtWidgets.QLabel(engine_note)
        self.schedule_label = QtWidgets.QLabel()
        status = self.statusBar()
        status.addWidget(self.speed_label)
        status.addWidget(self.counts_label, 1)
        status.addPermanentWidget(self.schedule_label)
        status.addPermanentWidget(self.filter_chip)
        status.addPermanentWidget(self.engine_label)
        self.model.countsChanged.connect(self._show_counts)
        self.model.countsChanged.connect(self._show_thumbnail_column)
        self._make_actions()
        self._show_filter()
        self.tray_menu = self._make_tray_menu()
        self.tray: QtWidgets.QSystemTrayIcon | None = None
        #: whether the user was told that downloads go on in the tray
        self.told_about_tray = False
        if QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QtWidgets.QSystemTrayIcon(app_icon(), self)
            self.tray.setToolTip("drayman")
            self.tray.setContextMenu(self.tray_menu)
            self.tray.activated.connect(self._tray_activated)
            self.tray.messageClicked.connect(self._tray_message_clicked)
            self.tray.show()
        #: links copied and not in the queue, offered until clicked or replaced
        self.clipboard_offer: list[str] = []
        #: the tray's last message is the offer (a click on it opens the Add dialog)
        self._offer_in_tray = False
        self.offer_button = QtWidgets.QToolButton()
        self.offer_button.setAutoRaise(True)
        self.offer_button.clicked.connect(self.accept_clipboard_offer)
        self.offer_button.hide()
        self.statusBar().addPermanentWidget(self.offer_button)
        self.clipboard = ClipboardWatch(
            QtWidgets.QApplication.clipboard(), self.queue.urls_in_queue, self.run, self
        )
        self.clipboard.offered.connect(self.offer_links)
        self.clipboard.set_enabled(self.settings.clipboard_watch)

    def _make_tray_menu(self) -> QtWidgets.QMenu:
        """The tray icon's right-click menu: the way back, and the whole queue's switches."""
        menu = QtWidgets.QMenu(self)
        show = menu.addAction(self.tr("Show drayman"))
        show.triggered.connect(lambda _=False: self._bring_back())
        menu.setDefaultAction(show)
        menu.addSeparator()
        menu.addAction(self.pause_all_action)
        menu.addAction(self.resume_all_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        return menu

    def _tray_activated(self, reason: QtWidgets.QSystemTrayIcon.ActivationReason) -> None:
        # a left click (or double click) toggles; the right click opens the menu itself
        if reason in (
            QtWidgets.QSystemTrayIcon.ActivationReason.Trigger,
            QtWidgets.QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            if self.isVisible() and not self.isMinimized():
                self.hide()
            else:
                self._bring_back()

    # -- actions ---------------------------------------------------------------------

    def _action(
        self,
        text: str,
        shortcut: str | QtGui.QKeySequence.StandardKey | None,
        handler: Callable[[], object],
        *,
        toolbar: bool = True,
        context: bool = True,
    ) -> QtGui.QAction:
        # ``context``: kept for the call sites' readability; the context menu
        # is built in _context_menu, file actions first
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: handler())
        if toolbar:
            self.toolbar.addAction(action)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        self.toolbar = self.addToolBar(self.tr("Downloads"))
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_action = self._action(
            self.tr("Add…"), "Ctrl+N", self.open_add_dialog, context=False
        )
        self.import_action = self._action(
            self.tr("Import…"), "Ctrl+I", self.choose_import_file, context=False
        )
        self.page_action = self._action(
            self.tr("Import from a page…"),
            "Ctrl+Shift+I",
            lambda: self.open_page_import(),
            toolbar=False,
            context=False,
        )
        self.pause_action = self._action(self.tr("Pause"), "Ctrl+P", self.pause_selected)
        self.resume_action = self._action(self.tr("Resume"), "Ctrl+R", self.resume_selected)
        self.retry_action = self._action(self.tr("Retry"), None, self.retry_selected)
        self.remove_action = self._action(self.tr("Remove…"), "Del", self.remove_selected)
        self.up_action = self._action(
            self.tr("Move up"), "Ctrl+Up", lambda: self._prioritize(+1), toolbar=False
        )
        self.down_action = self._action(
            self.tr("Move down"), "Ctrl+Down", lambda: self._prioritize(-1), toolbar=False
        )
        self.toolbar.addSeparator()
        self.pause_all_action = self._action(
            self.tr("Pause all"), None, lambda: self.run(self.queue.pause_all()), context=False
        )
        self.resume_all_action = self._action(
            self.tr("Resume all"), None, lambda: self.run(self.queue.resume_all()), context=False
        )
        self.open_action = self._action(self.tr("Open file"), None, self.open_file, toolbar=False)
        self.folder_action = self._action(
            self.tr("Open folder"), None, self.open_folder, toolbar=False
        )
        self.copy_action = self._action(
            self.tr("Copy URL"), QtGui.QKeySequence.StandardKey.Copy, self.copy_urls, toolbar=False
        )
        # Space toggles, as in every download manager; only while the table
        # has the focus, so the search box still takes spaces
        self.toggle_action = QtGui.QAction(self.tr("Pause or resume"), self.table)
        self.toggle_action.setShortcut(QtGui.QKeySequence(Qt.Key.Key_Space))
        self.toggle_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.toggle_action.triggered.connect(lambda _=False: self.toggle_selected())
        self.table.addAction(self.toggle_action)
        self.remove_finished_action = self._action(
            self.tr("Remove finished"), None, self.remove_finished, toolbar=False, context=False
        )
        self.settings_action = self._action(
            self.tr("Settings…"), "Ctrl+,", self.open_settings, context=False
        )
        self.paste_action = self._action(
            self.tr("Paste URLs"),
            QtGui.QKeySequence.StandardKey.Paste,
            self.paste_urls,
            toolbar=False,
            context=False,
        )
        self.quit_action = self._action(
            self.tr("Quit"),
            QtGui.QKeySequence.StandardKey.Quit,
            self.quit,
            toolbar=False,
            context=False,
        )
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        file_menu.addAction(self.add_action)
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.page_action)
        file_menu.addAction(self.paste_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        jobs_menu = self.menuBar().addMenu(self.tr("&Downloads"))
        for action in (
            self.pause_action,
            self.resume_action,
            self.retry_action,
            self.remove_action,
            self.up_action,
            self.down_action,
        ):
            jobs_menu.addAction(action)
        jobs_menu.addSeparator()
        for action in (
            self.pause_all_action,
            self.resume_all_action,
            self.remove_finished_action,
        ):
            jobs_menu.addAction(action)
        jobs_menu.addSeparator()
        for action in (self.open_action, self.folder_action, self.copy_action):
            jobs_menu.addAction(action)
        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.about_action = help_menu.addAction(self.tr("About drayman"))
        self.about_action.triggered.connect(lambda _=False: self.show_about())
        for action, icon in (
            (self.add_action, "add"),
            (self.import_action, "import"),
            (self.pause_action, "pause"),
            (self.resume_action, "resume"),
            (self.retry_action, "retry"),
            (self.remove_action, "remove"),
            (self.pause_all_action, "pause"),
            (self.resume_all_action, "resume"),
            (self.settings_action, "settings"),
            (self.open_action, "open"),
            (self.folder_action, "folder"),
        ):
            action.setIcon(action_icon(icon))
        self._enable_actions()

    def show_about(self) -> QtWidgets.QMessageBox:
        """Help → About: what drayman is, its version, where its database and log are."""
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle(self.tr("About drayman"))
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setText(f"<b>drayman {_escape(__version__)}</b>")
        box.setInformativeText(
            self.tr(
                "A download manager that never loses work: every download resumes after a "
                "pause, a crash or a lost connection.\n\nDatabase: {0}"
            ).format(self.queue.db_path)
        )
        box.setStandardButtons(QtWidgets.QMessageBox.StandardButton.Close)
        box.open()
        return box

    def context_menu(self) -> QtWidgets.QMenu:
        """The table's right-click menu: the file first, then the job."""
        menu = QtWidgets.QMenu(self)
        for group in (
            (self.open_action, self.folder_action, self.copy_action),
            (self.pause_action, self.resume_action, self.retry_action),
            (self.up_action, self.down_action),
            (self.remove_action,),
        ):
            if not menu.isEmpty():
                menu.addSeparator()
            menu.addActions(list(group))
        return menu

    def _context_menu(self, position: QtCore.QPoint) -> None:
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _enable_actions(self, *_: object) -> None:
        """Only what makes sense for the selection can be clicked (no Pause on a done row)."""
        jobs = self._selected_jobs()
        states = {job.state for job in jobs}
        self.pause_action.setEnabled(bool(states & {JobState.QUEUED, JobState.RUNNING}))
        self.resume_action.setEnabled(JobState.PAUSED in states)
        self.retry_action.setEnabled(JobState.FAILED in states)
        self.open_action.setEnabled(
            any(job.state == JobState.DONE and job.final_path for job in jobs)
        )
        for action in (
            self.remove_action,
            self.up_action,
            self.down_action,
            self.folder_action,
            self.copy_action,
        ):
            action.setEnabled(bool(jobs))
        self.toggle_action.setEnabled(
            bool(states & {JobState.QUEUED, JobState.RUNNING, JobState.PAUSED})
        )

    def quit(self) -> None:
        """Close for good, even when closing normally keeps downloading in the tray."""
        self._quitting = True
        self.close()

    def selected_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        return sorted({int(index.data(JobIdRole)) for index in rows})

    def pause_selected(self) -> None:
        self._on_selection(self.queue.pause, {JobState.QUEUED, JobState.RUNNING})

    def resume_selected(self) -> None:
        self._on_selection(self.queue.resume, {JobState.PAUSED})

    def retry_selected(self) -> None:
        self._on_selection(self.queue.retry, {JobState.FAILED})

    def _on_selection(
        self, command: Callable[[list[int]], Awaitable[Any]], states: set[JobState]
    ) -> None:
        # a mixed selection acts on the jobs the command applies to
        ids = [i for i in self.selected_ids() if (job := self.model.job(i)) and job.state in states]
        if ids:
            self.run(command(ids))

    def toggle_selected(self) -> None:
        """Space: pause what runs or waits, resume what is paused."""
        jobs = self._selected_jobs()
        active = [j.id for j in jobs if j.state in (JobState.QUEUED, JobState.RUNNING)]
        if active:
            self.run(self.queue.pause(active))
        else:
            paused = [j.id for j in jobs if j.state == JobState.PAUSED]
            if paused:
                self.run(self.queue.resume(paused))

    def remove_finished(self) -> None:
        """Take the done downloads off the list; their files stay."""
        done = [self.model.job_at(row) for row in range(self.model.rowCount())]
        ids = [job.id for job in done if job.state == JobState.DONE]
        if ids:
            self.run(self.queue.remove(ids))

    def _activated(self, index: QtCore.QModelIndex) -> None:
        job = self.model.job(int(index.data(JobIdRole)))
        if job is None:
            return
        if job.state == JobState.DONE and job.final_path:
            self.open_file()
            return
        sizes = self.splitter.sizes()
        if len(sizes) == 2 and sizes[1] == 0:  # the details pane was dragged shut
            self.splitter.setSizes([sizes[0] * 3 // 4, sizes[0] // 4])
        self._show_details()

    def _prioritize(self, delta: int) -> None:
        ids = self.selected_ids()
        if ids:
            self.run(self.queue.prioritize(ids, delta))

    def remove_question(self, jobs: list[Job]) -> tuple[str, str]:
        """The remove prompt's question and its check box, naming what goes."""
        if len(jobs) == 1:
            return (
                self.tr("Remove “{0}” from the list?").format(row_name(jobs[0])),
                self.tr("Also delete its file"),
            )
        return (
            self.tr("Remove %n downloads from the list?", "", len(jobs)),
            self.tr("Also delete their files"),
        )

    def remove_selected(self) -> None:
        jobs = self._selected_jobs()
        if not jobs:
            return
        question, also = self.remove_question(jobs)
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Remove downloads"))
        box.setText(question)
        box.setInformativeText(self.tr("Files stay on the disk unless you tick the box."))
        # wide enough for its title and a long name (a narrow box had them cut)
        box.setStyleSheet("QLabel#qt_msgbox_label { min-width: 26em; }")
        delete = QtWidgets.QCheckBox(also)
        box.setCheckBox(delete)
        box.setStandardButtons(
            QtWidgets.QMessageBox.StandardButton.Ok | QtWidgets.QMessageBox.StandardButton.Cancel
        )
        ids = [job.id for job in jobs]
        if box.exec() == QtWidgets.QMessageBox.StandardButton.Ok:
            self.run(self.queue.remove(ids, delete_files=delete.isChecked()))

    def open_add_dialog(self, urls: str = "") -> AddDialog:
        dialog = AddDialog(
            self, folder=self.default_folder, urls=urls, downloads=self.downloads_folder
        )
        dialog.accepted.connect(lambda: self._add(dialog.value))
        dialog.open()
        return dialog

    def _add(self, request: AddRequest | None) -> None:
        if request is not None:
            self.run(self._add_request(request))

    async def _add_request(self, request: AddRequest) -> None:
        already = await self.queue.urls_in_queue(request.urls)
        await self.queue.add(
            request.urls,
            dest_dir=request.folder,
            name=request.name,
            headers=request.headers,
            sha256=request.sha256,
            insecure=request.insecure,
            sort_by_type=request.sort_by_type,
            ignore_schedule=request.ignore_schedule,
        )
        self.remember_folder(request.folder)
        if already:
            # added again, as asked; but never without a word
            self.notify(
                self.tr("Already in the list, added again: {0}").format(", ".join(sorted(already)))
            )

    def remember_folder(self, folder: str) -> None:
        """A folder that took downloads is the next default, kept in the settings."""
        if folder and folder != self.default_folder:
            self._settings_chosen(dataclasses.replace(self.settings, default_folder=folder))

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self, categories=self.categories)
        dialog.accepted.connect(lambda: self._settings_chosen(dialog.value))
        dialog.accepted.connect(lambda: self._categories_chosen(dialog.categories))
        dialog.accepted.connect(lambda: self._schedule_chosen(dialog))
        self.run(self._load_schedule(dialog))
        dialog.open()
        return dialog

    def _categories_chosen(self, categories: Categories | None) -> None:
        if categories is None or categories == self.categories:
            return
        self.categories = categories
        self.run(self.queue.set_categories(categories))

    async def _load_categories(self) -> None:
        try:
            self.categories = await self.queue.categories()
        except InvalidCategory as exc:
            # a hand-edited table: the tab stays away rather than overwrite it
            log.warning("the categories cannot be shown: %s", exc)

    async def _load_schedule(self, dialog: SettingsDialog) -> None:
        bands = await self.queue.schedules()
        if not dialog.result():  # still open: accepted or cancelled, it is too late
            dialog.schedule.set_bands(bands)

    def _schedule_chosen(self, dialog: SettingsDialog) -> None:
        if dialog.schedule.loaded:
            self.run(self._save_schedule(dialog.schedule.bands()))

    async def _save_schedule(self, bands: list[Band]) -> None:
        """Write what the Schedule tab changed: bands removed, bands added."""
        kept = {band.id for band in bands if band.id}
        for band in await self.queue.schedules():
            if band.id not in kept:
                await self.queue.remove_schedule(band.id)
        for band in bands:
            if not band.id:
                await self.queue.add_schedule(band.spec, rate=band.rate)
        self._bands = await self.queue.schedules()
        self._show_schedule()

    def _settings_chosen(self, settings: Settings | None) -> None:
        if settings is None:
            return
        if settings.on_idle != self.settings.on_idle:
            self._arm_idle(settings.idle_action())
        self.settings = settings
        self.default_folder = settings.default_folder or self.default_folder
        self.clipboard.set_enabled(settings.clipboard_watch)
        if self._apply_settings is not None:
            self._apply_settings(settings)

    def _selected_jobs(self) -> list[Job]:
        return [job for i in self.selected_ids() if (job := self.model.job(i)) is not None]

    def open_file(self) -> None:
        for job in self._selected_jobs():
            if job.state == JobState.DONE and job.final_path:
                QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(job.final_path))

    def open_folder(self) -> None:
        for folder in {job.dest_dir for job in self._selected_jobs()}:
            QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(folder))

    def copy_urls(self) -> None:
        urls = [job.url for job in self._selected_jobs()]
        if urls:
            QtWidgets.QApplication.clipboard().setText("\n".join(urls))

    def paste_urls(self) -> None:
        text = QtWidgets.QApplication.clipboard().text()
        if text.strip():
            self.run(self.import_text(text, self.tr("Pasted text")))

    def receive_urls(self, urls: list[str]) -> None:
        """Another start of drayman (a second window, a browser's link) asks for the window."""
        self._bring_back()
        text = "\n".join(url for url in urls if url.strip())
        if text:
            self.run(self.import_text(text, self.tr("Links given to drayman")))

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasText():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        data = event.mimeData()
        lines = []
        for url in data.urls():
            if not url.isLocalFile():
                lines.append(url.toString())
                continue
            path = url.toLocalFile()
            if path.lower().endswith(LIST_EXTENSIONS):
                self.import_file(path)
            else:
                self.show_error(
                    self.tr("{0} is not a list of downloads (.txt, .json, .jsonl or .csv).").format(
                        os.path.basename(path)
                    )
                )
        if not data.hasUrls() and data.hasText():
            lines.append(data.text())
        if lines:
            self.run(self.import_text("\n".join(lines), self.tr("Dropped links")))
        event.acceptProposedAction()

    # -- imports ----------------------------------------------------------------------

    def choose_import_file(self) -> QtWidgets.QFileDialog:
        """File → Import…: pick a list, then see its preview."""
        dialog = QtWidgets.QFileDialog(self, self.tr("Import a list of downloads"))
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(
            [
                self.tr("Lists of downloads (*.txt *.json *.jsonl *.ndjson *.csv)"),
                self.tr("All files (*)"),
            ]
        )
        dialog.fileSelected.connect(self.import_file)
        dialog.open()
        return dialog

    def import_file(self, path: str) -> asyncio.Task[Any]:
        """Read and parse ``path`` in a worker thread, then open its preview."""
        return self.run(self._import_file(path))

    async def _import_file(self, path: str) -> None:
        result = await asyncio.to_thread(read_list_file, path)
        self.open_import_dialog(result, os.path.basename(path))

    async def import_text(self, text: str, source: str) -> None:
        """Pasted or dropped text: one plain URL goes to the Add dialog, more to the preview.

        One URL has nothing to choose from, and the Add dialog has what only
        a single download takes (a file name, a checksum). Two or more, or a
        JSON or CSV list (titles, thumbnails), are a batch: the preview shows
        duplicates and target names, and lets the user untick some.
        """
        result = await asyncio.to_thread(parse_import, text, source=source)
        plain = len(result.entries) == 1 and not result.bad and result.entries[0].title is None
        if not result.entries or plain:
            self.open_add_dialog(text)  # it says what is wrong with the text, if anything
        else:
            self.open_import_dialog(result, source)

    def open_page_import(self, url: str = "") -> ImportDialog | None:
        """File → Import from a page…: the preview, empty, filled by what the page holds."""
        dialog = self.open_import_dialog(ImportResult(), self.tr("Page"), empty=True)
        if dialog is not None:
            dialog.page.setFocus()
            if url:
                dialog.resolve_page(url)
        return dialog

    def open_import_dialog(
        self, result: ImportResult, source: str, *, empty: bool = False
    ) -> ImportDialog | None:
        if not result.entries and not empty:
            lines = [str(bad) for bad in result.bad[:5]]
            if len(result.bad) > 5:
                lines.append(self.tr("… and %n more", "", len(result.bad) - 5))
            self.show_error(
                self.tr("{0}: nothing to import.").format(source) + "\n\n" + "\n".join(lines)
            )
            return None
        # the media template (author, title) is for lists that carry those
        # fields; plain URLs are named by their server, in the folder itself
        media = any(entry.title or entry.author for entry in result.entries)
        dialog = ImportDialog(
            self.queue,
            self.fetcher,
            result,
            source=source,
            folder=self.default_folder,
            template=self.settings.import_template if media else "",
            parent=self,
            # read now, when a page is resolved: Settings may have changed since
            page_proxy=lambda: self.settings.page_proxy(),
        )
        dialog.added.connect(lambda _: self._imported(dialog))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda: self._forget_import(dialog))
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def _forget_import(self, dialog: ImportDialog) -> None:
        # only that one: a newer preview may have opened before it went away
        if self.import_dialog is dialog:
            self.import_dialog = None

    def stop_thumbnails(self) -> None:
        """Cancel every thumbnail still on its way (the window is closing)."""
        self.thumbs.cancel()
        dialog = self.import_dialog
        if dialog is not None:
            with contextlib.suppress(RuntimeError):  # already deleted by Qt
                dialog.images.cancel()

    async def settle(self) -> None:
        """Close the preview, if one is open, and return once no thumbnail task
        (the table's or the preview's) nor any task of the preview runs: the
        window is going away, and the database with it."""
        dialog = self.import_dialog
        if dialog is not None:
            await dialog.shut()
        await self.thumbs.wait()

    def _imported(self, dialog: ImportDialog) -> None:
        """The folder and template used last are the next defaults."""
        folder = dialog.folder.text().strip()
        # a list of plain URLs has no template: the media one stays for the next list
        template = dialog.template.text().strip() or self.settings.import_template
        if folder != self.default_folder or template != self.settings.import_template:
            self._settings_chosen(
                dataclasses.replace(self.settings, default_folder=folder, import_template=template)
            )
        self._reload.set()

    # -- running commands and reading the table ---------------------------------------

    def run(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run a command on the loop; expected errors become a message box."""
        return self._tasks.start(coroutine)

    def _command_done(self, task: asyncio.Task[Any]) -> None:
        self._reload.set()
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        if isinstance(error, DraymanError):
            self.show_error(str(error))
        else:
            log.error("unexpected error", exc_info=error)
            self.show_error(
                self.tr("Something went wrong: {0}. Details are in the log.").format(
                    type(error).__name__
                )
            )

    def show_error(self, message: str) -> None:
        """A message box on the window. While the window is hidden (in the tray, or
        not shown yet) the box waits for it, and the tray says it at once."""
        self.last_error = message
        if self.isVisible():
            self._open_box(message)
            return
        self.errors_waiting.append(message)
        # the window may be about to show (the start): decide once this turn is over
        QtCore.QTimer.singleShot(0, self, self._tell_while_hidden)

    def _tell_while_hidden(self) -> None:
        if self.isVisible() or not self.errors_waiting:
            return  # shown meanwhile: showEvent opened the boxes
        message = self.errors_waiting[-1]
        self.statusBar().showMessage(message, 15_000)
        if self.tray is not None:
            self.last_notification = message
            self.tray.showMessage(
                "drayman", message, QtWidgets.QSystemTrayIcon.MessageIcon.Warning, 15_000
            )

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        status = self.statusBar()
        message = status.currentMessage()
        if message:
            # said while hidden: Qt hid none of the labels under it (they were not
            # visible then), and they would show through it; said again, it hides them
            status.clearMessage()
            status.showMessage(message, 15_000)
        waiting, self.errors_waiting = self.errors_waiting, []
        for message in waiting:
            self._open_box(message)

    def _open_box(self, message: str) -> None:
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Warning,
            "drayman",
            message,
            QtWidgets.QMessageBox.StandardButton.Ok,
            self,
        )
        box.open()

    def request_reload(self) -> None:
        self._reload.set()

    async def watch(self) -> None:
        """Reload the table whenever it changed, here or in another process."""
        seen = -1
        queue = self.queue
        self.thumbs.rules = await self.queue.rules()  # their headers go to thumbnails too
        await self._load_categories()
        # paint the head of a long queue at once; the rest follows below
        self.model.set_jobs(await queue.first_jobs(FIRST_PAGE))
        if self.settings.idle_action().kind != "nothing":
            await self.idle_watch.arm()
        since: float | None = None
        while True:
            version = await queue.data_version()
            if self._reload.is_set() or version != seen:
                self._reload.clear()
                seen = version
                since = await self._refresh(since)
                self._bands = await self.queue.schedules()
                self._show_details()
                self._enable_actions()
                self._check_batch_over()
            self._show_schedule()
            done = await self.idle_watch.check()
            if done is not None:
                self.queue_done(done)
            try:
                async with asyncio.timeout(self.poll_interval):
                    await self._reload.wait()
            except TimeoutError:
                pass

    async def _refresh(self, since: float | None) -> float:
        """Read what changed since ``since`` (everything the first time, or when
        rows were removed); return the time to read from next."""
        queue = self.queue
        started = time.time()
        if since is not None:
            changed = await queue.jobs_updated_since(since - 1.0)  # clocks of other processes
            self.model.update_jobs(changed)
            if self.model.rowCount() == await queue.count():
                return started
        self.model.set_jobs(await self.queue.jobs())
        return started

    def apply_progress(self, snapshot: EngineSnapshot) -> None:
        self.model.apply_progress(snapshot)
        if any(change.state == JobState.RUNNING for change in snapshot.changes):
            self.idle_watch.note_work()
        if snapshot.changes:
            self._reload.set()
            self._notify_changes(snapshot)
        speed = self.tr("Speed: {0}/s").format(human_size(snapshot.total_speed))
        self.speed_label.setText(speed)
        if self.tray is not None:
            self.tray.setToolTip(f"drayman — {speed}")
        self._record_speeds(snapshot)
        self._show_sparkline()

    def _record_speeds(self, snapshot: EngineSnapshot) -> None:
        self.total_history.append(snapshot.total_speed)
        for progress in snapshot.active:
            history = self.speed_history.pop(progress.job_id, None)
            if history is None:
                history = collections.deque(maxlen=self.sparkline.samples.maxlen)
            history.append(progress.speed)
            self.speed_history[progress.job_id] = history  # most recent last
        while len(self.speed_history) > SPEED_HISTORIES:
            self.speed_history.popitem(last=False)

    def _show_sparkline(self) -> None:
        """One download's own speed when one is selected, else the total, named as such."""
        ids = self.selected_ids()
        job = self.model.job(ids[0]) if len(ids) == 1 else None
        if job is None:
            self.sparkline.show_samples(self.tr("Total speed"), self.total_history)
        else:
            self.sparkline.show_samples(
                self.tr("Speed of {0}").format(row_name(job)),
                self.speed_history.get(job.id, ()),
            )

    def _notify_changes(self, snapshot: EngineSnapshot) -> None:
        for change in snapshot.changes:
            if change.note:
                # lost progress and the like: said as it happens, kept in the details
                job = self.model.job(change.job_id)
                name = row_name(job) if job else change.name or str(change.job_id)
                self.notes[change.job_id] = note = error_text(change.note)
                self.notify(f"{name}: {note}")
            if change.state == JobState.FAILED:
                job = self.model.job(change.job_id)
                name = row_name(job) if job else str(change.job_id)
                self.notify(self.tr("{0} failed: {1}").format(name, error_text(change.error)))
        for change in snapshot.changes:
            if change.state == JobState.DONE:
                self._batch_done.add(change.job_id)
                self._batch_failed.discard(change.job_id)
            elif change.state == JobState.FAILED:
                self._batch_failed.add(change.job_id)
                self._batch_done.discard(change.job_id)
        if any(c.state in (JobState.DONE, JobState.FAILED) for c in snapshot.changes):
            # decided after the next reload, when the table shows the end states
            self._batch_may_be_over = True

    def _check_batch_over(self) -> None:
        counts = self.model.counts()
        if self._batch_may_be_over and not counts[JobState.QUEUED] and not counts[JobState.RUNNING]:
            self.notify(self.batch_summary(len(self._batch_done), len(self._batch_failed)))
            self._batch_done.clear()
            self._batch_failed.clear()
        self._batch_may_be_over = False

    def batch_summary(self, done: int, failed: int) -> str:
        """The end of a batch in words: what came, and what did not."""
        if not failed:
            return self.tr("All downloads have finished: %n done.", "", done)
        return self.tr("Downloads have finished: {0} done, {1} failed.").format(done, failed)

    def show_group(self, group: str) -> None:
        """Filter the table to one state group ("failed", ...), as the combo box does."""
        index = self.group.findData(group)
        if index >= 0:
            self.group.setCurrentIndex(index)

    # -- the schedule, and when the queue is done -----------------------------------------

    def _show_schedule(self) -> None:
        state = state_at(self._bands, self._clock(), self._zone)
        if state.paused:
            until = state.until_text(self._zone, self._clock())
            text = self.tr("quiet hours until {0}").format(until)
        elif state.limit:
            text = self.tr("schedule: {0}/s").format(human_size(state.limit))
        else:
            text = ""
        if self.schedule_label.text() != text:
            self.schedule_label.setText(text)

    def _arm_idle(self, action: IdleAction) -> None:
        if action.kind == "nothing":
            self.idle_watch.disarm()
        else:
            self.run(self.idle_watch.arm())

    def queue_done(self, done: QueueDone) -> None:
        """Do what Settings say for a queue that is done (sleep and shut down after a
        countdown with Cancel)."""
        action = self.settings.idle_action()
        if action.kind == NOTIFY:
            self.idle_result = summary(done.files, done.failed)
            self.notify(self.idle_result)
        elif action.kind in (OPEN, COMMAND):
            self.run(self._perform(action, done))
        elif action.needs_countdown:
            if self.countdown is not None:
                return  # one countdown at a time
            self.countdown = CountdownDialog(action, self.idle_countdown, self)
            self.countdown.elapsed.connect(lambda: self.run(self._perform(action, done)))
            self.countdown.finished.connect(self._countdown_over)
            self.countdown.open()

    def _countdown_over(self, *_: object) -> None:
        if self.countdown is not None:
            self.countdown.deleteLater()
        self.countdown = None

    async def _perform(self, action: IdleAction, done: QueueDone) -> None:
        import subprocess

        try:
            line = await asyncio.to_thread(perform, action, done.files, done.failed, None)
        except (OSError, subprocess.SubprocessError) as exc:
            self.idle_result = self.tr("When the queue is done: {0} failed: {1}").format(
                action.text, exc
            )
            self.show_error(self.idle_result)
            return
        self.idle_result = line
        self.statusBar().showMessage(line, 15_000)

    def _bring_back(self, *_: object) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def hide_to_tray(self) -> None:
        """Hide the window; downloads go on, and the first time the user is told where."""
        self.hide()
        if self.told_about_tray:
            return
        self.told_about_tray = True
        message = self.tr(
            "drayman keeps downloading in the tray. Click its icon to bring the window "
            "back; right-click it to quit."
        )
        self.last_notification = message
        if self.tray is not None:
            self.tray.showMessage("drayman", message, app_icon(), 10_000)

    def notify(self, message: str) -> None:
        """A notification (tray balloon where there is a tray) and the status bar."""
        self.last_notification = message
        self.statusBar().showMessage(message, 15_000)
        if self.tray is not None and self.settings.notifications:
            self.tray.showMessage("drayman", message)
            self._offer_in_tray = False

    # -- clipboard watch --------------------------------------------------------------------

    def offer_links(self, urls: list[str]) -> None:
        """Offer copied links: a tray message and a status-bar button; a click adds nothing
        yet, it opens the Add dialog with them."""
        self.clipboard_offer = list(urls)
        text = self.tr("Add {0} copied link(s)…").format(len(urls))
        self.offer_button.setText(text)
        self.offer_button.setToolTip("\n".join(urls[:20]))
        self.offer_button.show()
        self.last_notification = text
        if self.tray is not None:
            self.tray.showMessage(
                "drayman", self.tr("{0} — click to add them").format(text), app_icon(), 10_000
            )
            self._offer_in_tray = True

    def accept_clipboard_offer(self) -> AddDialog | None:
        urls, self.clipboard_offer = self.clipboard_offer, []
        self.offer_button.hide()
        self._offer_in_tray = False
        if not urls:
            return None
        self._bring_back()
        return self.open_add_dialog("\n".join(urls))

    def _tray_message_clicked(self) -> None:
        if self._offer_in_tray:
            self.accept_clipboard_offer()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.tray is not None and self.settings.close_to_tray and not self._quitting:
            self.hide_to_tray()  # downloads go on; the tray icon brings the window back
            event.ignore()
            return
        self.stop_thumbnails()
        super().closeEvent(event)

    # -- status and details -----------------------------------------------------------------

    def filter_text(self) -> str:
        """What the search box and the state filter hide, in words ("" when nothing)."""
        parts = []
        text = self.search.text().strip()
        if text:
            parts.append(f"“{text}”")
        if self.group.currentData() != "all":
            parts.append(self.group.currentText())
        if not parts:
            return ""
        return self.tr("filter: {0} · {1} of {2} shown").format(
            ", ".join(parts), self.proxy.rowCount(), self.model.rowCount()
        )

    def _show_filter(self, *_: object) -> None:
        text = self.filter_text()
        self.filter_chip.setText(f"{text}  ✕" if text else "")
        self.filter_chip.setVisible(bool(text))
        if self.proxy.rowCount():
            self.empty_hint.hide()
            return
        if self.model.rowCount():
            self.empty_hint.setText(self.tr("No download matches the filter."))
        else:
            self.empty_hint.setText(
                self.tr("Paste a link (Ctrl+V), drop one here, or click Add to start.")
            )
        self.empty_hint.show()

    def clear_filter(self) -> None:
        """Show every download again: no search text, every state."""
        self.search.clear()
        self.group.setCurrentIndex(0)
        self.table.setFocus()

    def _size_columns(self) -> None:
        """Name and error take the spare width; the rest fit what they show.

        Widths come from the font, never from measuring rows (a queue of
        100,000 jobs would be read for it), and no column stretches into
        a horizontal scroll bar.
        """
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        metrics = self.fontMetrics()
        pad = 2 * self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_HeaderMargin) + 16

        def fit(*samples: str) -> int:
            return max(metrics.horizontalAdvance(text) for text in samples) + pad

        header_text = {c: str(self.model.headerData(c, Qt.Orientation.Horizontal)) for c in Column}
        states = [state_name(state) for state in JobState]
        widths = {
            Column.THUMB: self.thumbs.size.width() + 8,
            Column.SIZE: fit(header_text[Column.SIZE], "999.9 MiB"),
            Column.PROGRESS: fit(header_text[Column.PROGRESS], "100.0%") + 40,
            Column.SPEED: fit(header_text[Column.SPEED], "999.9 MiB/s"),
            Column.ETA: fit(header_text[Column.ETA], "99:59:59"),
            Column.STATE: fit(header_text[Column.STATE], *states) + 16,  # and its dot
            Column.FOLDER: fit(header_text[Column.FOLDER], "~/Downloads/Something"),
            # the date in full ("2026-11-25 17:54"): elided, it says nothing
            Column.ADDED: fit(header_text[Column.ADDED], "2026-12-31 23:59"),
            Column.PRIORITY: fit(header_text[Column.PRIORITY], "+99"),
        }
        for column, width in widths.items():
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)
        for column in (Column.NAME, Column.ATTEMPTS):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(metrics.horizontalAdvance("ETA") + pad // 2)

    def header_state(self) -> QtCore.QByteArray:
        """Column widths, order and sort, to keep between runs."""
        return self.table.horizontalHeader().saveState()

    def restore_header(self, state: QtCore.QByteArray | bytes | None) -> None:
        """Columns as the user left them; the thumbnail and priority columns
        still show only when some job has one."""
        header = self.table.horizontalHeader()
        if state and header.restoreState(QtCore.QByteArray(state)):
            header.setStretchLastSection(False)
            self._show_thumbnail_column()

    def _show_thumbnail_column(self, *_: object) -> None:
        for column, shown in (
            (Column.THUMB, self.model.has_thumbnails),
            (Column.PRIORITY, self.model.has_priorities),
        ):
            if self.table.isColumnHidden(column) == shown:
                self.table.setColumnHidden(column, not shown)

    def _show_counts(self, counts: dict[JobState, int]) -> None:
        failed = self.tr("failed {0}").format(counts[JobState.FAILED])
        if counts[JobState.FAILED]:
            # red, and a click away from the failed rows
            failed = (
                f'<a href="failed" style="color: {STATE_COLORS[JobState.FAILED]}; '
                f'font-weight: bold">{_escape(failed)}</a>'
            )
        self.counts_label.setText(
            self.tr("active {0} · queued {1} · paused {2} · done {3} · {4}").format(
                counts[JobState.RUNNING],
                counts[JobState.QUEUED],
                counts[JobState.PAUSED],
                counts[JobState.DONE],
                failed,
            )
        )

    def _show_details(self, *_: object) -> None:
        ids = self.selected_ids()
        job = self.model.job(ids[0]) if len(ids) == 1 else None
        if job is None:
            self.details.setText(self.tr("Select a download to see its details."))
            self._show_sparkline()
            return
        self._show_sparkline()
        rows = [
            (self.tr("URL"), job.url),
            (self.tr("File"), job.final_path or "—"),
            (self.tr("State"), state_name(job.state)),
            (self.tr("Size"), human_size(job.bytes_total)),
            (self.tr("ETag"), job.etag or "—"),
            (self.tr("Last-Modified"), job.last_modified or "—"),
            (self.tr("Attempts"), str(job.attempts)),
            (self.tr("Last error"), error_text(job.error) or "—"),
        ]
        if job.id in self.notes:
            rows.append((self.tr("Note"), self.notes[job.id]))
        html = "".join(f"<tr><td><b>{k}</b>&nbsp;</td><td>{_escape(v)}</td></tr>" for k, v in rows)
        self.details.setText(f"<table>{html}</table>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def default_folder() -> str:
    from drayman.inputs import default_download_dir

    return os.path.expanduser(default_download_dir())
