"""The import preview and thumbnails: the real window, engine, loop and loopback servers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import lock_holder_pid, start_cli, stop_engine, wait_until
from drayman.batch import parse_import
from drayman.jobs import JobState, NewJob
from drayman.storage import JobStore
from drayman.ui import import_dialog
from drayman.ui.app import Session
from drayman.ui.import_dialog import Column, ImportDialog, ImportModel, Mark
from drayman.ui.jobs_model import Column as JobColumn
from drayman.ui.main_window import MainWindow
from drayman.ui.qt import Qt, QtCore, QtGui, QtWidgets
from httpserver import LoopbackServer, make_body
from test_gui import app_window, qloop, run, until

__all__ = ["qloop"]  # the fixture, shared with test_gui.py


def png(n: int, width: int = 160, height: int = 90) -> bytes:
    """A small PNG of its own colour."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor.fromHsv(n * 37 % 360, 160, 220))
    return _encode(image)


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: big enough to be decoded off the GUI thread."""
    pixels = make_body(width * height * 4, seed=99)
    image = QtGui.QImage(pixels, width, height, QtGui.QImage.Format.Format_RGB32).copy()
    return _encode(image)


def _encode(image: QtGui.QImage) -> bytes:
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def video(n: int) -> bytes:
    return make_body(2000 + n, seed=n)


def write_list(path: Path, items: Sequence[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(list(items)), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def opened(
    db_path: Path, tmp_path: Path, downloads: Path
) -> AsyncIterator[tuple[Session, MainWindow]]:
    """The window as the app opens it (thumbnails cached under tmp_path), closed as it closes."""
    async with app_window(db_path, thumbnail_cache=tmp_path / "thumbs") as (session, window):
        window.default_folder = str(downloads)
        window.show()
        yield session, window


async def preview_of(window: MainWindow, path: Path) -> ImportDialog:
    previous = window.import_dialog
    window.import_file(str(path))
    await until(
        lambda: window.import_dialog is not None and window.import_dialog is not previous,
        what="the preview",
    )
    dialog = window.import_dialog
    assert dialog is not None
    return dialog


def thumbnails_only(server: LoopbackServer, path: Path, count: int, *, delay: float) -> Path:
    """A list of ``count`` entries whose thumbnails come slowly; their videos are never fetched."""
    for n in range(count):
        server.add(f"/t/{n}.png", png(n), delay=delay)
    entries = [
        {"url": f"http://127.0.0.1:9/v/{n}", "thumbnail": server.url(f"/t/{n}.png")}
        for n in range(count)
    ]
    return write_list(path, entries)


def thumbnail_requests(server: LoopbackServer) -> int:
    return sum(1 for r in server.requests if r.path.startswith("/t/"))


def test_500_entries_load_thumbnails_progressively_and_add_only_the_ticked(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    count = 500
    items = []
    for n in range(count):
        http_server.add(f"/t/{n}.png", png(n), delay=0.05, content_type="image/png")
        http_server.add(f"/v/{n}.mp4", video(n), content_type="video/mp4")
        items.append(
            {
                "url": http_server.url(f"/v/{n}.mp4"),
                "title": f"Episode {n}: part/{n}",
                "author": f"Author {n % 10}",
                "thumbnail": http_server.url(f"/t/{n}.png"),
                "headers": {"Referer": "https://site.example/"},
            }
        )
    listing = write_list(tmp_path / "videos.json", items)
    thumbs = [item["thumbnail"] for item in items]
    wanted = [n for n in range(count) if n % 10 == 3][1:]  # Author 3, less the first

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            # a timer that must keep firing while the thumbnails load
            events: list[str | int] = []
            ticker = QtCore.QTimer()
            ticker.setInterval(10)
            ticker.timeout.connect(lambda: events.append("tick"))
            ticker.start()
            dialog = await preview_of(window, listing)
            dialog.images.ready.connect(lambda urls: events.append(len(urls)))

            def arrived() -> int:
                return sum(event for event in events if isinstance(event, int))

            await until(lambda: arrived() == count, timeout=120, what="500 thumbnails")
            ticker.stop()
            arrivals = [i for i, event in enumerate(events) if event != "tick"]
            # thumbnails came in several batches, and the loop ran timers
            # between every two of them: it was never blocked for a batch
            assert len(arrivals) >= 3
            gaps = [events[a + 1 : b] for a, b in itertools.pairwise(arrivals)]
            assert all("tick" in gap for gap in gaps)
            print(f"{len(arrivals)} batches, {events.count('tick')} ticks while loading")
            assert all(dialog.images.loaded(u) for u in thumbs)
            assert thumbnail_requests(http_server) == count
            # every thumbnail request carried the entry's Referer
            assert all(
                r.headers.get("Referer") == "https://site.example/"
                for r in http_server.requests
                if r.path.startswith("/t/")
            )

            # tick: none at all, then every Author 3 entry, then untick one by hand
            await until(dialog.planned.is_set, what="target paths")
            assert dialog.model.rows[3].target == os.path.join("Author 3", "Episode 3_ part_3.mp4")
            assert "Episode 0_ part_0.mp4" in dialog.example.text()
            dialog.none_button.click()
            assert dialog.model.checked_rows() == []
            assert not dialog.download_button.isEnabled()
            dialog.filter.setText("author 3")
            assert dialog.proxy.rowCount() == 50
            dialog.all_button.click()
            first = dialog.proxy.index(0, Column.CHECK)
            assert dialog.proxy.setData(
                first, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole
            )
            assert [row.number - 1 for row in dialog.model.checked_rows()] == wanted
            assert dialog.download_button.text() == "Download 49"
            assert "49 of 500 selected" in dialog.status.text()
            assert "free in the folder" in dialog.status.text()

            dialog.download_button.click()
            await until(lambda: window.import_dialog is None, what="the preview closing")
            ids = dialog.added_ids
            assert len(ids) == 49

            def all_done() -> bool:
                return all((j := window.model.job(i)) and j.state == JobState.DONE for i in ids)

            await until(all_done, timeout=120, what="downloads")
            jobs = await window.queue.jobs()
            assert sorted(j.url for j in jobs) == sorted(items[n]["url"] for n in wanted)
            assert all(j.thumbnail_url and j.title and j.author == "Author 3" for j in jobs)
            # the table shows their thumbnails (they are in the disk cache)
            assert not window.table.isColumnHidden(JobColumn.THUMB)

            # the same list again: thumbnails from the cache, duplicates marked
            again = await preview_of(window, listing)
            assert again.folder.text() == str(downloads)  # remembered
            await until(lambda: all(again.images.known(u) for u in thumbs), what="cached thumbs")
            assert thumbnail_requests(http_server) == count  # not one more
            assert all(again.images.loaded(u) for u in thumbs)
            await until(lambda: again.model.count(Mark.IN_QUEUE) == 49, what="queue marks")
            await until(lambda: again.model.count(Mark.ON_DISK) == 49, what="disk marks")
            assert len(again.model.checked_rows()) == count - 49  # duplicates start unticked
            again.reject()

    run(qloop, scenario())
    files = sorted(str(p.relative_to(downloads)) for p in downloads.rglob("*") if p.is_file())
    assert files == sorted(os.path.join("Author 3", f"Episode {n}_ part_{n}.mp4") for n in wanted)
    for n in wanted:
        assert (downloads / "Author 3" / f"Episode {n}_ part_{n}.mp4").read_bytes() == video(n)


def test_broken_thumbnails_show_the_placeholder_and_bad_entries_are_listed(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    http_server.add("/t/good.png", png(1))
    http_server.add("/t/large.png", big := noisy_png(160, 120))
    assert 32 * 1024 < len(big) < 200_000  # decoded off the GUI thread, under the cap
    http_server.add("/t/broken.png", b"this is not an image")
    http_server.add("/t/huge.png", make_body(200_001, seed=5))
    http_server.add("/t/reset.png", png(2) * 50, reset_after=100)
    for n in range(6):
        http_server.add(f"/v/{n}", video(n), content_type="video/webm")
    (downloads / "Bea").mkdir()
    (downloads / "Bea" / "Clip 0.webm").write_bytes(b"already here")
    thumbs = {
        0: "/t/good.png",
        1: "/t/large.png",
        2: "/t/broken.png",
        3: "/t/huge.png",
        4: "/t/missing.png",
        5: "/t/reset.png",
    }
    items: list[dict[str, Any]] = [
        {
            "url": http_server.url(f"/v/{n}"),
            "title": f"Clip {n}",
            "author": "Bea",
            "thumbnail": http_server.url(path),
        }
        for n, path in thumbs.items()
    ]
    items.insert(2, {"url": "ftp://example.org/x", "title": "bad scheme"})
    items.insert(4, {"title": "no url"})
    items.append({"url": http_server.url("/v/9"), "headers": {"Range": "bytes=0-"}})
    listing = write_list(tmp_path / "mixed.json", items)

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (session, window):
            assert session.thumbnails is not None
            session.thumbnails.max_bytes = 200_000
            dialog = await preview_of(window, listing)
            assert len(dialog.model.rows) == 6
            assert dialog.bad_list.isVisible()
            bad = dialog.bad_list.toPlainText().splitlines()
            assert [line.split(":")[0] for line in bad] == [
                "mixed.json item 3",
                "mixed.json item 5",
                "mixed.json item 9",
            ]
            assert "unsupported scheme" in bad[0] and "no 'url'" in bad[1] and "Range" in bad[2]
            urls = [http_server.url(path) for path in thumbs.values()]
            await until(lambda: all(dialog.images.known(u) for u in urls), what="thumbnails")
            loaded = [dialog.images.loaded(u) for u in urls]
            assert loaded == [True, True, False, False, False, False]
            large = dialog.images.pixmap(urls[1])
            assert (large.width(), large.height()) == (72, 54)  # scaled into 96x54
            placeholder = dialog.images.pixmap(None).cacheKey()
            assert all(dialog.images.pixmap(u).cacheKey() == placeholder for u in urls[2:])
            # the extension comes from the server: shown open, matched on disk
            await until(dialog.planned.is_set, what="target paths")
            assert dialog.model.rows[0].target == os.path.join("Bea", "Clip 0.{ext}")
            assert [bool(Mark.ON_DISK & row.marks) for row in dialog.model.rows] == [
                True,
                *[False] * 5,
            ]
            dialog.download_button.click()
            await until(lambda: window.import_dialog is None, what="closed")
            ids = dialog.added_ids

            def all_done() -> bool:
                return all((j := window.model.job(i)) and j.state == JobState.DONE for i in ids)

            await until(all_done, timeout=60, what="downloads")

    run(qloop, scenario())
    for n in range(6):
        # Clip 0 is not overwritten: the new one gets its own name
        name = "Clip 0 (1).webm" if n == 0 else f"Clip {n}.webm"
        assert (downloads / "Bea" / name).read_bytes() == video(n)
    assert (downloads / "Bea" / "Clip 0.webm").read_bytes() == b"already here"


def test_closing_the_preview_cancels_pending_thumbnails(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    count = 200
    listing = thumbnails_only(http_server, tmp_path / "list.json", count, delay=0.05)

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (session, window):
            fetcher = session.thumbnails
            assert fetcher is not None
            dialog = await preview_of(window, listing)
            got: list[str] = []
            dialog.images.ready.connect(got.extend)
            await until(lambda: bool(got), what="a first thumbnail")
            dialog.reject()
            assert dialog.images.pending() == 0
            await until(lambda: fetcher.in_flight == 0, what="requests stopped")
            sent = thumbnail_requests(http_server)
            assert sent < count
            # nothing is left to ask for more: a later look sees the same count
            http_server.add("/probe", b"x")
            assert await fetcher.fetch(http_server.url("/probe")) == b"x"
            assert thumbnail_requests(http_server) == sent
            assert await window.queue.jobs() == []  # a closed preview adds nothing

    run(qloop, scenario())


def test_rows_scrolled_into_view_get_their_thumbnails_first(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    count = 400
    listing = thumbnails_only(http_server, tmp_path / "list.json", count, delay=0.2)

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            dialog = await preview_of(window, listing)
            dialog.table.scrollToBottom()
            last = http_server.url(f"/t/{count - 1}.png")
            await until(lambda: dialog.images.loaded(last), what="the last row's thumbnail")
            # it jumped the line: the middle of the list is still waiting
            assert not dialog.images.known(http_server.url(f"/t/{count // 2}.png"))
            dialog.reject()

    run(qloop, scenario())


def drop(window: QtWidgets.QWidget, mime: QtCore.QMimeData) -> None:
    """A real drop event, delivered the way Qt delivers one."""
    point = QtCore.QPointF(20, 20)
    actions = Qt.DropAction.CopyAction
    enter = QtGui.QDragEnterEvent(
        point.toPoint(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QtWidgets.QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QtGui.QDropEvent(
        point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QtWidgets.QApplication.sendEvent(window, event)


def test_dropping_a_list_opens_the_preview_and_one_url_the_add_dialog(
    qloop: asyncio.AbstractEventLoop,
    qtbot: Any,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    listing = write_list(
        tmp_path / "dropped.json",
        [{"url": http_server.url("/v/a"), "title": "A"}, {"url": http_server.url("/v/b")}],
    )
    movie = tmp_path / "movie.mp4"
    movie.write_bytes(b"\x00\x01")

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            mime = QtCore.QMimeData()
            mime.setUrls([QtCore.QUrl.fromLocalFile(str(listing))])
            drop(window, mime)
            await until(lambda: window.import_dialog is not None, what="the preview")
            dialog = window.import_dialog
            assert dialog is not None
            assert [row.title for row in dialog.model.rows] == ["A", "b"]
            assert "dropped.json" in dialog.windowTitle()
            # Space ticks and unticks the selected rows
            dialog.table.setFocus()
            dialog.table.selectRow(1)
            qtbot.keyClick(dialog.table, Qt.Key.Key_Space)
            assert [row.checked for row in dialog.model.rows] == [True, False]
            dialog.reject()
            await until(lambda: window.import_dialog is None, what="closed")

            # links dragged from a browser: two make a batch
            links = QtCore.QMimeData()
            links.setUrls([QtCore.QUrl(http_server.url(f"/v/{n}")) for n in "xy"])
            drop(window, links)
            await until(lambda: window.import_dialog is not None, what="a preview of links")
            assert window.import_dialog is not None
            assert len(window.import_dialog.model.rows) == 2
            window.import_dialog.reject()
            await until(lambda: window.import_dialog is None, what="closed")

            # one URL: the Add dialog, where a file name and checksum can be given
            one = QtCore.QMimeData()
            one.setText(http_server.url("/v/single"))
            drop(window, one)
            await until(lambda: find_add_dialog(window) is not None, what="the add dialog")
            add = find_add_dialog(window)
            assert add is not None
            assert add.urls.toPlainText() == http_server.url("/v/single")
            add.reject()

            # many pasted URLs: the preview
            QtWidgets.QApplication.clipboard().setText(
                "\n".join(http_server.url(f"/v/p{n}") for n in range(3))
            )
            window.paste_action.trigger()
            await until(lambda: window.import_dialog is not None, what="a preview of pasted URLs")
            assert window.import_dialog is not None
            assert len(window.import_dialog.model.rows) == 3
            window.import_dialog.reject()

            # a file that is not a list, and one that cannot be read: a message, no traceback
            other = QtCore.QMimeData()
            other.setUrls([QtCore.QUrl.fromLocalFile(str(movie))])
            drop(window, other)
            assert "movie.mp4 is not a list" in (window.last_error or "")
            await asyncio.wait([window.import_file(str(tmp_path / "gone.json"))])
            assert window.last_error is not None
            assert "cannot read gone.json" in window.last_error
            assert await window.queue.jobs() == []

    run(qloop, scenario())


def find_add_dialog(window: MainWindow) -> Any:
    from drayman.ui.add_dialog import AddDialog

    for child in window.findChildren(AddDialog):
        if child.isVisible():
            return child
    return None


def test_file_menu_has_add_import_settings_and_quit(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            [file_menu, *_] = [a.menu() for a in window.menuBar().actions() if a.menu()]
            texts = [a.text() for a in file_menu.actions() if not a.isSeparator()]
            assert texts == [
                "Add…",
                "Import…",
                "Import from a page…",
                "Paste URLs",
                "Settings…",
                "Quit",
            ]
            chooser = window.choose_import_file()
            assert chooser.isVisible()
            listing = write_list(tmp_path / "chosen.csv", [])
            listing.write_text("url,title\nhttp://127.0.0.1:9/a,A\nhttp://127.0.0.1:9/b,B\n")
            chooser.fileSelected.emit(str(listing))
            chooser.reject()
            await until(lambda: window.import_dialog is not None, what="the preview")
            assert window.import_dialog is not None
            assert [r.title for r in window.import_dialog.model.rows] == ["A", "B"]

    run(qloop, scenario())


def test_closing_the_window_ends_every_task_of_an_open_preview(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No task outlives the session (and its loop): none is left "destroyed but pending"."""
    looking = asyncio.Event()

    async def slow_disk(jobs: Sequence[NewJob]) -> list[bool]:
        looking.set()
        await asyncio.Event().wait()  # a network drive that never answers
        return [False] * len(jobs)

    monkeypatch.setattr(import_dialog, "files_on_disk", slow_disk)
    listing = tmp_path / "list.txt"
    listing.write_text("http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b\n")

    async def scenario() -> list[asyncio.Task[Any]]:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            dialog = await preview_of(window, listing)
            await until(looking.is_set, what="the plan looking at the disk")
            assert dialog.pending() > 0
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert run(qloop, scenario()) == []


