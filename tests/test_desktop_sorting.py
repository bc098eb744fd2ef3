"""The window's side of issue 17: clipboard watch, the Categories tab, sorted adds."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from drayman.categories import DEFAULTS, OTHER
from drayman.jobs import JobState
from drayman.ui.clipboard import links_in
from drayman.ui.qt import QtWidgets
from httpserver import LoopbackServer, make_body
from test_categories import download_folder, tree
from test_gui import app_window, qloop, run, state_of, until

__all__ = ["download_folder", "qloop"]  # the fixtures, shared with their modules


def test_links_are_picked_out_of_copied_text() -> None:
    text = (
        "see https://example.org/a.zip, and (http://example.org/b.mp4).\n"
        "https://en.wikipedia.org/wiki/Foo_(bar) ftp://example.org/x "
        "https://example.org/a.zip again; mailto:x@example.org http://"
    )
    assert links_in(text) == [
        "https://example.org/a.zip",
        "http://example.org/b.mp4",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
    ]
    assert links_in("no links here") == []


def test_copied_links_are_offered_known_ones_ignored_and_nothing_is_added_by_itself(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    first, second = http_server.url("/a.mp4"), http_server.url("/b.zip")
    known = http_server.url("/known.bin")
    clipboard = QtWidgets.QApplication.clipboard()

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            [known_id] = await window.queue.add([known], dest_dir=downloads)
            await window.queue.pause([known_id])
            watch = window.clipboard
            # off by default: a copy is not even looked at
            assert not window.settings.clipboard_watch and not watch.enabled
            # (setText tells the clipboard's watchers at once, as shown below)
            clipboard.setText(first)
            assert watch._check is None and window.clipboard_offer == []

            window._settings_chosen(dataclasses.replace(window.settings, clipboard_watch=True))
            assert watch.enabled
            # only a URL the queue has: looked up on the loop (the database in
            # aiosqlite's thread), not offered
            clipboard.setText(known)
            check = watch._check
            assert check is not None  # dataChanged came at once: the checks above mean something
            await until(check.done, what="the queue's answer")
            assert window.clipboard_offer == [] and window.offer_button.isHidden()

            clipboard.setText(f"two files: {first} and {second}.\n{known}\n")
            await until(lambda: window.clipboard_offer == [first, second], what="the offer")
            assert not window.offer_button.isHidden()
            assert "2" in window.offer_button.text()
            assert window.last_notification == window.offer_button.text()
            # offered, not added
            assert [j.url for j in await window.queue.jobs()] == [known]

            # one click opens the Add dialog filled in; still nothing added
            window.offer_button.click()
            dialog = window.findChild(QtWidgets.QDialog)
            assert dialog is not None and dialog.isVisible()
            assert dialog.urls.toPlainText().split("\n") == [first, second]  # type: ignore[attr-defined]
            assert window.offer_button.isHidden() and window.clipboard_offer == []
            dialog.reject()
            assert [j.url for j in await window.queue.jobs()] == [known]

            # turned off, nothing is watched
            window._settings_chosen(dataclasses.replace(window.settings, clipboard_watch=False))
            before = watch._check
            clipboard.setText(http_server.url("/c.iso"))
            assert watch._check is before and not watch.enabled
            assert window.clipboard_offer == []
            assert await window.queue.urls_in_queue([first, second]) == set()

    run(qloop, scenario())


def test_settings_show_the_categories_tab_and_store_what_is_chosen(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            await until(lambda: window.categories is not None, what="the categories read")
            dialog = window.open_settings()
            tabs = dialog.tabs
            assert [tabs.tabText(i) for i in range(tabs.count())] == [
                "General",
                "Categories",
                "Schedule",
            ]
            editor = dialog.categories_tab
            assert editor is not None and editor.enabled.isChecked()
            assert editor.table.rowCount() == len(DEFAULTS)
            assert editor.table.item(editor.table.rowCount() - 1, 0).text() == OTHER
            # a folder that leaves the download folder: the dialog stays, saying why
            editor.table.item(0, editor.FOLDER).setText("../elsewhere")
            dialog.accept()
            assert dialog.isVisible() and "'..'" in dialog.error.text()
            editor.table.item(0, editor.FOLDER).setText("Media/Films")
            editor.add_row()
            new_row = editor.table.rowCount() - 2
            editor.table.item(new_row, editor.NAME).setText("Books")
            editor.table.item(new_row, editor.FOLDER).setText("Books")
            editor.table.item(new_row, editor.EXTENSIONS).setText("epub, mobi")
            dialog.accept()
            assert not dialog.isVisible()

            async def stored() -> bool:
                table = (await window.queue.categories()).table
                return table[0].folder == "Media/Films" and table[-2].name == "Books"

            await until(stored, what="the categories stored")

    run(qloop, scenario())


def test_the_add_dialog_sorts_into_the_downloads_folder_by_type_as_add_does(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    download_folder: Path,
    http_server: LoopbackServer,
) -> None:
    body = make_body(100_000, seed=3)
    http_server.add("/clip.mp4", body)
    http_server.add("/other.mp4", body)

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            dialog = window.open_add_dialog(http_server.url("/clip.mp4"))
            assert dialog.folder.text() == str(download_folder)
            assert dialog.sort_by_type.isChecked()
            dialog.accept()
            await until(lambda: window.model.rowCount() == 1, what="a row")
            sorted_id = window.model.job_at(0).id
            await until(lambda: state_of(window, sorted_id) == JobState.DONE, what="done")
            # another folder: as `add -d`, not sorted
            dialog = window.open_add_dialog(http_server.url("/other.mp4"))
            dialog.folder.setText(str(downloads))
            assert not dialog.sort_by_type.isChecked()
            dialog.accept()
            await until(lambda: window.model.rowCount() == 2, what="two rows")
            other_id = next(
                window.model.job_at(r).id
                for r in range(2)
                if window.model.job_at(r).id != sorted_id
            )
            await until(lambda: state_of(window, other_id) == JobState.DONE, what="done")

    run(qloop, scenario())
    assert tree(download_folder) == ["Video/clip.mp4"]
    assert tree(downloads) == ["other.mp4"]
