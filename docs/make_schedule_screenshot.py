"""Take docs/schedule.png: the Schedule tab of the real Settings dialog under Xvfb.

xvfb-run -a -s "-screen 0 1280x900x24" python docs/make_schedule_screenshot.py [--lang zh_CN]
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import shot

from httpserver import LoopbackServer

HERE = shot.HERE


async def scene(out: Path, folder: Path, server: LoopbackServer) -> None:
    async with shot.app_window(folder) as (_, window):
        window.show()
        await window.queue.add_schedule("mon-fri 09:00-18:00", rate=500 * 1024)
        await window.queue.add_schedule("daily 07:00-01:00")
        await window.queue.add_schedule("sat,sun 10:00-22:00", rate=2 * 1024 * 1024)
        dialog = window.open_settings()
        dialog.resize(620, 520)
        dialog.tabs.setCurrentWidget(dialog.schedule)
        while not dialog.schedule.loaded:  # noqa: ASYNC110 - polls the dialog
            await asyncio.sleep(0.05)
        dialog.schedule.spec.setText("fri 22:00-06:00")
        await asyncio.sleep(0.5)
        dialog.grab().save(str(out))
        dialog.reject()


if __name__ == "__main__":
    shot.main(scene, HERE / "schedule.png")
