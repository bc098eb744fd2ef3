"""The engine's error lines in the window's language.

The engine writes one plain English line per failure (the same line `ls`
and the log show, kept in the database). The window shows the common ones
translated, matched by their shape; a line it does not know stays as the
engine wrote it, whole, rather than half translated.
"""

from __future__ import annotations

import re

from drayman.ui.qt import QtCore

#: (the engine's English, as a pattern; the window's text, with {0}... for the groups)
_SENTENCES = [
    (r"the server answered HTTP (\d+)(?: (.*))?", "the server answered HTTP {0} {1}"),
    (
        r"cannot find the server (\S+): the name does not exist \(a typo in the address\?\)",
        "cannot find the server {0}: the name does not exist (a typo in the address?)",
    ),
    (
        r"(\S+) refused the connection \(is the address right, and the server up\?\)",
        "{0} refused the connection (is the address right, and the server up?)",
    ),
    (r"waiting for the network: (.*)", "waiting for the network: {0}"),
    (r"no data for (\S+) s \(stalled connection\)", "no data for {0} s (stalled connection)"),
    (
        r"the connection broke in the middle of the file",
        "the connection broke in the middle of the file",
    ),
    (
        r"the server closed the connection without answering",
        "the server closed the connection without answering",
    ),
    (r"timed out connecting to the server", "timed out connecting to the server"),
    (r"cannot connect to (\S+)", "cannot connect to {0}"),
    (r"a temporary network or server problem: (.*)", "a temporary network or server problem: {0}"),
    (
        r"the server cannot resume; starting again from 0 \(the (.*) saved before are lost\)",
        "the server cannot resume; starting again from 0 (the {0} saved before are lost)",
    ),
]
_GAVE_UP = re.compile(r"(.*) \(gave up after (\d+) attempts\)")

# the sources, for pyside6-lupdate
QtCore.QT_TRANSLATE_NOOP("EngineError", "the server answered HTTP {0} {1}")
QtCore.QT_TRANSLATE_NOOP(
    "EngineError", "cannot find the server {0}: the name does not exist (a typo in the address?)"
)
QtCore.QT_TRANSLATE_NOOP(
    "EngineError", "{0} refused the connection (is the address right, and the server up?)"
)
QtCore.QT_TRANSLATE_NOOP("EngineError", "waiting for the network: {0}")
QtCore.QT_TRANSLATE_NOOP("EngineError", "no data for {0} s (stalled connection)")
QtCore.QT_TRANSLATE_NOOP("EngineError", "the connection broke in the middle of the file")
QtCore.QT_TRANSLATE_NOOP("EngineError", "the server closed the connection without answering")
QtCore.QT_TRANSLATE_NOOP("EngineError", "timed out connecting to the server")
QtCore.QT_TRANSLATE_NOOP("EngineError", "cannot connect to {0}")
QtCore.QT_TRANSLATE_NOOP("EngineError", "a temporary network or server problem: {0}")
QtCore.QT_TRANSLATE_NOOP(
    "EngineError",
    "the server cannot resume; starting again from 0 (the {0} saved before are lost)",
)
QtCore.QT_TRANSLATE_NOOP("EngineError", "{0} (gave up after {1} attempts)")

_COMPILED = [(re.compile(pattern), source) for pattern, source in _SENTENCES]


def _tr(source: str) -> str:
    return QtCore.QCoreApplication.translate("EngineError", source)


def error_text(message: str | None, depth: int = 0) -> str:
    """``message`` in the window's language where its shape is known, else as it is."""
    if not message:
        return ""
    gave_up = _GAVE_UP.fullmatch(message)
    if gave_up:
        inner = error_text(gave_up.group(1), depth)
        return _tr("{0} (gave up after {1} attempts)").format(inner, gave_up.group(2))
    for pattern, source in _COMPILED:
        match = pattern.fullmatch(message)
        if match is None:
            continue
        groups = [group or "" for group in match.groups()]
        if source.endswith(": {0}") and groups and depth < 2:
            groups[-1] = error_text(groups[-1], depth + 1)  # "problem: <a known line>"
        return _tr(source).format(*groups).strip()
    return message
