"""The last minute before sleeping or shutting down, with Cancel."""

from __future__ import annotations

from drayman.onidle import SHUTDOWN, IdleAction
from drayman.ui.qt import QtCore, QtWidgets


class CountdownDialog(QtWidgets.QDialog):
    """Counts down ``seconds``, then emits :attr:`elapsed`; Cancel (or closing it) stops it."""

    elapsed = QtCore.Signal()

    def __init__(
        self, action: IdleAction, seconds: float, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.action = action
        self.setWindowTitle(self.tr("The queue is done"))
        self._remaining_ms = max(int(seconds * 1000), 0)
        self.label = QtWidgets.QLabel()
        self.cancel_button = QtWidgets.QPushButton(self.tr("Cancel"))
        self.cancel_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        #: ticks of at most a second; the last one fires the action
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        self.rejected.connect(self._timer.stop)
        self._show_remaining()
        self._timer.start(min(self._remaining_ms, 1000))

    @property
    def remaining(self) -> float:
        return self._remaining_ms / 1000

    def _show_remaining(self) -> None:
        seconds = (self._remaining_ms + 999) // 1000
        if self.action.kind == SHUTDOWN:
            text = self.tr("All downloads have ended. Shutting down in {0} s.")
        else:
            text = self.tr("All downloads have ended. Going to sleep in {0} s.")
        self.label.setText(text.format(seconds))

    def _tick(self) -> None:
        self._remaining_ms -= min(self._remaining_ms, 1000)
        if self._remaining_ms <= 0:
            self.accept()
            self.elapsed.emit()
            return
        self._show_remaining()
        self._timer.start(min(self._remaining_ms, 1000))
