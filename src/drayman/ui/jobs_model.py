"""The job table: a model over job snapshots plus the engine's live progress.

Rows come from the database (a snapshot of the job table); speed and the
bytes received since the last checkpoint come from the engine's coalesced
progress. Neither arrives per chunk: both are applied here and announced to
the view at most a few times a second, as one ``dataChanged`` span.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from drayman.jobs import Job, JobState
from drayman.queue.progress import EngineSnapshot, JobProgress
from drayman.ui.errortext import error_text
from drayman.ui.qt import Qt, QtCore, QtGui
from drayman.ui.table_model import BatchedTableModel
from drayman.units import human_duration, human_size

#: the role that gives a column's raw value, for sorting
SortRole = Qt.ItemDataRole.UserRole + 1
#: the role that gives the row's job id
JobIdRole = Qt.ItemDataRole.UserRole + 2
#: the role that gives progress as 0..1 (None when unknown), for the delegate
ProgressRole = Qt.ItemDataRole.UserRole + 3
#: the role that gives (thumbnail URL, headers, the URL the headers are for), or None
ThumbnailRole = Qt.ItemDataRole.UserRole + 4


class Column(enum.IntEnum):
    THUMB = 0
    NAME = enum.auto()
    SIZE = enum.auto()
    PROGRESS = enum.auto()
    SPEED = enum.auto()
    ETA = enum.auto()
    STATE = enum.auto()
    ATTEMPTS = enum.auto()
    FOLDER = enum.auto()
    ADDED = enum.auto()
    PRIORITY = enum.auto()


HEADERS = {
    Column.THUMB: "",
    Column.NAME: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Name"),
    Column.SIZE: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Size"),
    Column.PROGRESS: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Progress"),
    Column.SPEED: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Speed"),
    Column.ETA: QtCore.QT_TRANSLATE_NOOP("JobsModel", "ETA"),
    Column.STATE: QtCore.QT_TRANSLATE_NOOP("JobsModel", "State"),
    Column.ATTEMPTS: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Attempts / error"),
    Column.FOLDER: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Folder"),
    Column.ADDED: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Added"),
    Column.PRIORITY: QtCore.QT_TRANSLATE_NOOP("JobsModel", "Priority"),
}


STATE_NAMES = {
    JobState.QUEUED: QtCore.QT_TRANSLATE_NOOP("JobState", "queued"),
    JobState.RUNNING: QtCore.QT_TRANSLATE_NOOP("JobState", "running"),
    JobState.PAUSED: QtCore.QT_TRANSLATE_NOOP("JobState", "paused"),
    JobState.DONE: QtCore.QT_TRANSLATE_NOOP("JobState", "done"),
    JobState.FAILED: QtCore.QT_TRANSLATE_NOOP("JobState", "failed"),
}


def row_name(job: Job) -> str:
    """A row's name: the title of a media job from the start (it does not
    turn into the file name when the server answers), else the file's name."""
    return job.title or job.display_name


def state_name(state: JobState) -> str:
    return QtCore.QCoreApplication.translate("JobState", str(STATE_NAMES[state]))


STATE_COLORS = {
    JobState.QUEUED: "#7a7a7a",
    JobState.RUNNING: "#1f77d0",
    JobState.PAUSED: "#c98a00",
    JobState.DONE: "#2e9b47",
    JobState.FAILED: "#c8372d",
}


