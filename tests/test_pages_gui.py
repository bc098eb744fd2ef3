"""A page in the import window: resolved off the GUI thread, entries streaming into
the real preview with thumbnails and authors, stoppable, then downloaded by the engine."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from drayman import resolver
from drayman.jobs import JobState
from drayman.ui.import_dialog import ImportDialog
from drayman.ui.qt import QtCore
from httpserver import LoopbackServer
from pagesites import FakeSite
from proxyserver import HttpProxy
from test_gui import qloop, run, until
from test_import_gui import opened, png

__all__ = ["qloop"]  # the fixture, shared with test_gui.py


def clip_site(
    site: LoopbackServer, count: int, live: bool = False
) -> tuple[FakeSite, str, list[bytes]]:
    fake = FakeSite(site)
    ids = [f"p{n}" for n in range(count)]
    bodies = []
    for n, video_id in enumerate(ids):
        site.add(f"/t/{video_id}.png", png(n), content_type="image/png")
        bodies.append(
            fake.add_video(
                video_id,
                f"Clip {n}",
                uploader=f"Maker {n % 2}",
                thumbnail=site.url(f"/t/{video_id}.png"),
                size=3000 + n,
            )
        )
    if live:  # an item that exists only as HLS fragments
        fake.add_video("live", "Live", hls_only=True)
        ids.append("live")
    return fake, fake.add_channel("clips", "Clips", ids, uploader="Maker"), bodies


def test_a_page_streams_into_the_preview_off_the_gui_thread_and_stops(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    with LoopbackServer() as site:
        _, channel, _ = clip_site(site, 10)
        # the worker will wait inside yt-dlp, reading the fifth video's page
        held = "/fakesite/video/p4.json"
        site.resources[held].hold_at.append(1)

        async def scenario() -> None:
            async with opened(db_path, tmp_path, downloads) as (_, window):
                ticks = 0

                def tick() -> None:
                    nonlocal ticks
                    ticks += 1

                ticker = QtCore.QTimer()
                ticker.setInterval(10)
                ticker.timeout.connect(tick)
                ticker.start()
                dialog = window.open_page_import(channel)
                assert isinstance(dialog, ImportDialog)
                await until(lambda: site.held_at(held) is not None, what="the held request")
                await until(lambda: len(dialog.model.rows) == 4, what="four entries")
                assert dialog.resolve_status.text() == "4 of 10 entries"
                rows = dialog.model.rows
                assert [r.entry.title for r in rows] == [f"Clip {n}" for n in range(4)]
                assert [r.entry.author for r in rows] == ["Maker 0", "Maker 1"] * 2
                assert [r.number for r in rows] == [1, 2, 3, 4]
                thumbs = [site.url(f"/t/p{n}.png") for n in range(4)]
                await until(lambda: all(dialog.images.loaded(t) for t in thumbs), what="thumbs")
                # the worker is blocked in yt-dlp; the window's loop is not
                seen = ticks
                await until(lambda: ticks >= seen + 5, what="timers firing")
                dialog.filter.setText("clip 3")
                assert dialog.proxy.rowCount() == 1
                dialog.filter.setText("")
                await until(lambda: all(r.target for r in dialog.model.rows), what="targets")
                assert dialog.download_button.text() == "Download 4"

                dialog.stop_button.click()
                await until(dialog.resolved.is_set, what="the stop")
                assert dialog.resolve_status.text() == "Stopped after 4 entries."
                assert not dialog.stop_button.isEnabled()
                site.release_hold(held)
                # the worker ends at its next item, and adds nothing more
                await until(lambda: resolver.workers_running() == 0, what="the worker's end")
                assert len(dialog.model.rows) == 4
                assert not site.requests_for("/fakesite/video/p5.json")
                ticker.stop()
                dialog.reject()

        run(qloop, scenario())


def test_a_resolved_page_is_ticked_and_downloaded_byte_exact(
    qloop: asyncio.AbstractEventLoop, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    with LoopbackServer() as site:
        fake, channel, bodies = clip_site(site, 6, live=True)

        async def scenario() -> None:
            async with opened(db_path, tmp_path, downloads) as (_, window):
                dialog = window.open_page_import()
                assert isinstance(dialog, ImportDialog)
                assert not dialog.download_button.isEnabled()  # nothing yet
                dialog.page.setText(channel)
                dialog.resolve_button.click()
                await until(dialog.resolved.is_set, timeout=60, what="the page")
                assert dialog.resolve_status.text() == f"6 entries from {channel}"
                # the item that exists only as HLS is listed as not importable
                assert "Live" in dialog.bad_list.toPlainText()
                assert "m3u8_native" in dialog.bad_list.toPlainText()
                dialog.template.setText("{author}/{index} {title}.{ext}")
                dialog.filter.setText("maker 1")
                dialog.none_button.click()
                dialog.filter.setText("")
                await until(lambda: dialog.planned.is_set(), what="the plan")
                await until(
                    lambda: dialog.model.rows[0].target == os.path.join("Maker 0", "1 Clip 0.mp4"),
                    what="targets from the template",
                )
                assert dialog.download_button.text() == "Download 3"
                dialog.download_button.click()
                await until(lambda: window.import_dialog is None, what="the preview closing")
                ids = dialog.added_ids
                assert len(ids) == 3

                def all_done() -> bool:
                    return all((j := window.model.job(i)) and j.state == JobState.DONE for i in ids)

                await until(all_done, timeout=60, what="downloads")
                jobs = await window.queue.jobs()
                assert sorted(j.page_url or "" for j in jobs) == [
                    fake.page(f"p{n}") for n in (0, 2, 4)
                ]
                assert all(dict(j.headers).get("Referer") == j.page_url for j in jobs)

        run(qloop, scenario())
        for n in (0, 2, 4):
            assert (downloads / "Maker 0" / f"{n + 1} Clip {n}.mp4").read_bytes() == bodies[n]
        assert sorted(p.name for p in (downloads / "Maker 0").iterdir()) == [
            "1 Clip 0.mp4",
            "3 Clip 2.mp4",
            "5 Clip 4.mp4",
        ]


def test_a_page_is_read_through_the_proxy_chosen_in_settings(
    qloop: asyncio.AbstractEventLoop,
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_proxy: HttpProxy,
) -> None:
    """The window's proxy holds for reading pages as for downloading them: a user
    who routes drayman through a proxy does not want yt-dlp going straight."""
    with LoopbackServer() as site:
        _, channel, _ = clip_site(site, 3)

        async def scenario() -> None:
            async with opened(db_path, tmp_path, downloads) as (_, window):
                settings = window.open_settings()
                settings.proxy_mode.setCurrentIndex(settings.proxy_mode.findData("manual"))
                settings.proxy_url.setText(http_proxy.proxy_url)
                settings.accept()
                dialog = window.open_page_import(channel)
                assert isinstance(dialog, ImportDialog)
                await until(dialog.resolved.is_set, what="the page resolved")
                assert [r.entry.title for r in dialog.model.rows] == ["Clip 0", "Clip 1", "Clip 2"]
                asked = [r.path for r in http_proxy.requests]
                assert site.url("/fakesite/channel/clips.json") in asked, asked
                assert site.url("/fakesite/video/p2.json") in asked
                dialog.reject()

        run(qloop, scenario())
