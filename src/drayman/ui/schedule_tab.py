"""The Schedule tab of Settings: the weekly bands, added and removed in place.

The tab edits a list; the window writes the difference to the database when
Settings is accepted (the bands live there, where the engine reads them).
"""

from __future__ import annotations

from drayman.errors import BadInput
from drayman.queue.ratelimit import parse_rate
from drayman.schedules import Band, parse_band
from drayman.ui.qt import QtWidgets
from drayman.units import human_size


class ScheduleTab(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._bands: list[Band] = []
        #: False until the window hands over the bands it read from the database
        self.loaded = False
        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels([self.tr("Days and hours"), self.tr("Action")])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.spec = QtWidgets.QLineEdit()
        self.spec.setPlaceholderText(self.tr("mon-fri 09:00-18:00"))
        self.action = QtWidgets.QComboBox()
        self.action.addItem(self.tr("Pause downloads"), "pause")
        self.action.addItem(self.tr("Limit the speed to"), "limit")
        self.rate = QtWidgets.QLineEdit()
        self.rate.setPlaceholderText(self.tr("e.g. 500k, 2M"))
        self.rate.setEnabled(False)
        self.action.currentIndexChanged.connect(
            lambda _: self.rate.setEnabled(self.action.currentData() == "limit")
        )
        self.add_button = QtWidgets.QPushButton(self.tr("Add"))
        self.add_button.clicked.connect(self._add_clicked)
        self.remove_button = QtWidgets.QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self.remove_selected)
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #c8372d")
        self.error.setWordWrap(True)
        self.error.hide()
        hint = QtWidgets.QLabel(
            self.tr(
                "Local time. Days: daily, weekdays, weekends, mon…sun, mon-fri, sat,sun. "
                "An end before the start is the next day (22:00-07:00). Running downloads "
                "pause at a pause band's start and resume at its end."
            )
        )
        hint.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.spec, 2)
        row.addWidget(self.action)
        row.addWidget(self.rate, 1)
        row.addWidget(self.add_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.remove_button)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(hint)

    def set_bands(self, bands: list[Band]) -> None:
        self._bands = list(bands)
        self.loaded = True
        self._show()

    def bands(self) -> list[Band]:
        """The bands as edited: those kept (with their ids) and the new ones (id 0)."""
        return list(self._bands)

    def add_band(self, spec: str, rate_text: str | None) -> Band:
        """Add a band from the fields' text; :class:`BadInput` says what is wrong."""
        rate = None
        if rate_text is not None:
            if not rate_text.strip():
                raise BadInput(self.tr("Enter a speed for the limit, e.g. 500k."))
            rate = parse_rate(rate_text)
            if rate <= 0:
                raise BadInput(self.tr("A limit must be more than 0; choose Pause instead."))
        band = parse_band(spec, rate=rate)
        self._bands.append(band)
        self._show()
        return band

    def _add_clicked(self) -> None:
        limit = self.action.currentData() == "limit"
        try:
            self.add_band(self.spec.text(), self.rate.text() if limit else None)
        except BadInput as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.error.hide()
        self.spec.clear()

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            del self._bands[row]
        self._show()

    def _show(self) -> None:
        self.table.setRowCount(len(self._bands))
        for row, band in enumerate(self._bands):
            what = (
                self.tr("Pause")
                if band.rate is None
                else self.tr("Limit to {0}/s").format(human_size(band.rate))
            )
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(band.spec))
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(what))
