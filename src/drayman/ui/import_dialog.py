"""The import preview: a list of media with thumbnails; tick some, name them, add them in one go.

One model row per entry (a checkbox, the thumbnail, title, author, the target
path from the template, and what is already there), drawn by delegates: no
widget per row, and repaints batched a few times a second however fast
thumbnails arrive. Everything that waits — the plan of target paths (a
database read), the look at the disk for existing files, the free space, the
thumbnails — runs on the loop or in a worker thread; closing the dialog
cancels what is still pending. Confirming adds the ticked entries in one
transaction (:meth:`JobQueue.add_entries`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import shutil
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from drayman import pages, resolver
from drayman.batch import BadEntry, Entry, ImportResult, parse_import
from drayman.errors import BadInput, DraymanError
from drayman.inputs import check_writable_folder
from drayman.jobs import NewJob
from drayman.names import filename_from_url
from drayman.queue.jobqueue import JobQueue, expected_name, files_on_disk
from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.templates import FIELDS
from drayman.ui.jobs_model import ThumbnailRole
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets, Signal
from drayman.ui.table_model import BatchedTableModel
from drayman.ui.tasks import BackgroundTasks
from drayman.ui.thumbnails import ThumbnailImages
from drayman.ui.widgets import ThumbnailDelegate
from drayman.units import human_size

log = logging.getLogger(__name__)

#: the preview's thumbnail size (16:9)
THUMB_SIZE = QtCore.QSize(96, 54)
#: how long typing in the folder or template field waits before re-planning
REPLAN_MS = 150
#: how often entries of a page being resolved join the list
INCOMING_MS = 100

Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex


class Column(enum.IntEnum):
    CHECK = 0
    THUMB = enum.auto()
    TITLE = enum.auto()
    AUTHOR = enum.auto()
    TARGET = enum.auto()
    NOTE = enum.auto()


HEADERS = {
    Column.CHECK: QtCore.QT_TRANSLATE_NOOP("ImportModel", "#"),
    Column.THUMB: "",
    Column.TITLE: QtCore.QT_TRANSLATE_NOOP("ImportModel", "Title"),
    Column.AUTHOR: QtCore.QT_TRANSLATE_NOOP("ImportModel", "Author"),
    Column.TARGET: QtCore.QT_TRANSLATE_NOOP("ImportModel", "Saved as"),
    Column.NOTE: QtCore.QT_TRANSLATE_NOOP("ImportModel", "Already"),
}


class Mark(enum.Flag):
    NONE = 0
    #: a job already downloads this URL
    IN_QUEUE = enum.auto()
    #: the target file exists (the download would be named "… (1)")
    ON_DISK = enum.auto()
    #: an earlier entry of this list has the same URL
    REPEATED = enum.auto()


MARK_TEXT = {
    Mark.IN_QUEUE: QtCore.QT_TRANSLATE_NOOP("ImportModel", "in the queue"),
    Mark.ON_DISK: QtCore.QT_TRANSLATE_NOOP("ImportModel", "on disk"),
    Mark.REPEATED: QtCore.QT_TRANSLATE_NOOP("ImportModel", "twice in the list"),
}


NO_THUMBNAIL = QtCore.QT_TRANSLATE_NOOP("ImportModel", "No thumbnail")


def _tr(text: str) -> str:
    return QtCore.QCoreApplication.translate("ImportModel", text)


@dataclass
class Row:
    entry: Entry
    #: the entry's {index}: its place among the list's good entries
    number: int
    checked: bool = True
    #: ticked or unticked by the user (automatic choices leave it alone)
    touched: bool = False
    #: the target path relative to the folder, once planned
    target: str = ""
    full_path: str = ""
    marks: Mark = Mark.NONE

    @property
    def title(self) -> str:
        entry = self.entry
        return entry.title or entry.name or filename_from_url(entry.url) or entry.url


class ImportModel(BatchedTableModel):
    """The entries of one list, their check boxes, target paths and marks."""

    #: the number of ticked entries changed
    checkedChanged = Signal()

    def __init__(
        self,
        entries: Sequence[Entry],
        images: ThumbnailImages | None = None,
        parent: QtCore.QObject | None = None,
        *,
        refresh_hz: float = 4.0,
    ) -> None:
        super().__init__(Column, HEADERS, "ImportModel", parent, refresh_hz=refresh_hz)
        self.images = images
        self.rows: list[Row] = []
        seen: set[str] = set()
        for number, entry in enumerate(entries, start=1):
            row = Row(entry, number)
            if entry.url in seen:
                row.marks |= Mark.REPEATED
                row.checked = False
            seen.add(entry.url)
            self.rows.append(row)
        self._seen = seen
        self._rows_of_thumbnail: dict[str, list[int]] = {}
        for index, row in enumerate(self.rows):
            if row.entry.thumbnail:
                self._rows_of_thumbnail.setdefault(row.entry.thumbnail, []).append(index)

    # -- feeding ---------------------------------------------------------------

    def append(self, entries: Sequence[Entry]) -> None:
        """More entries at the end (a page being resolved streams them in)."""
        if not entries:
            return
        first = len(self.rows)
        self.beginInsertRows(QtCore.QModelIndex(), first, first + len(entries) - 1)
        for offset, entry in enumerate(entries):
            number = entry.index if entry.index is not None else first + offset + 1
            row = Row(entry, number)
            if entry.url in self._seen:
                row.marks |= Mark.REPEATED
                row.checked = False
            self._seen.add(entry.url)
            self.rows.append(row)
            if entry.thumbnail:
                self._rows_of_thumbnail.setdefault(entry.thumbnail, []).append(first + offset)
        self.endInsertRows()
        self.checkedChanged.emit()

    def set_plan(
        self, targets: Sequence[tuple[str, str]], on_disk: Sequence[bool], start: int = 0
    ) -> None:
        """(relative, full) target paths and whether each file exists, for the rows
        from ``start`` on (rows appended since the plan began get theirs later)."""
        rows = self.rows[start : start + len(targets)]
        for row, (relative, full), exists in zip(rows, targets, on_disk, strict=True):
            row.target, row.full_path = relative, full
            row.marks = (row.marks & ~Mark.ON_DISK) | (Mark.ON_DISK if exists else Mark.NONE)
        self.mark_changed(range(start, start + len(rows)))

    def set_in_queue(self, urls: set[str]) -> None:
        """Mark (and untick, unless the user chose) entries a job already downloads."""
        for index, row in enumerate(self.rows):
            if row.entry.url in urls:
                row.marks |= Mark.IN_QUEUE
                if not row.touched:
                    row.checked = False
                self.mark_changed((index,))
        self.checkedChanged.emit()

    def thumbnails_ready(self, urls: Iterable[str]) -> None:
        for url in urls:
            self.mark_changed(self._rows_of_thumbnail.get(url, ()))

    def set_checked(self, rows: Iterable[int], value: bool | None) -> None:
        """Tick (True), untick (False) or invert (None) ``rows``: one repaint."""
        changed = []
        for index in rows:
            row = self.rows[index]
            row.checked = (not row.checked) if value is None else value
            row.touched = True
            changed.append(index)
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), Column.CHECK), self.index(max(changed), Column.CHECK)
            )
            self.checkedChanged.emit()

    # -- reading ----------------------------------------------------------------

    def checked_rows(self) -> list[Row]:
        return [row for row in self.rows if row.checked]

    def count(self, mark: Mark, *, checked_only: bool = False) -> int:
        return sum(1 for r in self.rows if mark in r.marks and (r.checked or not checked_only))

    # -- QAbstractItemModel ---------------------------------------------------------

    def row_count(self) -> int:
        return len(self.rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == Column.CHECK:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        row = self.rows[index.row()]
        column = Column(index.column())
        entry = row.entry
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.CHECK:
                return str(row.number)
            if column == Column.TITLE:
                return row.title
            if column == Column.AUTHOR:
                return entry.author or ""
            if column == Column.TARGET:
                return row.target
            if column == Column.NOTE:
                return self._marks_text(row.marks)
            return None
        if role == Qt.ItemDataRole.CheckStateRole and column == Column.CHECK:
            return Qt.CheckState.Checked if row.checked else Qt.CheckState.Unchecked
        if role == ThumbnailRole and column == Column.THUMB:
            if not entry.thumbnail:
                return None
            return (entry.thumbnail, entry.headers, entry.url)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.TITLE:
                return entry.url
            if column == Column.TARGET:
                return row.full_path or None
            if column == Column.THUMB:
                return entry.thumbnail or _tr(str(NO_THUMBNAIL))
            if column == Column.CHECK:
                return entry.where
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.NOTE and row.marks:
            return QtGui.QColor("#b06000")
        return None

    @staticmethod
    def _marks_text(marks: Mark) -> str:
        return ", ".join(_tr(str(text)) for mark, text in MARK_TEXT.items() if mark in marks)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            index.isValid()
            and index.column() == Column.CHECK
            and role == Qt.ItemDataRole.CheckStateRole
        ):
            checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2)
            self.set_checked([index.row()], checked)
            return True
        return False


class ImportFilter(QtCore.QSortFilterProxyModel):
    """The filter box: entries whose title, author, URL or target contain the text."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""

    def set_text(self, text: str) -> None:
        # Qt 6.10 replaced invalidateFilter() with a begin/end pair
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            self._text = text.strip().casefold()
            self.endFilterChange()
        else:  # pragma: no cover - older Qt
            self._text = text.strip().casefold()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._text:
            return True
        model = self.sourceModel()
        assert isinstance(model, ImportModel)
        row = model.rows[source_row]
        entry = row.entry
        return any(
            self._text in (text or "").casefold()
            for text in (row.title, entry.author, entry.url, row.target)
        )

    def source_rows(self) -> list[int]:
        """The rows the filter lets through, as rows of the model."""
        return [self.mapToSource(self.index(r, 0)).row() for r in range(self.rowCount())]


