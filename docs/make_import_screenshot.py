"""Take docs/import.png: the real import preview under Xvfb, thumbnails from a local server.

xvfb-run -a -s "-screen 0 1280x900x24" python docs/make_import_screenshot.py [--lang zh_CN]
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import shot

from drayman.ui.qt import Qt, QtCore, QtGui
from httpserver import LoopbackServer

SHOWS = [
    ("Ann Example", "Ridge Walks", 205),
    ("Ann Example", "Ridge Walks", 215),
    ("Ben Sample", "Kitchen Lab", 25),
    ("Ben Sample", "Kitchen Lab", 35),
    ("Cleo Demo", "Night Trains", 250),
]

HERE = shot.HERE


def thumbnail(n: int, show: str, hue: int) -> bytes:
    """A 320x180 'video still': a gradient, a horizon, the episode number."""
    image = QtGui.QImage(320, 180, QtGui.QImage.Format.Format_RGB32)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    gradient = QtGui.QLinearGradient(0, 0, 0, 180)
    gradient.setColorAt(0, QtGui.QColor.fromHsv(hue, 90, 240))
    gradient.setColorAt(1, QtGui.QColor.fromHsv((hue + 20) % 360, 200, 120))
    painter.fillRect(image.rect(), gradient)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QtGui.QColor.fromHsv((hue + 180) % 360, 60, 70, 170))
    hills = QtGui.QPolygonF(
        [QtCore.QPointF(x, 130 - 30 * ((x * (n + 3)) % 97) / 97) for x in range(0, 321, 40)]
        + [QtCore.QPointF(320, 180), QtCore.QPointF(0, 180)]
    )
    painter.drawPolygon(hills)
    painter.setPen(QtGui.QColor("white"))
    font = painter.font()
    font.setPixelSize(44)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QtCore.QRect(16, 10, 300, 60), Qt.AlignmentFlag.AlignLeft, f"{n:02d}")
    font.setPixelSize(20)
    painter.setFont(font)
    painter.drawText(QtCore.QRect(16, 140, 300, 30), Qt.AlignmentFlag.AlignLeft, show)
    painter.end()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG", 85)
    return bytes(buffer.data().data())


async def scene(out: Path, folder: Path, server: LoopbackServer) -> None:
    items: list[dict[str, object]] = []
    for n in range(1, 41):
        author, show, hue = SHOWS[n % len(SHOWS)]
        server.add(f"/t/{n}.jpg", thumbnail(n, show, hue), content_type="image/jpeg", delay=0.05)
        server.add(f"/v/{n}.mp4", b"video", content_type="video/mp4")
        items.append(
            {
                "url": server.url(f"/v/{n}.mp4"),
                "title": f"{show} #{n}: {['Dawn', 'Salt & Smoke', 'The Long Way', 'Rain'][n % 4]}",
                "author": author,
                "thumbnail": server.url(f"/t/{n}.jpg"),
                "headers": {"Referer": "https://video.example.com/"},
            }
        )
    items.insert(6, {"url": "ftp://old.example.com/v/7.mp4", "title": "FTP only"})
    items.insert(11, {"title": "An entry without a url"})
    listing = folder / "videos.json"
    listing.write_text(json.dumps(items, indent=1))
    downloads = folder / "Downloads"
    (downloads / "Cleo Demo").mkdir(parents=True)
    (downloads / "Cleo Demo" / "Night Trains #4_ Dawn.mp4").write_bytes(b"x")

    async with shot.app_window(folder, thumbnail_cache=folder / "thumbs") as (_, window):
        window.default_folder = str(downloads)
        window.resize(1200, 640)
        window.show()
        # two of the list are in the queue already (paused: the screenshot downloads nothing)
        ids = await window.queue.add(
            [str(items[0]["url"]), str(items[2]["url"])], dest_dir=downloads
        )
        await window.queue.pause(ids)
        window.import_file(str(listing))
        while window.import_dialog is None:  # noqa: ASYNC110 - polls the window
            await asyncio.sleep(0.05)
        dialog = window.import_dialog
        dialog.resize(1180, 760)
        await asyncio.sleep(4)  # thumbnails load progressively; wait for the last of them
        for row in (4, 9):
            dialog.model.set_checked([row], False)
        dialog.table.selectRow(5)
        await asyncio.sleep(0.5)
        dialog.grab().save(str(out))
        dialog.reject()


if __name__ == "__main__":
    shot.main(scene, HERE / "import.png")
