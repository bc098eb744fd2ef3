"""What happens when the queue is done: nothing, a notice, the folder, a command, sleep, shut down.

``drayman run --on-idle ACTION`` and the window's setting take the same
choices. Sleep and shut down go through the platform's own means, never a
hand-made shell line:

- Linux: ``systemctl suspend`` / ``systemctl poweroff`` (logind decides
  whether this user may, as for the desktop's own menu);
- Windows: ``shutdown /s /t 0``, and ``SetSuspendState`` of powrprof.dll;
- macOS: ``pmset sleepnow``, and System Events' ``shut down`` through
  ``osascript``.

``command:CMD`` runs the user's own CMD (through the shell, as typed); the
finished files' paths never enter that line: they are in the environment
variable ``DRAYMAN_FILES`` (one per line) and on the command's stdin (one per
line), with ``DRAYMAN_DONE`` and ``DRAYMAN_FAILED`` the counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from drayman.errors import InvalidIdleAction

NOTHING, NOTIFY, OPEN, SLEEP, SHUTDOWN, COMMAND = (
    "nothing",
    "notify",
    "open",
    "sleep",
    "shutdown",
    "command",
)
CHOICES = (NOTHING, NOTIFY, OPEN, SLEEP, SHUTDOWN, COMMAND)
#: seconds between "the queue is done" and sleeping or shutting down, to cancel it
COUNTDOWN = 60.0
#: tests only: a shorter countdown, in seconds (a real run waits 60)
COUNTDOWN_ENV = "DRAYMAN_COUNTDOWN"


@dataclass(frozen=True, slots=True)
class IdleAction:
    kind: str = NOTHING
    #: the user's command line, for ``command``
    command: str = ""

    @property
    def needs_countdown(self) -> bool:
        """Sleep and shut down wait :data:`COUNTDOWN` seconds, which the user may cancel."""
        return self.kind in (SLEEP, SHUTDOWN)

    @property
    def text(self) -> str:
        return f"{COMMAND}:{self.command}" if self.kind == COMMAND else self.kind

    def describe(self) -> str:
        """What is about to happen, for the countdown: ``shutting down``."""
        return {
            SLEEP: "going to sleep",
            SHUTDOWN: "shutting down",
            NOTIFY: "saying so",
            OPEN: "opening the folder",
            COMMAND: f"running {self.command}",
        }.get(self.kind, "doing nothing")


def parse_idle_action(text: str) -> IdleAction:
    """``shutdown`` -> IdleAction("shutdown"); ``command:CMD`` keeps CMD as typed."""
    kind, colon, command = text.partition(":")
    kind = kind.strip().lower()
    if kind == COMMAND and colon and command.strip():
        return IdleAction(COMMAND, command.strip())
    if kind in CHOICES and kind != COMMAND and not colon:
        return IdleAction(kind)
    raise InvalidIdleAction(text=text)


def countdown_seconds() -> float:
    """:data:`COUNTDOWN`, unless a test set ``DRAYMAN_COUNTDOWN``."""
    try:
        return max(float(os.environ.get(COUNTDOWN_ENV, COUNTDOWN)), 0.0)
    except ValueError:
        return COUNTDOWN


def power_command(kind: str, platform: str = sys.platform) -> list[str] | None:
    """The platform's command to sleep or shut down (None: Windows' sleep is an API call)."""
    if platform == "win32":
        return ["shutdown", "/s", "/t", "0"] if kind == SHUTDOWN else None
    if platform == "darwin":
        if kind == SHUTDOWN:
            return ["osascript", "-e", 'tell application "System Events" to shut down']
        return ["pmset", "sleepnow"]
    return ["systemctl", "poweroff" if kind == SHUTDOWN else "suspend"]


def open_command(folder: str, platform: str = sys.platform) -> list[str] | None:
    """The platform's command to show a folder (None: Windows' os.startfile)."""
    if platform == "win32":
        return None
    return ["open" if platform == "darwin" else "xdg-open", folder]


def common_folder(paths: Sequence[str]) -> str | None:
    """The folder most of the finished files are in."""
    folders = Counter(os.path.dirname(path) for path in paths)
    return folders.most_common(1)[0][0] if folders else None


def perform(action: IdleAction, files: Sequence[str], failed: int, folder: str | None) -> str:
    """Do it now (blocking: call it in a thread); returns a line saying what was done.

    Raises :class:`OSError` (or :class:`subprocess.CalledProcessError`) when
    the platform refuses; nothing is retried.
    """
    if action.kind == NOTHING:
        return "nothing to do"
    if action.kind == NOTIFY:
        return summary(files, failed)
    if action.kind == OPEN:
        target = folder or common_folder(files)
        if target is None:
            return "no folder to open"
        command = open_command(target)
        if command is None:
            os.startfile(target)  # type: ignore[attr-defined,unused-ignore]  # Windows only
        else:
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL, timeout=60)
        return f"opened {target}"
    if action.kind == COMMAND:
        env = dict(os.environ)
        env.update(
            DRAYMAN_FILES="\n".join(files),
            DRAYMAN_DONE=str(len(files)),
            DRAYMAN_FAILED=str(failed),
        )
        stdin = "".join(f"{path}\n" for path in files)
        result = subprocess.run(action.command, shell=True, env=env, input=stdin, text=True)
        if result.returncode:
            return f"{action.command!r} exited with {result.returncode}"
        return f"ran {action.command!r}"
    command = power_command(action.kind)
    if command is None:  # Windows' sleep
        import ctypes

        powrprof = ctypes.WinDLL("powrprof")  # type: ignore[attr-defined,unused-ignore]
        if not powrprof.SetSuspendState(False, False, False):
            raise OSError("SetSuspendState refused to put the computer to sleep")
        return "went to sleep"
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, timeout=120)
    return f"asked the system: {' '.join(command)}"


def summary(files: Sequence[str], failed: int) -> str:
    """The line a notification shows."""
    done = f"{len(files)} download(s) finished"
    return f"the queue is done: {done}, {failed} failed" if failed else f"the queue is done: {done}"