def _state_icon(state: JobState) -> QtGui.QIcon:
    pixmap = QtGui.QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setBrush(QtGui.QColor(STATE_COLORS[state]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QtGui.QIcon(pixmap)


class JobsModel(BatchedTableModel):
    """Rows: job snapshots in queue order. Live progress overlays them."""

    #: emitted after a refresh, with counts per state, for the status bar
    countsChanged = QtCore.Signal(dict)

    def __init__(self, parent: QtCore.QObject | None = None, *, refresh_hz: float = 4.0) -> None:
        super().__init__(Column, HEADERS, "JobsModel", parent, refresh_hz=refresh_hz)
        self._jobs: list[Job] = []
        self._row_of: dict[int, int] = {}
        self._live: dict[int, JobProgress] = {}
        self._icons: dict[JobState, QtGui.QIcon] = {}
        #: whether any job has a thumbnail (the window shows the column then)
        self.has_thumbnails = False
        #: whether any job has a priority of its own (the window shows the column then)
        self.has_priorities = False

    # -- feeding -------------------------------------------------------------------

    def set_jobs(self, jobs: Sequence[Job]) -> None:
        """Replace the snapshot. Unchanged rows keep their place (selection survives)."""
        new_ids = [job.id for job in jobs]
        old_ids = [job.id for job in self._jobs]
        if not self._jobs and jobs:
            # the first load: one reset, not row-by-row bookkeeping
            self.beginResetModel()
            self._jobs = list(jobs)
            self.endResetModel()
        elif new_ids == old_ids:
            changed = {row for row, job in enumerate(jobs) if job != self._jobs[row]}
            self._jobs = list(jobs)
            self.mark_changed(changed)
        else:
            # rows came or went: remove the gone ones, then insert the new ones,
            # so persistent indexes (the selection) follow their jobs
            keep = set(new_ids)
            for row in range(len(self._jobs) - 1, -1, -1):
                if self._jobs[row].id not in keep:
                    self.beginRemoveRows(QtCore.QModelIndex(), row, row)
                    del self._jobs[row]
                    self.endRemoveRows()
            present = {job.id for job in self._jobs}
            added = [job for job in jobs if job.id not in present]
            if added:
                start = len(self._jobs)
                self.beginInsertRows(QtCore.QModelIndex(), start, start + len(added) - 1)
                self._jobs.extend(added)
                self.endInsertRows()
            fresh = {job.id: job for job in jobs}
            self._jobs = [fresh[job.id] for job in self._jobs]
            self.mark_changed(range(len(self._jobs)))
        self._row_of = {job.id: row for row, job in enumerate(self._jobs)}
        self._live = {k: v for k, v in self._live.items() if k in self._row_of}
        self.has_thumbnails = any(job.thumbnail_url for job in self._jobs)
        self.has_priorities = any(job.priority for job in self._jobs)
        self.countsChanged.emit(self.counts())

    def update_jobs(self, changed: Sequence[Job]) -> None:
        """Merge rows written since the last refresh; new jobs join at the end."""
        rows, added = [], []
        for job in changed:
            row = self._row_of.get(job.id)
            if row is None:
                added.append(job)
            elif job != self._jobs[row]:
                self._jobs[row] = job
                rows.append(row)
        self.mark_changed(rows)
        if added:
            start = len(self._jobs)
            self.beginInsertRows(QtCore.QModelIndex(), start, start + len(added) - 1)
            self._jobs.extend(added)
            for offset, job in enumerate(added):
                self._row_of[job.id] = start + offset
            self.endInsertRows()
        if rows or added:
            self.has_thumbnails = self.has_thumbnails or any(j.thumbnail_url for j in changed)
            self.has_priorities = any(job.priority for job in self._jobs)
            self.countsChanged.emit(self.counts())

    def apply_progress(self, snapshot: EngineSnapshot) -> None:
        """Take the engine's live figures; shown at the next flush."""
        previous = set(self._live)
        self._live = {p.job_id: p for p in snapshot.active if p.job_id in self._row_of}
        for job_id in previous | set(self._live):
            row = self._row_of.get(job_id)
            if row is not None:
                self.mark_changed((row,))

    def thumbnails_ready(self, urls: Iterable[str]) -> None:
        """Repaint the rows whose thumbnail arrived, at the next flush."""
        if not self.has_thumbnails:
            return
        ready = set(urls)
        self.mark_changed(row for row, job in enumerate(self._jobs) if job.thumbnail_url in ready)

    # -- reading -------------------------------------------------------------------

    def job_at(self, row: int) -> Job:
        return self._jobs[row]

    def job(self, job_id: int) -> Job | None:
        row = self._row_of.get(job_id)
        return None if row is None else self._jobs[row]

    def live(self, job_id: int) -> JobProgress | None:
        return self._live.get(job_id)

    def counts(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        for job in self._jobs:
            counts[job.state] += 1
        return counts

    def total_speed(self) -> float:
        return sum(p.speed for p in self._live.values())

    def ids(self, rows: Iterable[int]) -> list[int]:
        return [self._jobs[row].id for row in rows if 0 <= row < len(self._jobs)]

    # -- QAbstractItemModel ----------------------------------------------------------

    def row_count(self) -> int:
        return len(self._jobs)

    def data(
        self,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._jobs)):
            return None
        job = self._jobs[index.row()]
        column = Column(index.column())
        live = self._live.get(job.id)
        done = live.bytes_done if live else job.bytes_done
        total = live.bytes_total if live and live.bytes_total is not None else job.bytes_total
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, column, live, done, total)
        if role == SortRole:
            return self._sort_value(job, column, live, done, total)
        if role == JobIdRole:
            return job.id
        if role == ThumbnailRole and column == Column.THUMB:
            if job.thumbnail_url is None:
                return None
            return (job.thumbnail_url, job.headers, job.url)
        if role == ProgressRole and column == Column.PROGRESS:
            if job.state == JobState.DONE:
                return 1.0
            return done / total if total else None
        if role == Qt.ItemDataRole.DecorationRole and column == Column.NAME:
            if job.state not in self._icons:
                self._icons[job.state] = _state_icon(job.state)
            return self._icons[job.state]
        if role == Qt.ItemDataRole.ToolTipRole and column in (Column.NAME, Column.ATTEMPTS):
            return error_text(job.error) or job.url
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.THUMB:
            return job.title or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
            Column.SIZE,
            Column.SPEED,
            Column.ETA,
            Column.PROGRESS,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(
        self, job: Job, column: Column, live: JobProgress | None, done: int, total: int | None
    ) -> str:
        if column == Column.NAME:
            return row_name(job)
        if column == Column.SIZE:
            return human_size(total) if total is not None else ""
        if column == Column.PROGRESS:
            if job.state == JobState.DONE:
                return "100%"
            if total:
                return f"{100 * done / total:.1f}%"
            return human_size(done) if done else ""
        if column == Column.SPEED:
            return f"{human_size(live.speed)}/s" if live and live.speed > 0 else ""
        if column == Column.ETA:
            return human_duration(live.eta) if live else ""
        if column == Column.STATE:
            return state_name(job.state)
        if column == Column.ATTEMPTS:
            if job.error:
                return f"{job.attempts}: {error_text(job.error)}"
            return str(job.attempts) if job.attempts else ""
        if column == Column.FOLDER:
            return job.dest_dir
        if column == Column.PRIORITY:
            return f"{job.priority:+d}" if job.priority else ""
        if column == Column.ADDED:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at))
        return ""

    def _sort_value(
        self, job: Job, column: Column, live: JobProgress | None, done: int, total: int | None
    ) -> Any:
        if column == Column.THUMB:
            return job.thumbnail_url is not None
        if column == Column.NAME:
            return row_name(job).casefold()
        if column == Column.SIZE:
            return total if total is not None else -1
        if column == Column.PROGRESS:
            return 1.0 if job.state == JobState.DONE else (done / total if total else 0.0)
        if column == Column.SPEED:
            return live.speed if live else 0.0
        if column == Column.ETA:
            eta = live.eta if live else None
            return eta if eta is not None else float("inf")
        if column == Column.STATE:
            return list(JobState).index(job.state)
        if column == Column.ATTEMPTS:
            return job.attempts
        if column == Column.FOLDER:
            return os.path.normcase(job.dest_dir)
        if column == Column.PRIORITY:
            return job.priority
        return job.created_at


