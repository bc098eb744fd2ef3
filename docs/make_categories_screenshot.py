"""Take docs/categories.png: the Settings' Categories tab of the real window, under Xvfb.

xvfb-run -a -s "-screen 0 1280x900x24" python docs/make_categories_screenshot.py [--lang zh_CN]
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import shot

from httpserver import LoopbackServer


async def scene(out: Path, folder: Path, server: LoopbackServer) -> None:
    async with shot.app_window(folder, thumbnail_cache=folder / "thumbs") as (_, window):
        window.show()
        window.categories = await window.queue.categories()  # as the window reads it at start
        dialog = window.open_settings()
        assert dialog.categories_tab is not None
        dialog.tabs.setCurrentWidget(dialog.categories_tab)
        dialog.resize(860, 520)
        await asyncio.sleep(0.3)  # let it paint
        dialog.grab().save(str(out))
        dialog.reject()


if __name__ == "__main__":
    shot.main(scene, shot.HERE / "categories.png")
