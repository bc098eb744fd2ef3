"""The one module through which drayman imports Qt (PySide6).

Keeping every Qt import here means one place to change bindings, and a clear
error when the GUI extra is not installed.
"""

from __future__ import annotations

try:
    from PySide6 import QtCore, QtGui, QtNetwork, QtWidgets
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        'the window needs the GUI extra: pip install "drayman[gui]" (PySide6 and qasync)'
    ) from exc

Qt = QtCore.Qt
Signal = QtCore.Signal
Slot = QtCore.Slot

__all__ = ["Qt", "QtCore", "QtGui", "QtNetwork", "QtWidgets", "Signal", "Slot"]
