"""Small widgets of the window: the progress-bar delegate and the speed sparkline."""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

from drayman.errors import BadInput
from drayman.ui.jobs_model import ProgressRole
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets

T = TypeVar("T")


class ProgressDelegate(QtWidgets.QStyledItemDelegate):
    """Draws a progress bar in the Progress column; no widget per row."""

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> None:
        fraction = index.data(ProgressRole)
        if fraction is None:
            super().paint(painter, option, index)
            return
        bar = QtWidgets.QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 1, -2, -1)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(max(0.0, min(1.0, float(fraction))) * 1000)
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.state = option.state
        style = option.widget.style() if option.widget else QtWidgets.QApplication.style()
        style.drawControl(QtWidgets.QStyle.ControlElement.CE_ProgressBar, bar, painter)


class Sparkline(QtWidgets.QWidget):
    """The last minute of a speed, drawn with QPainter."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, seconds: int = 60) -> None:
        super().__init__(parent)
        self.samples: collections.deque[float] = collections.deque(maxlen=seconds * 4)
        self.setMinimumHeight(48)

    def add(self, value: float) -> None:
        self.samples.append(value)
        self.update()

    def clear(self) -> None:
        self.samples.clear()
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(1, 1, -1, -1)
        painter.fillRect(rect, self.palette().base())
        if len(self.samples) >= 2:
            peak = max(self.samples) or 1.0
            step = rect.width() / (self.samples.maxlen or 1)
            start = rect.right() - step * (len(self.samples) - 1)
            points = [
                QtCore.QPointF(start + i * step, rect.bottom() - value / peak * rect.height())
                for i, value in enumerate(self.samples)
            ]
            painter.setPen(QtGui.QPen(QtGui.QColor("#1f77d0"), 1.5))
            painter.drawPolyline(points)
        painter.end()


class CheckedDialog(QtWidgets.QDialog, Generic[T]):
    """A form that stays open, with one plain-words line, until its input is valid.

    Subclasses fill a form, call :meth:`finish` with it, and implement
    :meth:`validate` (raising :class:`BadInput`); ``value`` holds what it
    returned once the dialog is accepted.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #c8372d")
        self.error.setWordWrap(True)
        self.error.hide()
        self.value: T | None = None

    def finish(self, form: QtWidgets.QFormLayout) -> None:
        self.buttons = buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def validate(self) -> T:
        raise NotImplementedError

    def accept(self) -> None:
        try:
            self.value = self.validate()
        except BadInput as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()
