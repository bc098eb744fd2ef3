"""The window as a new user meets it (issue 18): real widgets, offscreen."""

from __future__ import annotations

from typing import Any

from drayman.ui.jobs_model import ProgressRole
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets
from drayman.ui.widgets import ProgressDelegate


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
