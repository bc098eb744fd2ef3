"""The Add URLs dialog: checks everything before it closes, in plain words."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from drayman.errors import BadInput
from drayman.headers import parse_request_header
from drayman.inputs import check_writable_folder, validate_name, validate_sha256
from drayman.ui.qt import QtWidgets
from drayman.ui.widgets import CheckedDialog
from drayman.urls import validate_url


@dataclass(frozen=True)
class AddRequest:
    urls: list[str]
    folder: str
    name: str | None
    headers: list[str]
    sha256: str | None
    #: skip TLS certificate checks for these URLs' hosts (``add --insecure``)
    insecure: bool = False
    #: into the folder's Video/, Archives/, ... (as ``add`` without ``-d`` does)
    sort_by_type: bool = False
    #: download whatever the schedule says (``add --ignore-schedule``)
    ignore_schedule: bool = False


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


class AddDialog(CheckedDialog[AddRequest]):
    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        *,
        folder: str = "",
        urls: str = "",
        downloads: str | None = None,
    ) -> None:
        """``downloads``: the user's Downloads folder; files added there are sorted
        by type (the box is ticked while the folder is that one, until touched)."""
        super().__init__(parent)
        self.downloads = downloads
        self.setWindowTitle(self.tr("Add downloads"))
        self.urls = QtWidgets.QPlainTextEdit(urls)
        self.urls.setPlaceholderText(self.tr("One URL per line"))
        self.urls.setTabChangesFocus(True)  # Tab goes on to the folder, as in any form
        self.folder = QtWidgets.QLineEdit(folder)
        browse = QtWidgets.QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.folder)
        folder_row.addWidget(browse)
        self.name = QtWidgets.QLineEdit()
        self.name.setPlaceholderText(self.tr("From the server (single URL only)"))
        self.headers = QtWidgets.QPlainTextEdit()
        self.headers.setPlaceholderText("Referer: https://…\nUser-Agent: …\nCookie: …")
        self.headers.setMaximumHeight(80)
        self.headers.setTabChangesFocus(True)
        self.sha256 = QtWidgets.QLineEdit()
        self.sha256.setPlaceholderText(self.tr("Optional"))
        # the answer to "the TLS certificate of HOST does not verify" for a
        # server the user trusts (a NAS, a router): an explicit choice per add
        self.insecure = QtWidgets.QCheckBox(
            self.tr("Do not check these servers' TLS certificates (only for servers you trust)")
        )
        self.sort_by_type = QtWidgets.QCheckBox(
            self.tr("Into subfolders by file type (Video, Archives, …)")
        )
        self._sort_touched = False
        self.sort_by_type.clicked.connect(self._sort_clicked)
        self.folder.textChanged.connect(self._folder_changed)
        self._folder_changed(folder)
        form = QtWidgets.QFormLayout()
        form.addRow(self.tr("URLs"), self.urls)
        form.addRow(self.tr("Folder"), folder_row)
        form.addRow("", self.sort_by_type)
        form.addRow(self.tr("File name"), self.name)
        form.addRow(self.tr("Headers"), self.headers)
        form.addRow(self.tr("SHA-256"), self.sha256)
        form.addRow("", self.insecure)
        # the one urgent file during quiet hours
        self.ignore_schedule = QtWidgets.QCheckBox(
            self.tr("Download now, whatever the schedule says")
        )
        form.addRow("", self.ignore_schedule)
        self.finish(form)
        self.resize(560, 420)
        #: the folder check under way (it runs off the window's thread)
        self.checking: asyncio.Task[None] | None = None

    def _sort_clicked(self) -> None:
        self._sort_touched = True

    def _folder_changed(self, text: str) -> None:
        if not self._sort_touched:
            self.sort_by_type.setChecked(
                self.downloads is not None and text.strip().rstrip("/\\") == self.downloads
            )

    def _browse(self) -> None:
        chosen = QtWidgets.QFileDialog.getExistingDirectory(
            self, self.tr("Folder"), self.folder.text()
        )
        if chosen:
            self.folder.setText(chosen)

    def accept(self) -> None:
        """Check the form, then (off the window's thread) that the folder takes files."""
        try:
            request = self.validate()
        except BadInput as exc:
            self.show_problem(str(exc))
            return
        if self.checking is None:
            self.buttons.setEnabled(False)
            self.checking = asyncio.ensure_future(self._check_folder(request))

    async def _check_folder(self, request: AddRequest) -> None:
        try:
            await asyncio.to_thread(check_writable_folder, request.folder)
        except BadInput as exc:
            self.show_problem(str(exc))
            return
        finally:
            self.checking = None
            self.buttons.setEnabled(True)
        self.value = request
        QtWidgets.QDialog.accept(self)

    def validate(self) -> AddRequest:
        """The request, or :class:`BadInput` naming the first problem."""
        urls = _lines(self.urls.toPlainText())
        if not urls:
            raise BadInput(self.tr("Enter at least one URL."))
        for number, url in enumerate(urls, start=1):
            try:
                validate_url(url)
            except BadInput as exc:
                raise BadInput(self.tr("Line {0}: {1}").format(number, exc)) from None
        if not self.folder.text().strip():
            raise BadInput(self.tr("Choose a folder."))
        name = self.name.text().strip() or None
        if name is not None:
            if len(urls) > 1:
                raise BadInput(self.tr("A file name can only be given for a single URL."))
            validate_name(name)
        headers = _lines(self.headers.toPlainText())
        for header in headers:
            parse_request_header(header)
        sha = self.sha256.text().strip() or None
        if sha is not None:
            if len(urls) > 1:
                raise BadInput(self.tr("A checksum can only be given for a single URL."))
            sha = validate_sha256(sha)
        return AddRequest(
            urls,
            self.folder.text().strip(),
            name,
            headers,
            sha,
            self.insecure.isChecked(),
            sort_by_type=self.sort_by_type.isChecked(),
            ignore_schedule=self.ignore_schedule.isChecked(),
        )


__all__ = ["AddDialog", "AddRequest"]