def test_the_settings_dialog_keeps_the_import_template(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            window.settings = dataclasses.replace(window.settings, import_template="{title}.{ext}")
            dialog = window.open_settings()
            dialog.accept()
            assert window.settings.import_template == "{title}.{ext}"

    run(qloop, scenario())


def test_the_job_table_loads_thumbnails_of_visible_rows_only(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    count = 300
    for n in range(count):
        http_server.add(f"/t/{n}.png", png(n))

    async def fill() -> None:
        async with await JobStore.open(db_path) as store:
            await store.add(
                [
                    NewJob(
                        url=f"http://127.0.0.1:9/v/{n}.mp4",
                        dest_dir=str(downloads),
                        title=f"Video {n}",
                        thumbnail_url=http_server.url(f"/t/{n}.png"),
                    )
                    for n in range(count)
                ]
            )
            await store.change_all(JobState.PAUSED)

    asyncio.run(fill())

    async def scenario() -> None:
        async with opened(db_path, tmp_path, downloads) as (_, window):
            window.resize(900, 500)
            await until(lambda: window.model.rowCount() == count, what="rows")
            await until(lambda: not window.table.isColumnHidden(JobColumn.THUMB), what="column")
            first = http_server.url("/t/0.png")
            await until(lambda: window.thumbs.loaded(first), what="the first row's thumbnail")
            shown = thumbnail_requests(http_server)
            assert 0 < shown < 60  # a screenful, not the 300
            last = http_server.url(f"/t/{count - 1}.png")
            assert not window.thumbs.known(last)
            window.table.scrollToBottom()
            await until(lambda: window.thumbs.loaded(last), what="the last row's thumbnail")
            assert thumbnail_requests(http_server) < 120

    run(qloop, scenario())


def test_a_viewer_loads_thumbnails_with_its_own_session_and_the_other_engine_downloads(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
) -> None:
    for n in range(3):
        http_server.add(f"/t/{n}.png", png(n))
        http_server.add(f"/v/{n}.mp4", video(n))
    listing = tmp_path / "list.jsonl"
    listing.write_text(
        "".join(
            json.dumps(
                {
                    "url": http_server.url(f"/v/{n}.mp4"),
                    "title": f"T{n}",
                    "author": "Cy",
                    "thumbnail": http_server.url(f"/t/{n}.png"),
                }
            )
            + "\n"
            for n in range(3)
        )
    )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = start_cli(db_path, "run")
    try:
        # read the pid, never try the lock: a try at the moment the engine takes it
        # would make the engine find it held and refuse to start
        wait_until(
            lambda: lock_holder_pid(db_path) == str(engine.pid), timeout=30, what="the engine"
        )

        async def scenario() -> None:
            async with opened(db_path, tmp_path, downloads) as (session, window):
                assert session.engine is None  # a viewer: the other process downloads
                dialog = await preview_of(window, listing)
                urls = [http_server.url(f"/t/{n}.png") for n in range(3)]
                await until(lambda: all(dialog.images.loaded(u) for u in urls), what="thumbs")
                await until(dialog.planned.is_set, what="targets")
                dialog.download_button.click()
                await until(lambda: window.import_dialog is None, what="closed")
                ids = dialog.added_ids

                def all_done() -> bool:
                    return all((j := window.model.job(i)) and j.state == JobState.DONE for i in ids)

                await until(all_done, timeout=60, what="downloads by the other engine")

        run(qloop, scenario())
    finally:
        stop_engine(engine, timeout=30)
    for n in range(3):
        assert (downloads / "Cy" / f"T{n}.mp4").read_bytes() == video(n)


def test_import_model_passes_the_item_model_tester(qtmodeltester: Any, qapp: Any) -> None:
    result = parse_import("http://h/1\nhttp://h/2\nhttp://h/1\n", source="l.txt")
    model = ImportModel(result.entries)
    qtmodeltester.check(model, force_py=True)
    assert [row.checked for row in model.rows] == [True, True, False]  # a repeat starts unticked
    assert model.index(2, Column.NOTE).data() == "twice in the list"
    model.set_checked([0, 1, 2], None)
    assert [row.checked for row in model.rows] == [False, False, True]
    model.set_in_queue({"http://h/2"})
    assert model.index(1, Column.NOTE).data() == "in the queue"
    model.set_plan([("a", "/d/a"), ("b", "/d/b"), ("c", "/d/c")], [False, True, False])
    model.flush()
    assert model.index(1, Column.NOTE).data() == "in the queue, on disk"
    assert model.index(2, Column.TARGET).data() == "c"
    qtmodeltester.check(model, force_py=True)
