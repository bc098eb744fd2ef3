"""The base of the window's table models: columns from an enum, repaints batched.

The jobs table and the import preview both show one row per item under
translated column headers, and both take changes far faster than a view
should repaint (progress a few times a second per download, thumbnails as
they arrive). Rows marked changed are announced at most ``refresh_hz`` times
a second, as one ``dataChanged`` over the span they cover.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from drayman.ui.qt import Qt, QtCore

_ROOT = QtCore.QModelIndex()
ParentIndex = QtCore.QModelIndex | QtCore.QPersistentModelIndex


class BatchedTableModel(QtCore.QAbstractTableModel):
    """Rows counted by :meth:`row_count`, columns by ``columns``, repaints batched.

    ``headers`` gives each column's untranslated title, translated in the
    ``context`` its ``QT_TRANSLATE_NOOP`` marks name.
    """

    def __init__(
        self,
        columns: type[enum.IntEnum],
        headers: Mapping[Any, object],
        context: str,
        parent: QtCore.QObject | None = None,
        *,
        refresh_hz: float = 4.0,
    ) -> None:
        super().__init__(parent)
        self._columns = len(columns)
        self._headers = [str(headers.get(column, "")) for column in columns]
        self._context = context
        #: rows to repaint at the next flush
        self._dirty: set[int] = set()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(int(1000 / refresh_hz))
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def row_count(self) -> int:
        """How many rows the model has (a subclass's own list)."""
        raise NotImplementedError

    def translate(self, text: str) -> str:
        return QtCore.QCoreApplication.translate(self._context, text)

    def mark_changed(self, rows: Iterable[int]) -> None:
        """Repaint ``rows`` at the next flush."""
        self._dirty.update(rows)

    def flush(self) -> None:
        """One dataChanged over the span of changed rows."""
        if not self._dirty:
            return
        first, last = min(self._dirty), max(self._dirty)
        self._dirty.clear()
        last = min(last, self.row_count() - 1)
        if first <= last:
            self.dataChanged.emit(self.index(first, 0), self.index(last, self._columns - 1))

    # -- QAbstractItemModel ----------------------------------------------------------

    def rowCount(self, parent: ParentIndex = _ROOT) -> int:
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: ParentIndex = _ROOT) -> int:
        return 0 if parent.isValid() else self._columns

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < self._columns:
            return self.translate(self._headers[section])
        return None
