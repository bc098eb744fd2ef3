"""The window's part of schedules and of "when the queue is done": real widgets, offscreen."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from drayman.jobs import JobState
from drayman.ui.app import Session
from drayman.ui.main_window import MainWindow
from drayman.ui.qt import QtWidgets
from httpserver import LoopbackServer, make_body
from test_gui import app_window, qloop, run, settings_file, until
from test_onidle import FAKE_COMMANDS, fake_platform
from test_schedules import BERLIN, Clock, at

__all__ = ["qloop"]  # the fixture, shared with test_gui.py

KiB = 1024


async def viewer(db_path: Path, **options: object) -> MainWindow:
    """A window over the job table (no engine of its own), as a viewer is."""
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(db_path)
    window = MainWindow(queue, engine_note="", default_folder="", poll_interval=0.05, **options)  # type: ignore[arg-type]
    window.watching = asyncio.ensure_future(window.watch())  # type: ignore[attr-defined]
    return window


async def close_viewer(window: MainWindow) -> None:
    window.watching.cancel()  # type: ignore[attr-defined]
    await asyncio.gather(window.watching, return_exceptions=True)  # type: ignore[attr-defined]
    await window.settle()
    window.close()
    await window.queue.close()


def test_the_schedule_tab_edits_the_bands_and_the_status_bar_says_quiet_hours(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    async def scenario() -> None:
        clock = Clock(at("2026-06-01 21:00"))
        window = await viewer(db_path, clock=clock, timezone=BERLIN)
        try:
            dialog = window.open_settings()
            tabs = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
            assert tabs[0] == "General" and "Schedule" in tabs
            tab = dialog.schedule
            await until(lambda: tab.loaded, what="the bands read")
            tab.spec.setText("mon-fro 09:00-18:00")
            tab.add_button.click()
            assert not tab.error.isHidden() and "'fro' is not a day" in tab.error.text()
            tab.spec.setText("daily 22:00-01:00")
            tab.add_button.click()
            tab.spec.setText("mon-fri 09:00-18:00")
            tab.action.setCurrentIndex(tab.action.findData("limit"))
            tab.rate.setText("500k")
            tab.add_button.click()
            tab.spec.setText("sat 10:00-11:00")
            tab.action.setCurrentIndex(tab.action.findData("pause"))
            tab.add_button.click()
            assert tab.table.rowCount() == 3
            tab.table.selectRow(2)
            tab.remove_selected()
            assert [tab.table.item(r, 0).text() for r in range(2)] == [
                "daily 22:00-01:00",
                "mon-fri 09:00-18:00",
            ]
            assert tab.table.item(1, 1).text() == "Limit to 500.0 KiB/s"
            dialog.accept()
            assert not dialog.isVisible()

            async def stored() -> list[tuple[str, int | None]]:
                return [(b.spec, b.rate) for b in await window.queue.schedules()]

            await until(
                lambda: _equals(
                    stored(), [("daily 22:00-01:00", None), ("mon-fri 09:00-18:00", 500 * KiB)]
                ),
                what="the bands stored",
            )
            assert window.schedule_label.text() == ""
            clock.now = at("2026-06-01 23:00")
            await until(lambda: window.schedule_label.text() == "quiet hours until 01:00")
            clock.now = at("2026-06-02 10:00")  # a Tuesday
            await until(lambda: window.schedule_label.text() == "schedule: 500.0 KiB/s")

            # removed in the tab, removed from the database
            again = window.open_settings()
            await until(lambda: again.schedule.loaded, what="the bands read")
            again.schedule.table.selectRow(0)
            again.schedule.remove_selected()
            again.accept()
            await until(
                lambda: _equals(stored(), [("mon-fri 09:00-18:00", 500 * KiB)]),
                what="the band removed",
            )
        finally:
            await close_viewer(window)

    run(qloop, scenario())


async def _equals(value: object, expected: object) -> bool:
    return await value == expected  # type: ignore[misc]


def test_the_add_dialog_can_ignore_the_schedule(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def scenario() -> None:
        window = await viewer(db_path)
        try:
            dialog = window.open_add_dialog()
            dialog.urls.setPlainText("http://127.0.0.1:1/urgent.iso")
            dialog.folder.setText(str(downloads))
            dialog.ignore_schedule.setChecked(True)
            dialog.accept()
            await until(lambda: window.model.rowCount() == 1, what="the job")
            job = window.model.job_at(0)
            assert job is not None and job.ignore_schedule
        finally:
            await close_viewer(window)

    run(qloop, scenario())


def test_settings_keep_the_on_idle_choice(qloop: asyncio.AbstractEventLoop, db_path: Path) -> None:
    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            dialog = window.open_settings()
            dialog.on_idle.setCurrentIndex(dialog.on_idle.findData("command"))
            dialog.accept()
            assert dialog.isVisible() and "Enter the command" in dialog.error.text()
            dialog.on_idle_command.setText("notify-send done")
            dialog.accept()
            assert not dialog.isVisible()
            assert window.settings.on_idle == "command:notify-send done"

    run(qloop, scenario())
    assert Session(db_path, settings_file(db_path)).settings.on_idle == "command:notify-send done"


def queue_with_a_failure(server: LoopbackServer, downloads: Path) -> tuple[list[str], Path]:
    server.add("/quick.bin", make_body(10 * KiB))
    server.add("/last.bin", make_body(300 * KiB, seed=4), rate=300 * KiB)
    urls = [server.url("/quick.bin"), server.url("/missing.bin"), server.url("/last.bin")]
    return urls, downloads / "last.bin"


@FAKE_COMMANDS
def test_the_window_shuts_down_once_after_the_last_job_and_cancel_stops_it(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls, last = queue_with_a_failure(http_server, downloads)
    bin_dir, record = fake_platform(tmp_path, last)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def calls() -> list[str]:
        return record.read_text().splitlines() if record.exists() else []

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            window.idle_countdown = 0.3
            dialog = window.open_settings()
            dialog.on_idle.setCurrentIndex(dialog.on_idle.findData("shutdown"))
            dialog.accept()
            await until(lambda: window.idle_watch.armed, what="armed")
            await window.queue.add(urls, dest_dir=downloads)
            await until(lambda: bool(calls()), what="the platform's command")
            assert calls() == ["systemctl poweroff last=done"]  # after the last job ended
            states = sorted(j.state for j in await window.queue.jobs())
            assert states == sorted([JobState.DONE, JobState.DONE, JobState.FAILED])
            await until(lambda: window.countdown is None, what="the countdown closed")

            # the next batch: Cancel stops it
            window.idle_countdown = 30
            http_server.add("/next.bin", make_body(10 * KiB))
            await window.queue.add([http_server.url("/next.bin")], dest_dir=downloads)
            await until(lambda: window.countdown is not None, what="the countdown")
            countdown = window.countdown
            assert countdown is not None and "Shutting down in 30 s" in countdown.label.text()
            countdown.cancel_button.click()
            cancelled = time.monotonic()
            assert window.countdown is None
            # well past when it would have fired, had it been left running
            window.idle_countdown = 0.3
            await until(lambda: time.monotonic() - cancelled > 1.0, what="time")
            assert calls() == ["systemctl poweroff last=done"]  # still the first one only

    run(qloop, scenario())


def test_the_countdown_counts_and_cancel_keeps_it_from_firing(qapp: QtWidgets.QApplication) -> None:
    from drayman.onidle import IdleAction
    from drayman.ui.countdown import CountdownDialog

    fired: list[bool] = []
    dialog = CountdownDialog(IdleAction("sleep"), 60)
    dialog.elapsed.connect(lambda: fired.append(True))
    dialog.show()
    assert "Going to sleep in 60 s" in dialog.label.text()
    dialog.cancel_button.click()
    assert not dialog.isVisible() and not dialog._timer.isActive()
    assert not fired
