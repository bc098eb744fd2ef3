"""The real window under QT_QPA_PLATFORM=offscreen, on a real qasync loop and engine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import async_wait_until
from drayman.jobs import Job, JobState, NewJob
from drayman.queue.jobqueue import JobQueue
from drayman.queue.progress import EngineSnapshot, JobProgress
from drayman.storage import JobStore
from drayman.ui.app import Session, make_loop, opened_window
from drayman.ui.jobs_model import Column, JobIdRole, JobsModel
from drayman.ui.main_window import MainWindow
from drayman.ui.qt import QtCore, QtWidgets
from httpserver import LoopbackServer, make_body
from proxyserver import HttpProxy

MiB = 1024 * 1024


@pytest.fixture
def qloop(qapp: QtWidgets.QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    qapp.setQuitOnLastWindowClosed(False)  # as the app does: the loop decides when to quit
    loop = make_loop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


async def until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 20, what: str = ""
) -> None:
    await async_wait_until(predicate, timeout, what)


def settings_file(db_path: Path) -> QtCore.QSettings:
    """Settings of the test's own, never the user's."""
    return QtCore.QSettings(
        str(db_path.parent.parent / "settings.ini"), QtCore.QSettings.Format.IniFormat
    )


def app_window(
    db_path: Path, **options: Any
) -> contextlib.AbstractAsyncContextManager[tuple[Session, MainWindow]]:
    """The window as the app opens it (with settings of the test's own), closed as it closes."""
    return opened_window(db_path, settings_file(db_path), **options)


def state_of(window: MainWindow, job_id: int) -> JobState | None:
    job = window.model.job(job_id)
    return None if job is None else job.state


def select(window: MainWindow, job_id: int) -> None:
    proxy = window.proxy
    for row in range(proxy.rowCount()):
        if proxy.index(row, 0).data(JobIdRole) == job_id:
            window.table.selectRow(row)
            return
    raise AssertionError(f"job {job_id} is not in the table")


def run(loop: asyncio.AbstractEventLoop, coro: Awaitable[Any]) -> Any:
    return loop.run_until_complete(coro)


def make_job(i: int, state: JobState) -> Job:
    return Job(
        id=i,
        url=f"http://h/{i}",
        host="h",
        original_url=f"http://h/{i}",
        effective_url=None,
        dest_dir="/tmp",
        requested_name=None,
        file_name=f"f{i}",
        state=state,
        bytes_done=i,
        bytes_total=100,
        etag=None,
        last_modified=None,
        headers=(),
        sha256=None,
        attempts=0,
        next_attempt_at=None,
        error=None,
        created_at=1.0 + i,
        updated_at=1.0,
        finished_at=None,
        priority=0,
        position=i,
    )


def test_model_passes_the_item_model_tester(qtmodeltester: Any, qapp: Any) -> None:
    model = JobsModel()
    model.set_jobs([make_job(i, JobState.QUEUED) for i in range(1, 6)])
    qtmodeltester.check(model, force_py=True)
    model.set_jobs([make_job(i, JobState.DONE) for i in (2, 3, 7)])
    model.apply_progress(EngineSnapshot((JobProgress(3, "f3", 50, 100, 10.0),), (), 10.0))
    model.flush()
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 3
    assert model.index(1, Column.SPEED).data() == "10 B/s"


def test_add_through_the_dialog_pause_resume_and_retry(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    slow = make_body(6 * MiB, seed=1)
    quick = make_body(300_000, seed=2)
    slow_res = http_server.add("/slow.bin", slow, rate=2 * MiB)
    http_server.add("/quick.bin", quick)

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            window.show()
            dialog = window.open_add_dialog()
            dialog.urls.setPlainText(
                f"{http_server.url('/slow.bin')}\n{http_server.url('/quick.bin')}"
            )
            dialog.folder.setText(str(downloads))
            dialog.accept()
            await until(lambda: window.model.rowCount() == 2, what="two rows")
            slow_id, quick_id = (window.model.job_at(r).id for r in range(2))
            await until(lambda: state_of(window, quick_id) == JobState.DONE, what="quick done")
            await until(lambda: state_of(window, slow_id) == JobState.RUNNING, what="slow running")
            select(window, slow_id)
            window.pause_action.trigger()
            await until(lambda: state_of(window, slow_id) == JobState.PAUSED, what="paused")
            await until(lambda: not http_server.in_flight.get("/slow.bin"), what="server idle")
            requests_before = len(http_server.requests_for("/slow.bin"))
            slow_res.rate = None
            window.resume_action.trigger()
            await until(lambda: state_of(window, slow_id) == JobState.DONE, what="slow done")
            assert len(http_server.requests_for("/slow.bin")) == requests_before + 1
            assert http_server.requests_for("/slow.bin")[-1].headers["Range"].startswith("bytes=")
            # a failing job, retried from the toolbar
            http_server.add("/flaky", b"", status_script=[(404, {})])
            [flaky] = await window.queue.add([http_server.url("/flaky")], dest_dir=downloads)
            await until(lambda: state_of(window, flaky) == JobState.FAILED, what="failed")
            http_server.add("/flaky", b"fixed")
            window.table.clearSelection()
            select(window, flaky)
            window.retry_action.trigger()
            await until(lambda: state_of(window, flaky) == JobState.DONE, what="retried")
            assert "404" not in (window.model.job(flaky).error or "")  # type: ignore[union-attr]

    run(qloop, scenario())
    assert (downloads / "slow.bin").read_bytes() == slow
    assert (downloads / "quick.bin").read_bytes() == quick
    assert (downloads / "flaky").read_bytes() == b"fixed"


def test_bad_urls_stay_in_the_dialog_with_a_plain_message(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            dialog = window.open_add_dialog()
            dialog.urls.setPlainText("http://127.0.0.1:9/ok\nftp://nope/x")
            dialog.folder.setText(str(downloads))
            dialog.accept()
            assert dialog.isVisible()
            assert "Line 2" in dialog.error.text() and "ftp" in dialog.error.text()
            assert "Traceback" not in dialog.error.text()
            dialog.reject()
            assert await window.queue.jobs() == []

    run(qloop, scenario())


def test_the_add_dialog_can_skip_the_certificate_check_of_a_trusted_server(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, https_server: LoopbackServer
) -> None:
    """The window's answer to "does not verify; ... --insecure": a box to tick."""
    body = make_body(200_000, seed=8)
    https_server.add("/nas.bin", body)
    https_server.add("/other.bin", body)

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            for path, insecure in (("/other.bin", False), ("/nas.bin", True)):
                dialog = window.open_add_dialog()
                dialog.urls.setPlainText(https_server.url(path))
                dialog.folder.setText(str(downloads))
                dialog.insecure.setChecked(insecure)
                dialog.accept()  # closes once the folder is known to take files
                await until(lambda d=dialog: not d.isVisible(), what=dialog.error.text())
            await until(lambda: window.model.rowCount() == 2, what="two rows")
            by_path = {
                job.url.rsplit("/", 1)[1]: job.id
                for job in map(window.model.job_at, range(window.model.rowCount()))
            }
            checked, trusted = by_path["other.bin"], by_path["nas.bin"]
            await until(lambda: state_of(window, trusted) == JobState.DONE, what="done")
            await until(lambda: state_of(window, checked) == JobState.FAILED, what="failed")
            failed = window.model.job(checked)
            assert failed is not None and "does not verify" in (failed.error or "")

    run(qloop, scenario())
    assert (downloads / "nas.bin").read_bytes() == body
    assert not (downloads / "other.bin").exists()


def test_a_pause_from_another_process_shows_and_close_leaves_jobs_resumable(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(8 * MiB, seed=3)
    http_server.add("/a.bin", body, rate=2 * MiB)
    http_server.add("/b.bin", body, rate=2 * MiB)

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            a, b = await window.queue.add(
                [http_server.url("/a.bin"), http_server.url("/b.bin")], dest_dir=downloads
            )
            await until(lambda: state_of(window, a) == JobState.RUNNING, what="running")
            cli = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "drayman", "--db", str(db_path), "pause", str(a)
            )
            assert await cli.wait() == 0
            started = time.monotonic()
            await until(lambda: state_of(window, a) == JobState.PAUSED, timeout=5, what="paused")
            print(f"pause from another process shown after {time.monotonic() - started:.2f} s")

            async def saved() -> bool:
                return (await window.queue.get(b)).bytes_done > 0

            await until(saved, what="a checkpoint of b")

    run(qloop, scenario())

    async def check() -> None:
        async with await JobStore.open(db_path) as store:
            jobs = await store.jobs()
        states = {job.id: job.state for job in jobs}
        assert states == {1: JobState.PAUSED, 2: JobState.QUEUED}
        for job in jobs:
            assert job.part_path is not None
            assert Path(job.part_path).stat().st_size == job.bytes_done
            assert Path(job.part_path).read_bytes() == body[: job.bytes_done]

    asyncio.run(check())


def test_opens_with_100k_jobs(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def fill() -> None:
        async with await JobStore.open(db_path) as store:
            jobs = [
                NewJob(url=f"http://127.0.0.1:9/f{i}", dest_dir=str(downloads))
                for i in range(100_000)
            ]
            await store.add(jobs)
            await store.change_all(JobState.PAUSED)  # nothing should try to download

    asyncio.run(fill())

    async def scenario() -> None:
        started = time.monotonic()
        async with app_window(db_path) as (_, window):
            window.show()
            await until(lambda: window.model.rowCount() == 100_000, timeout=60, what="100k rows")
            print(f"100k rows in the model after {time.monotonic() - started:.2f} s")
            window.search.setText("f99999")
            assert window.proxy.rowCount() == 1
            assert window.proxy.index(0, Column.NAME).data() == "f99999"

    run(qloop, scenario())


def test_returning_none_from_a_model_keeps_none_alive(qapp: Any) -> None:
    """PySide6 6.12.0 lost a reference to None per None returned by data().

    On Python 3.11 None is reference-counted: the window then crashed
    ("deallocating None") within seconds of live updates. pyproject.toml
    excludes that version; this guards against its return.
    """
    model = JobsModel()
    model.set_jobs([make_job(1, JobState.QUEUED)])
    index = model.index(0, Column.SPEED)
    before = sys.getrefcount(None)
    for _ in range(1000):
        index.data(QtCore.Qt.ItemDataRole.FontRole)
    assert sys.getrefcount(None) - before > -100


def test_settings_apply_live_and_persist(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path
) -> None:
    async def scenario() -> None:
        async with app_window(db_path) as (session, window):
            dialog = window.open_settings()
            dialog.max_speed.setText("fast")
            dialog.accept()
            assert dialog.isVisible() and "not a rate" in dialog.error.text()
            dialog.max_speed.setText("1.5M")
            dialog.concurrency.setValue(2)
            dialog.max_attempts.setValue(3)
            dialog.split.setValue(2)
            dialog.folder.setText(str(downloads))
            dialog.accept()
            assert not dialog.isVisible()
            assert session.engine is not None
            config = session.engine.config
            assert (config.concurrency, config.max_speed) == (2, 1536 * 1024)
            assert config.retry.max_attempts == 3
            assert config.transfer.split == 2
            assert window.default_folder == str(downloads)

    run(qloop, scenario())
    reloaded = Session(db_path, settings_file(db_path)).settings
    assert (reloaded.concurrency, reloaded.max_speed, reloaded.max_attempts) == (2, 1536 * 1024, 3)
    assert reloaded.split == 2
    assert reloaded.default_folder == str(downloads)


def test_the_window_is_closed_and_its_engine_let_go_even_when_its_block_fails(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    # opened_window is how the tests and the screenshot scripts (docs/shot.py) open it
    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="the scene failed"):
            async with opened_window(db_path, settings_file(db_path)) as (session, window):
                assert session.engine is not None
                window.show()
                raise RuntimeError("the scene failed")
        assert not window.isVisible()
        # the engine's lock was let go: the next window runs its own engine, not a viewer
        async with app_window(db_path) as (again, _):
            assert again.engine is not None

    run(qloop, scenario())


def test_the_chinese_translation_loads_and_changes_visible_text(
    qapp: QtWidgets.QApplication, db_path: Path
) -> None:
    from drayman.queue.jobqueue import JobQueue
    from drayman.ui.app import install_translator

    translator = install_translator(qapp, "zh_CN")
    assert translator is not None
    try:
        queue = asyncio.run(JobQueue.open(db_path))
        window = MainWindow(queue, engine_note="", default_folder="/tmp")
        assert window.pause_action.text() == "暂停"
        assert window.model.headerData(Column.NAME, QtCore.Qt.Orientation.Horizontal) == "名称"
        window.close()
        asyncio.run(queue.close())
    finally:
        qapp.removeTranslator(translator)
    assert install_translator(qapp, "en") is None


def test_failures_and_the_end_of_a_batch_are_announced(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/ok.bin", b"fine")

    async def scenario() -> None:
        async with app_window(db_path) as (_, window):
            await window.queue.add(
                [http_server.url("/ok.bin"), http_server.url("/gone.bin")], dest_dir=downloads
            )
            await until(
                lambda: (
                    "gone.bin failed" in (window.last_notification or "")
                    or "finished" in (window.last_notification or "")
                ),
                what="a notice",
            )
            summary = "Downloads have finished: 1 done, 1 failed."
            await until(lambda: window.last_notification == summary, what="the end of the batch")
            assert window.statusBar().currentMessage() == summary
            # the failed row is a click away: the red count in the status bar
            assert 'href="failed"' in window.counts_label.text()
            window.counts_label.linkActivated.emit("failed")
            assert window.group.currentData() == "failed"
            assert window.proxy.rowCount() == 1
            assert window.proxy.index(0, Column.NAME).data() == "gone.bin"
            http_server.add("/again.bin", b"fine")
            await window.queue.add([http_server.url("/again.bin")], dest_dir=downloads)
            summary = "All downloads have finished: 1 done."
            await until(lambda: window.last_notification == summary, what="the next batch")

    run(qloop, scenario())


def test_move_up_raises_priority_and_the_engine_starts_it_first(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    for name in ("a", "b", "c"):
        http_server.add(f"/{name}", name.encode() * 1000)

    async def scenario() -> None:
        # queued and paused before any engine runs: one started meanwhile
        # would send the first request before the pause lands
        queue = await JobQueue.open(db_path)
        ids = await queue.add(
            [http_server.url(f"/{n}") for n in ("a", "b", "c")], dest_dir=downloads
        )
        await queue.pause(ids)
        await queue.close()
        async with app_window(db_path) as (session, window):
            assert session.engine is not None
            await until(lambda: window.model.rowCount() == 3, what="rows")
            select(window, ids[2])
            window.up_action.trigger()
            await until(lambda: window.model.job(ids[2]).priority == 1, what="priority")  # type: ignore[union-attr]
            assert window.model.index(2, Column.PRIORITY).data() == "+1"
            session.engine.set_concurrency(1, 1)
            await window.queue.resume(ids)
            await until(
                lambda: all(state_of(window, i) == JobState.DONE for i in ids), what="all done"
            )

    run(qloop, scenario())
    assert next(iter(r.path for r in http_server.requests)) == "/c"


def test_the_proxy_setting_applies_live_and_never_shows_its_password(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    secret = "pr0xy-pa55word"

    async def scenario() -> None:
        async with app_window(db_path) as (session, window):
            assert session.engine is not None
            assert session.engine.config.transfer.proxy_from_environment
            dialog = window.open_settings()
            dialog.proxy_mode.setCurrentIndex(dialog.proxy_mode.findData("manual"))
            assert dialog.proxy_url.isEnabled()
            dialog.proxy_url.setText("ftp://nowhere")
            dialog.accept()
            assert dialog.isVisible() and "not a proxy" in dialog.error.text()
            dialog.proxy_url.setText(f"socks5h://ann:{secret}@127.0.0.1:9050")
            dialog.accept()
            assert not dialog.isVisible()
            transfer = session.engine.config.transfer
            assert transfer.proxy == f"socks5h://ann:{secret}@127.0.0.1:9050"
            assert transfer.proxy_from_environment
            # shown again with the password hidden; left as it is, it is kept
            again = window.open_settings()
            assert again.proxy_url.text() == "socks5h://ann:***@127.0.0.1:9050"
            again.accept()
            assert session.engine.config.transfer.proxy == transfer.proxy
            off = window.open_settings()
            off.proxy_mode.setCurrentIndex(off.proxy_mode.findData("direct"))
            off.accept()
            transfer = session.engine.config.transfer
            assert transfer.proxy is None and not transfer.proxy_from_environment

    run(qloop, scenario())
    assert Session(db_path, settings_file(db_path)).settings.proxy == "direct"


PROXY_PASSWORD = "pr0xy-pa55word"
PROXY_URL = f"http://ann:{PROXY_PASSWORD}@127.0.0.1:3128"


def assert_proxy_kept_privately(db_path: Path) -> None:
    """The proxy's password is in its private file only, never in the settings file."""
    from drayman.ui.proxyfile import proxy_path

    settings_bytes = Path(settings_file(db_path).fileName()).read_bytes()
    assert PROXY_PASSWORD.encode() not in settings_bytes
    assert b"ann" not in settings_bytes and b"3128" not in settings_bytes
    store = settings_file(db_path)
    assert store.value("proxy_mode") == "manual" and not store.contains("proxy")
    assert proxy_path().read_text(encoding="utf-8") == PROXY_URL + "\n"
    assert proxy_path().parent == db_path.parent.parent / "config"  # beside the RPC secret
    if sys.platform != "win32":  # POSIX modes; Windows keeps the profile folder's ACLs
        assert stat.S_IMODE(proxy_path().stat().st_mode) == 0o600
    assert [p.name for p in proxy_path().parent.iterdir()] == ["window-proxy"]  # no temp left


async def reopened_proxy(db_path: Path) -> tuple[str, str | None, str]:
    """A fresh window's proxy setting, its engine's proxy, and what its dialog shows."""
    async with app_window(db_path) as (session, window):
        assert session.engine is not None
        shown = window.open_settings().proxy_url.text()
        return session.settings.proxy, session.engine.config.transfer.proxy, shown


def test_the_proxy_password_is_kept_in_a_private_file_not_in_the_settings_file(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    from drayman.ui.proxyfile import proxy_path

    async def scenario() -> None:
        async with app_window(db_path) as (session, window):
            dialog = window.open_settings()
            dialog.proxy_mode.setCurrentIndex(dialog.proxy_mode.findData("manual"))
            dialog.proxy_url.setText(PROXY_URL)
            dialog.accept()
            assert session.engine is not None
            assert session.engine.config.transfer.proxy == PROXY_URL
            # saved again without touching the field: the password stays
            window.open_settings().accept()
        assert_proxy_kept_privately(db_path)
        assert await reopened_proxy(db_path) == (
            PROXY_URL,
            PROXY_URL,
            "http://ann:***@127.0.0.1:3128",
        )
        # another choice takes the file away: no password left behind
        async with app_window(db_path) as (_, window):
            off = window.open_settings()
            off.proxy_mode.setCurrentIndex(off.proxy_mode.findData(""))
            off.accept()
        assert not proxy_path().exists()
        assert settings_file(db_path).value("proxy_mode") == "environment"
        assert (await reopened_proxy(db_path))[:2] == ("", None)

    run(qloop, scenario())


@pytest.mark.parametrize("loss", ["deleted", "garbled"])
def test_a_manual_proxy_whose_file_is_lost_is_said_and_nothing_goes_around_it(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    http_proxy: HttpProxy,
    loss: str,
) -> None:
    from drayman.proxies import DIRECT
    from drayman.ui.proxyfile import proxy_path

    body = make_body(300_000, seed=3)
    http_server.add("/held.bin", body)
    http_server.add("/own.bin", body)

    async def scenario() -> None:
        async with app_window(db_path) as (session, window):
            dialog = window.open_settings()
            dialog.proxy_mode.setCurrentIndex(dialog.proxy_mode.findData("manual"))
            dialog.proxy_url.setText(http_proxy.proxy_url)
            dialog.accept()
        if loss == "deleted":  # by a cleaner, by hand
            proxy_path().unlink()
        else:  # not text any more (a disk error, another program's write)
            proxy_path().write_bytes(b"\xff\xfe\x00\x9c")
        queue = await JobQueue.open(db_path)
        try:
            [held] = await queue.add([http_server.url("/held.bin")], dest_dir=downloads)
            # a job with a proxy (here: none) of its own does not depend on the window's
            [own] = await queue.add([http_server.url("/own.bin")], dest_dir=downloads, proxy=DIRECT)
        finally:
            await queue.close()
        async with app_window(db_path) as (session, window):
            assert session.engine is not None
            # said at once, in words, with the file and what is wrong
            assert window.last_error is not None
            assert "The proxy chosen in Settings cannot be read" in window.last_error
            assert str(proxy_path()) in window.last_error
            assert "Traceback" not in window.last_error
            assert window.engine_label.text() == "Waiting for the proxy: give it again in Settings"
            # the engine downloads the job that does not need the proxy: it has
            # looked at the queue, and left the other one waiting
            await until(lambda: state_of(window, own) == JobState.DONE, what="own proxy job")
            assert state_of(window, held) == JobState.QUEUED
            assert http_server.requests_for("/held.bin") == []
            # the settings show the proxy chosen, its URL to give again
            dialog = window.open_settings()
            assert dialog.proxy_mode.currentData() == "manual" and dialog.proxy_url.isEnabled()
            assert dialog.proxy_url.text() == ""
            assert str(proxy_path()) in dialog.error.text()
            dialog.accept()  # as it is: refused, a proxy is needed
            assert dialog.isVisible() and "not a proxy" in dialog.error.text()
            # anything else saved meanwhile keeps the proxy chosen, and held
            window.remember_folder(str(downloads / "elsewhere"))
            assert settings_file(db_path).value("proxy_mode") == "manual"
            assert state_of(window, held) == JobState.QUEUED
            dialog.proxy_url.setText(http_proxy.proxy_url)
            dialog.accept()
            assert not dialog.isVisible()
            await until(lambda: state_of(window, held) == JobState.DONE, what="held job")
            assert window.engine_label.text() == "Downloading (own engine)"
        # every byte of it came through the proxy: none went around it
        through = [r for r in http_proxy.requests if r.path.endswith("/held.bin")]
        assert len(through) == len(http_server.requests_for("/held.bin")) > 0
        assert (downloads / "held.bin").read_bytes() == body
        assert proxy_path().read_text(encoding="utf-8") == http_proxy.proxy_url + "\n"

    run(qloop, scenario())


def test_a_proxy_an_older_version_kept_in_the_settings_file_moves_to_the_private_file(
    qloop: asyncio.AbstractEventLoop, db_path: Path
) -> None:
    old = settings_file(db_path)
    old.setValue("proxy", PROXY_URL)  # as versions before the private file kept it
    old.setValue("concurrency", 5)
    old.sync()
    assert PROXY_PASSWORD.encode() in Path(old.fileName()).read_bytes()

    async def scenario() -> None:
        previous = os.umask(0)  # the file is private whatever the umask
        try:
            assert await reopened_proxy(db_path) == (
                PROXY_URL,
                PROXY_URL,
                "http://ann:***@127.0.0.1:3128",
            )
        finally:
            os.umask(previous)
        assert_proxy_kept_privately(db_path)
        assert settings_file(db_path).value("concurrency") in (5, "5")  # the rest stays
        assert (await reopened_proxy(db_path))[:2] == (PROXY_URL, PROXY_URL)

    run(qloop, scenario())


def test_the_settings_turn_on_the_aria2_rpc_of_the_windows_engine(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    import socket

    import aiohttp

    from drayman.rpc.secret import secret_path

    body = make_body(200_000, seed=7)
    http_server.add("/from-browser.bin", body)
    with socket.socket() as probe:  # a free port, as a user would pick one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> None:
        async with app_window(db_path) as (session, window):
            assert session.rpc is None  # off unless asked
            dialog = window.open_settings()
            assert dialog.rpc_secret.text() == ""
            dialog.folder.setText(str(downloads))
            dialog.rpc_enabled.setChecked(True)
            dialog.rpc_port.setValue(port)
            dialog.accept()
            await until(lambda: session.rpc is not None, what="the RPC to start")
            # a secret was made, kept privately, and is shown in the settings now
            secret = secret_path().read_text().strip()
            assert secret and window.open_settings().rpc_secret.text() == secret
            payload = {
                "jsonrpc": "2.0",
                "id": "x",
                "method": "aria2.addUri",
                "params": [f"token:{secret}", [http_server.url("/from-browser.bin")]],
            }
            async with (
                aiohttp.ClientSession() as client,
                client.post(f"http://127.0.0.1:{port}/jsonrpc", json=payload) as response,
            ):
                gid = (await response.json(content_type=None))["result"]
            job_id = int(gid[:8], 16)
            # an ordinary job: in the window's table, downloaded by its engine
            await until(lambda: state_of(window, job_id) == JobState.DONE, what="done")
            assert (downloads / "from-browser.bin").read_bytes() == body
            dialog = window.open_settings()
            dialog.rpc_enabled.setChecked(False)
            dialog.accept()
            await until(lambda: session.rpc is None, what="the RPC to stop")

    run(qloop, scenario())
    reloaded = Session(db_path, settings_file(db_path)).settings
    assert (reloaded.rpc_enabled, reloaded.rpc_port) == (False, port)
    assert reloaded.rpc_secret == ""  # never in the settings file
    assert "rpc_secret" not in settings_file(db_path).allKeys()


def test_the_settings_fit_a_laptop_screen_and_their_general_tab_scrolls(qtbot: Any) -> None:
    """Every row of General needs ~640 pixels: a 1366x768 screen gives a dialog
    2/3 of its height (512), so the tab must shrink and scroll, not push the
    dialog's buttons off the screen."""
    from drayman.ui.settings import Settings, SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.minimumSizeHint().height() <= 768 * 2 // 3
    assert dialog.sizeHint().height() > 512  # where there is room, the whole page shows
    dialog.resize(dialog.sizeHint().width(), 400)
    dialog.show()
    qtbot.waitExposed(dialog)
    general = dialog.general
    assert dialog.height() <= 400 and general.verticalScrollBar().maximum() > 0
    # the last row is still there to reach, and the buttons stay in view
    general.ensureWidgetVisible(dialog.rpc_listen_all)
    assert general.verticalScrollBar().value() > 0
    assert dialog.buttons.geometry().bottom() <= dialog.height()
    # it scrolls up and down only: nothing is cut on the right
    page = general.widget()
    assert page.width() >= page.minimumSizeHint().width()
