"""The window's icons: the platform's icon theme first, drayman's own SVGs beside it.

The app icon (window, tray, desktop entry) is always drayman's own; toolbar
icons follow the desktop's theme where it has the icon, so drayman looks
at home, and fall back to the bundled drawings (Windows, macOS, a bare X).
"""

from __future__ import annotations

import functools
from importlib import resources

from drayman.ui.qt import QtGui

#: bundled icon name -> the freedesktop icon-theme name for the same thing
THEME_NAMES = {
    "add": "list-add",
    "import": "document-open",
    "pause": "media-playback-pause",
    "resume": "media-playback-start",
    "retry": "view-refresh",
    "remove": "edit-delete",
    "settings": "preferences-system",
    "open": "document-open",
    "folder": "folder-open",
}


def icon_path(name: str) -> str:
    """The bundled SVG file of ``name`` (``drayman`` is the app icon)."""
    return str(resources.files("drayman.ui").joinpath("icons", f"{name}.svg"))


@functools.cache
def app_icon() -> QtGui.QIcon:
    """drayman's own icon, for the window, the tray and the desktop entry."""
    return QtGui.QIcon(icon_path("drayman"))


@functools.cache
def action_icon(name: str) -> QtGui.QIcon:
    """The theme's icon for an action, else the bundled one."""
    fallback = QtGui.QIcon(icon_path(name))
    theme = THEME_NAMES.get(name)
    return QtGui.QIcon.fromTheme(theme, fallback) if theme else fallback