#: the extensions of files a drop imports as a list
LIST_EXTENSIONS = (".txt", ".json", ".jsonl", ".ndjson", ".csv")
#: a list bigger than this is not a list of downloads
MAX_LIST_BYTES = 32 * 1024 * 1024


def read_list_file(path: str) -> ImportResult:
    """Read and parse a list file (blocking: run it in a worker thread).

    Raises :class:`BadInput` for a file that cannot be read or is too big;
    bad entries are in the result.
    """
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {name}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_LIST_BYTES:
        limit = human_size(MAX_LIST_BYTES)
        raise BadInput(f"{name} is too big for a list of downloads (more than {limit})")
    return parse_import(raw.decode("utf-8-sig", errors="replace"), source=path)


def _free_bytes(folder: str) -> int | None:
    """Free space where ``folder`` is or will be (its nearest existing parent)."""
    path = os.path.abspath(os.path.expanduser(folder))
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


class ImportDialog(QtWidgets.QDialog):
    """Preview an import; ``added`` carries the new job ids once confirmed."""

    #: the ids of the jobs added (emitted before the dialog closes)
    added = Signal(list)

    def __init__(
        self,
        queue: JobQueue,
        fetcher: ThumbnailFetcher,
        result: ImportResult,
        *,
        source: str,
        folder: str,
        template: str,
        parent: QtWidgets.QWidget | None = None,
        page_proxy: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``page_proxy``: what a page is read through when it is resolved (as
        :meth:`.Settings.page_proxy`: a URL, "" none, None the environment's)."""
        super().__init__(parent)
        self._page_proxy = page_proxy
        self.queue = queue
        self.source = source
        self.bad: list[BadEntry] = list(result.bad)
        self.setWindowTitle(self.tr("Import {0}").format(source))
        self._tasks = BackgroundTasks(self._task_done)
        self._generation = 0
        #: the add under way (None: none); closing the dialog lets it finish
        self._adding: asyncio.Task[Any] | None = None
        self._closed = False
        #: the last plan's problem (a bad template or folder), None when fine
        self.plan_error: str | None = None
        self.planned = asyncio.Event()
        self.free: int | None = None
        self.added_ids: list[int] = []

        self.images = ThumbnailImages(fetcher, THUMB_SIZE, self)
        self.model = ImportModel(result.entries, self.images, self)
        self.images.ready.connect(self.model.thumbnails_ready)
        self.proxy = ImportFilter(self)
        self.proxy.setSourceModel(self.model)

        self.summary = QtWidgets.QLabel()
        self.folder = QtWidgets.QLineEdit(folder)
        browse = QtWidgets.QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.template = QtWidgets.QLineEdit(template)
        self.template.setPlaceholderText(self.tr("Names from the server"))
        self.template.setToolTip(
            self.tr("Fields: {0}. A / makes a subfolder; empty: names from the server.").format(
                ", ".join("{" + field + "}" for field in FIELDS)
            )
        )
        self.example = QtWidgets.QLabel()
        self.example.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a page (video, playlist, channel, feed) whose items stream into the list
        self.page = QtWidgets.QLineEdit()
        self.page.setPlaceholderText(
            self.tr("A video, playlist, channel or feed page, to add what it holds")
        )
        self.page.returnPressed.connect(lambda: self.resolve_page(self.page.text()))
        self.resolve_button = QtWidgets.QPushButton(self.tr("Resolve"))
        self.resolve_button.clicked.connect(lambda: self.resolve_page(self.page.text()))
        self.stop_button = QtWidgets.QPushButton(self.tr("Stop"))
        self.stop_button.clicked.connect(self.stop_resolving)
        self.stop_button.setEnabled(False)
        page_row = QtWidgets.QHBoxLayout()
        page_row.addWidget(self.page, 1)
        page_row.addWidget(self.resolve_button)
        page_row.addWidget(self.stop_button)
        self.resolve_status = QtWidgets.QLabel()
        self.resolve_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.resolve_status.setWordWrap(True)
        #: the page being resolved (None: none)
        self._resolving: asyncio.Task[Any] | None = None
        #: set when a resolve ends, however it ends (tests and the benchmark)
        self.resolved = asyncio.Event()
        # entries from the worker join the list in batches: one insert, one
        # repaint and one status line per batch, however fast they come
        self._incoming: list[pages.PageEntry] = []
        self._progress: tuple[int, int | None] = (0, None)
        self._incoming_timer = QtCore.QTimer(self)
        self._incoming_timer.setSingleShot(True)
        self._incoming_timer.setInterval(INCOMING_MS)
        self._incoming_timer.timeout.connect(self._flush_incoming)
        #: rows planned for the current folder and template (the first ones)
        self._planned = 0
        #: a plan of the rows a page added, under way
        self._extending: asyncio.Task[Any] | None = None
        form = QtWidgets.QFormLayout()
        form.addRow(self.tr("Page"), page_row)
        form.addRow("", self.resolve_status)
        form.addRow(self.tr("Folder"), folder_row)
        form.addRow(self.tr("Template"), self.template)
        form.addRow("", self.example)

        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText(self.tr("Filter by title, author or URL"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_text)
        self.all_button = QtWidgets.QPushButton(self.tr("All"))
        self.none_button = QtWidgets.QPushButton(self.tr("None"))
        self.invert_button = QtWidgets.QPushButton(self.tr("Invert"))
        self.all_button.clicked.connect(lambda: self.check_visible(True))
        self.none_button.clicked.connect(lambda: self.check_visible(False))
        self.invert_button.clicked.connect(lambda: self.check_visible(None))
        filter_row = QtWidgets.QHBoxLayout()
        filter_row.addWidget(self.filter, 1)
        filter_row.addWidget(QtWidgets.QLabel(self.tr("Tick:")))
        for button in (self.all_button, self.none_button, self.invert_button):
            filter_row.addWidget(button)

        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(
            Column.THUMB, ThumbnailDelegate(self.images, self.table)
        )
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setAlternatingRowColors(True)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(THUMB_SIZE.height() + 6)
        header = self.table.horizontalHeader()
        for column, width in (
            (Column.CHECK, 56),
            (Column.THUMB, THUMB_SIZE.width() + 8),
            (Column.TITLE, 260),
            (Column.AUTHOR, 130),
            (Column.NOTE, 150),
        ):
            self.table.setColumnWidth(column, width)
        # the target path is the longest text: it takes the room there is
        header.setSectionResizeMode(Column.TARGET, QtWidgets.QHeaderView.ResizeMode.Stretch)
        # Space ticks the current row, as in a list of check boxes
        toggle = QtGui.QShortcut(QtGui.QKeySequence(Qt.Key.Key_Space), self.table)
        toggle.setContext(Qt.ShortcutContext.WidgetShortcut)
        toggle.activated.connect(self._toggle_selected)

        self.bad_list = QtWidgets.QPlainTextEdit()
        self.bad_list.setReadOnly(True)
        self.bad_list.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        lines = min(len(self.bad), 4)
        margins = self.bad_list.contentsMargins()
        self.bad_list.setFixedHeight(
            self.fontMetrics().lineSpacing() * lines
            + 2 * int(self.bad_list.document().documentMargin())
            + margins.top()
            + margins.bottom()
            + 4
        )
        self.bad_label = QtWidgets.QLabel()
        if self.bad:
            self.bad_label.setText(
                self.tr("These cannot be imported ({0}); the others can:").format(len(self.bad))
            )
            self.bad_list.setPlainText("\n".join(str(bad) for bad in self.bad))
        else:
            self.bad_label.hide()
            self.bad_list.hide()

        self.status = QtWidgets.QLabel()
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #c8372d")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.download_button = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addLayout(filter_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.bad_label)
        layout.addWidget(self.bad_list)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(1000, 680)

        self._show_summary()
        if not pages.available():
            self.page.setEnabled(False)
            self.resolve_button.setEnabled(False)
            self.resolve_status.setText(str(pages.PagesUnavailable()))
        self._replan_timer = QtCore.QTimer(self)
        self._replan_timer.setSingleShot(True)
        self._replan_timer.setInterval(REPLAN_MS)
        self._replan_timer.timeout.connect(self._start_replan)
        self.folder.textChanged.connect(lambda _: self._replan_timer.start())
        self.template.textChanged.connect(lambda _: self._replan_timer.start())
        self.model.checkedChanged.connect(self._show_status)
        self._show_status()
        self._spawn(self._start())

    def _show_summary(self) -> None:
        entries = len(self.model.rows)
        self.summary.setText(
            (
                self.tr("{0}: 1 entry").format(self.source)
                if entries == 1
                else self.tr("{0}: {1} entries").format(self.source, entries)
            )
            + (self.tr(", {0} bad").format(len(self.bad)) if self.bad else "")
        )

    def _show_bad(self) -> None:
        if not self.bad:
            return
        self.bad_label.setText(
            self.tr("These cannot be imported ({0}); the others can:").format(len(self.bad))
        )
        self.bad_list.setPlainText("\n".join(str(bad) for bad in self.bad))
        self.bad_label.show()
        self.bad_list.show()

    # -- resolving a page ------------------------------------------------------------

    def resolve_page(self, url: str) -> asyncio.Task[Any] | None:
        """Resolve ``url`` in a worker thread; its entries stream into the list."""
        url = url.strip()
        if not url or self._closed:
            return None
        self.stop_resolving()
        self.resolved.clear()
        self.error.hide()
        self.page.setText(url)
        self.stop_button.setEnabled(True)
        self.resolve_status.setText(self.tr("Resolving {0}…").format(url))
        task = self._spawn(self._resolve(url))
        self._resolving = task
        return task

    def stop_resolving(self) -> None:
        """Stop the resolve under way; the entries found so far stay."""
        if self._resolving is not None:
            self._resolving.cancel()

    async def _resolve(self, url: str) -> None:
        found, live = 0, True
        try:

            def arrived(entry: pages.PageEntry, count: int, total: int | None) -> None:
                nonlocal found
                if live:  # not one queued before a Stop, after it
                    found = count
                    self._add_resolved(entry, count, total)

            result = await resolver.resolve([url], on_entry=arrived, proxy=self._page_proxy())
        except asyncio.CancelledError:
            if not self._closed:
                self._flush_incoming()
                self.resolve_status.setText(self.tr("Stopped after %n entries.", "", found))
            raise
        except DraymanError as exc:  # no yt-dlp, a bad URL
            self.resolve_status.setText(str(exc))
            return
        finally:
            live = False
            self._incoming_timer.stop()
            self._flush_incoming()
            if self._resolving is asyncio.current_task():
                self._resolving = None
            if not self._closed:
                self.stop_button.setEnabled(False)
            self.resolved.set()
        skipped = [BadEntry(*_split_problem(p)) for p in result.problems]
        if skipped:
            self.bad += skipped
            self._show_bad()
        if result.failed_pages:
            message = str(result.failed_pages[0])
            self.resolve_status.setText(message)
            self._show_error(message)
        else:
            self.resolve_status.setText(
                self.tr("%n entries from {0}", "", len(result.entries)).format(url)
            )
        self._show_summary()
        self._plan_new_rows()
        self._spawn(self._mark_in_queue())

    def _add_resolved(self, entry: pages.PageEntry, found: int, total: int | None) -> None:
        """One entry from the worker, on the loop's thread: shown with the next batch."""
        if self._closed:
            return
        self._incoming.append(entry)
        self._progress = (found, total)
        if not self._incoming_timer.isActive():
            self._incoming_timer.start()

    def _flush_incoming(self) -> None:
        """The entries that came since the last batch: rows, thumbnails, progress."""
        entries, self._incoming = self._incoming, []
        if self._closed or not entries:
            return
        self.model.append([e.to_entry(f"{e.page_url} item {e.index}") for e in entries])
        for entry in entries:
            if entry.thumbnail:
                self.images.request(entry.thumbnail, entry.headers, entry.url)
        found, total = self._progress
        if total:
            self.resolve_status.setText(self.tr("{0} of {1} entries").format(found, total))
        else:
            self.resolve_status.setText(self.tr("%n entries", "", found))
        self._show_summary()
        self._show_status()
        self._plan_new_rows()

    def _plan_new_rows(self) -> None:
        """Target paths for the rows that have none yet: a page's entries as they come."""
        if self._extending is not None and not self._extending.done():
            return  # the next batch plans what this one leaves
        if self.plan_error is None and self._planned < len(self.model.rows):
            self._extending = self._spawn(self._replan(self._generation, self._planned))

    # -- background work ----------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.start(coroutine)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        error = None if task.cancelled() else task.exception()
        if isinstance(error, DraymanError):  # the database went away, say
            self._show_error(str(error))
        elif error is not None:
            log.error("import preview: unexpected error", exc_info=error)
            self._show_error(
                self.tr("Something went wrong: {0}. Details are in the log.").format(
                    type(error).__name__
                )
            )

    async def _start(self) -> None:
        """Rules (for thumbnail headers) first, then every thumbnail in list order."""
        self._start_replan()
        self._spawn(self._mark_in_queue())
        self.images.rules = await self.queue.rules()
        for row in self.model.rows:
            entry = row.entry
            if entry.thumbnail:
                self.images.request(entry.thumbnail, entry.headers, entry.url)

    async def _mark_in_queue(self) -> None:
        urls = await self.queue.urls_in_queue(row.entry.url for row in self.model.rows)
        if urls:
            self.model.set_in_queue(urls)

    async def _update_free_space(self, folder: str) -> None:
        free = await asyncio.to_thread(_free_bytes, folder) if folder.strip() else None
        if folder == self.folder.text():
            self.free = free
            self._show_status()

    def _start_replan(self) -> None:
        self._generation += 1
        self._planned = 0
        self.planned.clear()
        self._spawn(self._replan(self._generation))
        self._spawn(self._update_free_space(self.folder.text()))

    async def _replan(self, generation: int, start: int = 0) -> None:
        """Plan the rows from ``start`` on (0: all of them, the folder or template changed)."""
        folder = self.folder.text().strip()
        template = self.template.text().strip() or None
        if not folder:
            self._plan_failed(generation, self.tr("Choose a folder."))
            return
        rows = self.model.rows[start:]
        try:
            jobs = await self.queue.plan(
                [row.entry for row in rows],
                dest_dir=folder,
                template=template,
                numbers=[row.number for row in rows],
            )
            on_disk = await files_on_disk(jobs)
            # a folder that cannot take files is said here, not by every job failing
            await asyncio.to_thread(check_writable_folder, folder)
        except BadInput as exc:
            self._plan_failed(generation, str(exc))
            return
        if generation != self._generation:
            return  # the fields changed meanwhile; a newer plan is on its way
        if start and start != self._planned:
            return  # a whole plan overtook this one
        targets = [_target(job) for job in jobs]
        self.model.set_plan(targets, on_disk, start)
        self._planned = start + len(rows)
        self.plan_error = None
        self._show_example()
        self._show_status()
        self.planned.set()
        # rows a page added meanwhile: planned next, a few at a time
        if self._extending is asyncio.current_task():
            self._extending = None
        self._plan_new_rows()

    def _plan_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.plan_error = message
        self.example.setStyleSheet("color: #c8372d")
        self.example.setText(message)
        self.download_button.setEnabled(False)
        self.planned.set()

    # -- display ------------------------------------------------------------------

    def _show_example(self) -> None:
        rows = self.model.checked_rows() or self.model.rows
        self.example.setStyleSheet("")
        if rows and rows[0].target:
            self.example.setText(self.tr("Example: {0}").format(rows[0].target))
        else:
            self.example.setText("")
        self._show_status()

    def _show_status(self) -> None:
        checked = len(self.model.checked_rows())
        parts = [
            self.tr("%n of {0} selected", "", checked).format(len(self.model.rows)),
        ]
        in_queue = self.model.count(Mark.IN_QUEUE)
        if in_queue:
            parts.append(self.tr("%n already in the queue", "", in_queue))
        on_disk = self.model.count(Mark.ON_DISK)
        if on_disk:
            parts.append(self.tr("%n already on disk", "", on_disk))
        if self.free is not None:
            parts.append(self.tr("{0} free in the folder").format(human_size(self.free)))
        self.status.setText(" · ".join(parts))
        self.download_button.setText(self.tr("Download %n", "", checked))
        self.download_button.setEnabled(
            checked > 0 and self.plan_error is None and self._adding is None
        )

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    # -- ticking ------------------------------------------------------------------

    def check_visible(self, value: bool | None) -> None:
        """Tick, untick or invert the entries the filter shows."""
        self.model.set_checked(self.proxy.source_rows(), value)

    def _toggle_selected(self) -> None:
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        self.model.set_checked(sorted(rows), None)

    def _browse(self) -> None:
        dialog = QtWidgets.QFileDialog(self, self.tr("Folder"), self.folder.text())
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
        dialog.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.folder.setText)
        dialog.open()

    # -- confirming and closing -------------------------------------------------------

    def accept(self) -> None:
        """Add the ticked entries in one transaction; the dialog closes when they are in."""
        if self._adding is not None:
            return
        rows = self.model.checked_rows()
        if not rows:
            self._show_error(self.tr("Tick at least one entry."))
            return
        if self.plan_error is not None:
            self._show_error(self.plan_error)
            return
        self.download_button.setEnabled(False)
        self._adding = self._spawn(
            self._add(rows, self.folder.text().strip(), self.template.text().strip())
        )

    async def _add(self, rows: Sequence[Row], folder: str, template: str) -> None:
        try:
            ids = await self.queue.add_entries(
                [row.entry for row in rows],
                dest_dir=folder,
                template=template or None,
                numbers=[row.number for row in rows],
            )
        except DraymanError as exc:  # a bad folder, a locked database: say so, keep the list
            self._adding = None
            self._show_error(str(exc))
            self._show_status()
            return
        self.added_ids = ids
        self.added.emit(ids)
        self._adding = None
        super().accept()

    def reject(self) -> None:
        if self._adding is not None:
            return  # the transaction is under way; it either lands whole or not at all
        super().reject()

    def done(self, result: int) -> None:
        self._closed = True
        self._tasks.cancel()
        self.images.cancel()
        self._replan_timer.stop()
        self._incoming_timer.stop()
        super().done(result)

    async def shut(self) -> None:
        """Close for good (the window is going away); return once none of the
        dialog's tasks runs any more, thumbnails included.

        An add under way is let finish first: the user asked for it, and it
        lands whole or not at all.
        """
        if self._adding is not None:
            await asyncio.wait([self._adding])
        if not self._closed:
            self.done(QtWidgets.QDialog.DialogCode.Rejected)
        await self._tasks.wait()
        await self.images.wait()

    def pending(self) -> int:
        """Background tasks and thumbnails still under way (tests and the benchmark)."""
        return len(self._tasks) + self.images.pending()


def _split_problem(problem: str) -> tuple[str, str]:
    """'PAGE item N (title): reason' -> (where, reason)."""
    where, _, reason = problem.rpartition("): ")
    if where:
        return where + ")", reason
    where, _, reason = problem.partition(": ")
    return where, reason


def _target(job: NewJob) -> tuple[str, str]:
    """(path relative to the chosen folder, full path) of a planned job."""
    full = os.path.join(job.dest_dir, expected_name(job))
    try:
        # the folder as plan() checked it (it is every job's base_dir)
        relative = os.path.relpath(full, job.base_dir or job.dest_dir)
    except ValueError:  # another drive on Windows: a folder from a per-host rule
        relative = full
    return relative, full


__all__ = [
    "LIST_EXTENSIONS",
    "ImportDialog",
    "ImportFilter",
    "ImportModel",
    "Mark",
    "Row",
    "read_list_file",
]
