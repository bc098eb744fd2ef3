"""The window's Chinese cannot rot: every text the window can show (every tr() and
QT_TRANSLATE_NOOP in src/drayman/ui) has a translation, and the shipped .qm is that
translation compiled. Then the newest parts of the window, shown in Chinese."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import PySide6

import drayman.ui
from drayman.ui.qt import QtCore, QtWidgets
from test_gui import qloop, run, until
from test_schedule_gui import close_viewer, viewer
from test_schedules import BERLIN, Clock, at

__all__ = ["qloop"]  # the fixture, shared with test_gui.py

UI = Path(drayman.ui.__file__).parent
I18N = UI / "i18n"
#: what to run, from the repository's root, when a check below fails
REMAKE = (
    "pyside6-lupdate -no-obsolete src/drayman/ui/*.py -ts src/drayman/ui/i18n/drayman_zh_CN.ts; "
    "python src/drayman/ui/i18n/translate_zh_CN.py; "
    "pyside6-lrelease src/drayman/ui/i18n/drayman_zh_CN.ts"
)
#: {0}, {name}, %n, %1: what the code fills in after translating
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%n|%\d")


def qt_tool(name: str) -> str:
    """Qt's lupdate or lrelease as PySide6 ships them (what pyside6-lupdate runs)."""
    return str(Path(PySide6.__file__).parent / (name + (".exe" if os.name == "nt" else "")))


def remade(tmp_path: Path) -> Path:
    """The .ts as the three steps make it from the sources today, in ``tmp_path``."""
    ts = tmp_path / "drayman_zh_CN.ts"
    shutil.copyfile(I18N / "drayman_zh_CN.ts", ts)
    sources = sorted(str(p) for p in UI.glob("*.py"))
    subprocess.run(
        [qt_tool("lupdate"), "-silent", "-no-obsolete", *sources, "-ts", str(ts)],
        check=True,
        timeout=120,
    )
    filled = subprocess.run(
        [sys.executable, str(I18N / "translate_zh_CN.py"), str(ts)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # the script names every window text it has no Chinese for
    assert filled.returncode == 0, f"{filled.stderr.strip()}\nadd them to translate_zh_CN.py"
    return ts


def test_every_text_of_the_window_has_chinese_and_the_shipped_qm_is_current(
    tmp_path: Path,
) -> None:
    ts = remade(tmp_path)
    messages = list(ET.parse(ts).iter("message"))
    assert len(messages) > 200  # lupdate found the window's texts at all
    untranslated, placeholders = [], []
    for message in messages:
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        forms = [f.text or "" for f in translation.iter("numerusform")] or [translation.text or ""]
        if translation.get("type") == "unfinished" or not all(f.strip() for f in forms):
            untranslated.append(source)
        for form in forms:
            if sorted(PLACEHOLDER.findall(form)) != sorted(PLACEHOLDER.findall(source)):
                placeholders.append((source, form))
    assert not untranslated
    assert not placeholders, "a translation must keep the placeholders of its source"
    # what the window loads gives each text that Chinese (read through Qt, so that any
    # Qt's lrelease may have compiled it)
    shipped = QtCore.QTranslator()
    assert shipped.load(str(I18N / "drayman_zh_CN.qm"))
    stale = []
    for context in ET.parse(ts).iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            source = message.findtext("source") or ""
            translation = message.find("translation")
            assert translation is not None
            numerus = message.get("numerus") == "yes"
            wanted = translation.findtext("numerusform") if numerus else translation.text
            got = shipped.translate(name, source, message.findtext("comment"), 2 if numerus else -1)
            if got != wanted:
                stale.append(f"{name}: {source!r}")
    assert not stale, f"the shipped .qm lacks the sources' Chinese for these; run {REMAKE}"


def test_in_chinese_the_schedule_rpc_page_and_countdown_texts_are_chinese(
    qloop: asyncio.AbstractEventLoop, qapp: QtWidgets.QApplication, db_path: Path
) -> None:
    from drayman.onidle import IdleAction
    from drayman.ui.app import install_translator
    from drayman.ui.countdown import CountdownDialog

    translator = install_translator(qapp, "zh_CN")  # what Settings → Language sets
    assert translator is not None

    async def scenario() -> None:
        clock = Clock(at("2026-06-01 23:00"))  # inside the band below
        window = await viewer(db_path, clock=clock, timezone=BERLIN)
        try:
            assert window.page_action.text() == "从网页导入…"
            await window.queue.add_schedule("daily 22:00-01:00")
            await until(lambda: window.schedule_label.text() == "按计划暂停至 01:00")

            dialog = window.open_settings()
            tabs = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
            assert tabs[0] == "常规" and "计划" in tabs
            tab = dialog.schedule
            header = tab.table.horizontalHeaderItem(0)
            assert header is not None and header.text() == "星期和时段"
            assert tab.action.itemText(0) == "暂停下载" and tab.add_button.text() == "添加"
            await until(lambda: tab.loaded, what="the bands read")
            tab.spec.setText("sat 10:00-11:00")
            tab.action.setCurrentIndex(tab.action.findData("limit"))
            tab.rate.setText("500k")
            tab.add_button.click()
            last = tab.table.item(tab.table.rowCount() - 1, 1)
            assert last is not None and last.text() == "限速 500.0 KiB/秒"
            tab.rate.setText("0")
            tab.add_button.click()
            assert tab.error.text() == "限速必须大于 0；要停止下载请改选“暂停下载”。"
            assert dialog.rpc_enabled.text() == "允许浏览器扩展和 aria2 工具添加下载（aria2 RPC）"
            form = dialog.rpc_enabled.parentWidget().layout()
            assert isinstance(form, QtWidgets.QFormLayout)
            port_label = form.labelForField(dialog.rpc_port)
            assert isinstance(port_label, QtWidgets.QLabel) and port_label.text() == "RPC 端口"
            assert dialog.on_idle.itemText(0) == "不执行任何操作"
            dialog.reject()

            page = window.open_page_import()
            assert page is not None
            assert page.windowTitle() == "导入 网页"
            assert page.resolve_button.text() == "解析" and page.stop_button.text() == "停止"
            page.reject()
        finally:
            await close_viewer(window)

    try:
        run(qloop, scenario())
        countdown = CountdownDialog(IdleAction("shutdown"), 60)
        assert countdown.label.text() == "全部下载已结束。60 秒后关机。"
        assert countdown.cancel_button.text() == "取消"
        countdown.reject()
    finally:
        qapp.removeTranslator(translator)