class JobsFilter(QtCore.QSortFilterProxyModel):
    """Search by name or URL, and filter by state group; sorts by raw values."""

    GROUPS: ClassVar[dict[str, frozenset[JobState]]] = {
        "all": frozenset(JobState),
        "active": frozenset({JobState.RUNNING}),
        "queued": frozenset({JobState.QUEUED}),
        "paused": frozenset({JobState.PAUSED}),
        "done": frozenset({JobState.DONE}),
        "failed": frozenset({JobState.FAILED}),
    }

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._states = self.GROUPS["all"]
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(False)

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().casefold()))

    def set_group(self, group: str) -> None:
        self._refilter(lambda: setattr(self, "_states", self.GROUPS[group]))

    def _refilter(self, change: Callable[[], None]) -> None:
        # Qt 6.10 replaced invalidateFilter() with a begin/end pair
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:  # pragma: no cover - older Qt
            change()
            self.invalidateFilter()

    def filterAcceptsRow(
        self, source_row: int, source_parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex
    ) -> bool:
        model = self.sourceModel()
        assert isinstance(model, JobsModel)
        job = model.job_at(source_row)
        if job.state not in self._states:
            return False
        if self._text:
            name = row_name(job).casefold()
            return (
                self._text in name
                or self._text in job.display_name.casefold()
                or (self._text in job.url.casefold())
            )
        return True
