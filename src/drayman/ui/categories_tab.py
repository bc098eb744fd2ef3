"""The Settings' Categories tab: folders by file type, edited as a table."""

from __future__ import annotations

from drayman.categories import (
    DEFAULTS,
    OTHER,
    Categories,
    Category,
    check_table,
    split_list,
)
from drayman.ui.qt import Qt, QtWidgets


class CategoriesEditor(QtWidgets.QWidget):
    """The switch and the table; :meth:`value` checks them (BadInput naming the problem)."""

    NAME, FOLDER, EXTENSIONS, TYPES = range(4)

    def __init__(self, current: Categories, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QtWidgets.QCheckBox(
            self.tr("Sort downloads added without a folder into subfolders by file type")
        )
        self.enabled.setChecked(current.enabled)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Category"), self.tr("Folder"), self.tr("Extensions"), self.tr("Types")]
        )
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(self.EXTENSIONS, 260)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self._fill(current.table)
        add = QtWidgets.QPushButton(self.tr("Add"))
        add.clicked.connect(self.add_row)
        self.remove = QtWidgets.QPushButton(self.tr("Remove"))
        self.remove.clicked.connect(self.remove_selected)
        reset = QtWidgets.QPushButton(self.tr("Defaults"))
        reset.clicked.connect(lambda: self._fill(DEFAULTS))
        note = QtWidgets.QLabel(
            self.tr(
                "Folders are below the download folder. A file goes to the first category "
                "with its extension, else with its Content-Type, else to Other."
            )
        )
        note.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        for button in (add, self.remove, reset):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(note)

    def _fill(self, table: tuple[Category, ...]) -> None:
        self.table.setRowCount(0)
        for category in table:
            self._append(category)

    def _append(self, category: Category, at: int | None = None) -> None:
        row = self.table.rowCount() if at is None else at
        self.table.insertRow(row)
        cells = (
            category.name,
            category.folder,
            " ".join(category.extensions),
            " ".join(category.content_types),
        )
        for column, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(text)
            if column == self.NAME and category.name == OTHER:
                # Other takes what no category takes: it stays, and stays last
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, column, item)

    def add_row(self) -> None:
        """A new category, before Other."""
        name = self.tr("New")
        self._append(Category(name, name), at=max(self.table.rowCount() - 1, 0))

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            if self._text(row, self.NAME) != OTHER:
                self.table.removeRow(row)

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def value(self) -> Categories:
        """What the tab says, checked like ``drayman categories set`` checks it."""
        table = [
            Category(
                self._text(row, self.NAME),
                self._text(row, self.FOLDER),
                tuple(split_list(self._text(row, self.EXTENSIONS))),
                tuple(split_list(self._text(row, self.TYPES))),
            )
            for row in range(self.table.rowCount())
        ]
        return Categories(self.enabled.isChecked(), check_table(table))


__all__ = ["CategoriesEditor"]
