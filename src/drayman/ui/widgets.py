"""Small widgets of the window: the progress-bar and thumbnail delegates, the sparkline."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Generic, TypeVar

from drayman.errors import BadInput
from drayman.ui.jobs_model import ProgressRole, ThumbnailRole
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets
from drayman.ui.thumbnails import ThumbnailImages

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
        # Qt 6 took the orientation out of the option: without this flag the
        # style draws a vertical bar, filling the cell from the bottom up
        bar.state = option.state | QtWidgets.QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget else QtWidgets.QApplication.style()
        style.drawControl(QtWidgets.QStyle.ControlElement.CE_ProgressBar, bar, painter)


class ThumbnailDelegate(QtWidgets.QStyledItemDelegate):
    """Draws a row's thumbnail, asking for it when the row is first painted.

    Painting is what makes a thumbnail load, so only rows that are on screen
    cost a request (a table of 10,000 media jobs fetches the dozen in view).
    """

    def __init__(self, images: ThumbnailImages, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.images = images

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> None:
        view_option = QtWidgets.QStyleOptionViewItem(option)
        self.initStyleOption(view_option, index)
        widget = option.widget
        style = widget.style() if widget else QtWidgets.QApplication.style()
        style.drawPrimitive(
            QtWidgets.QStyle.PrimitiveElement.PE_PanelItemViewItem, view_option, painter, widget
        )
        request = index.data(ThumbnailRole)
        if request is None:
            return
        url, headers, given_for = request
        self.images.request(url, headers, given_for)
        pixmap = self.images.pixmap(url)
        rect = option.rect.adjusted(2, 2, -2, -2)
        size = pixmap.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
        if size.width() > pixmap.width() or size.height() > pixmap.height():
            size = pixmap.size()  # never blow a small image up
        target = QtCore.QRect(QtCore.QPoint(0, 0), size)
        target.moveCenter(rect.center())
        painter.save()
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(target, pixmap)
        painter.restore()

    def sizeHint(
        self,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> QtCore.QSize:
        return self.images.size + QtCore.QSize(4, 4)


class Sparkline(QtWidgets.QWidget):
    """The last minute of a speed, drawn with QPainter, with what it is the speed of."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, seconds: int = 60) -> None:
        super().__init__(parent)
        self.samples: collections.deque[float] = collections.deque(maxlen=seconds * 4)
        #: whose speed this is ("Total speed", "Speed of big.iso"), drawn in the corner
        self.title = ""
        self.setMinimumHeight(48)

    def show_samples(self, title: str, samples: Iterable[float]) -> None:
        """Show ``samples`` (oldest first) as the speed of ``title``."""
        self.title = title
        self.samples.clear()
        self.samples.extend(samples)
        self.update()

    def clear(self) -> None:
        self.samples.clear()
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(1, 1, -1, -1)
        painter.fillRect(rect, self.palette().base())
        if len(self.samples) >= 2 and max(self.samples) > 0:  # nothing moving: no line
            peak = max(self.samples)
            step = rect.width() / (self.samples.maxlen or 1)
            start = rect.right() - step * (len(self.samples) - 1)
            points = [
                QtCore.QPointF(start + i * step, rect.bottom() - value / peak * rect.height())
                for i, value in enumerate(self.samples)
            ]
            painter.setPen(QtGui.QPen(QtGui.QColor("#1f77d0"), 1.5))
            painter.drawPolyline(points)
        if self.title:
            painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                rect.adjusted(6, 2, -6, -2),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                self.title,
            )
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

    def finish(self, form: QtWidgets.QLayout | QtWidgets.QWidget) -> None:
        self.buttons = buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        if isinstance(form, QtWidgets.QWidget):
            layout.addWidget(form)
        else:
            layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def validate(self) -> T:
        raise NotImplementedError

    def show_problem(self, message: str) -> None:
        """The one plain-words line under the form."""
        self.error.setText(message)
        self.error.show()

    def accept(self) -> None:
        try:
            self.value = self.validate()
        except BadInput as exc:
            self.show_problem(str(exc))
            return
        super().accept()
