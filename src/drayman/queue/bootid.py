"""Which boot of this machine is running: a stamp for claims only the page cache backs.

A write that returned is in the kernel's page cache: a process killed right
after (SIGKILL, the OOM killer, a closed terminal) loses nothing of it, and
the kernel writes it to disk later. A power cut or a reboot can lose it,
though, unless it was fsynced. So a note of bytes written but not fsynced (the
live part of a ``.part``'s record, :mod:`.partrecord`) carries the boot it was
written on, and is believed only on that same boot.

- Linux: ``/proc/sys/kernel/random/boot_id`` (a UUID drawn at every boot);
- macOS: ``sysctl kern.bootsessionuuid`` (likewise);
- Windows: the boot time, from the clock minus ``GetTickCount64`` (which
  counts sleep and hibernation too), to the second;
- anything else, or any failure: None, which means "do not trust": the
  resume falls back to the fsynced checkpoint.

``DRAYMAN_BOOT_ID`` overrides it, for tests only: a test stamps a download
with one value and resumes it with another, as after a reboot.
"""

from __future__ import annotations

import functools
import os
import sys
import time

#: the environment variable a test sets to pretend to be on a given boot
BOOT_ID_ENV = "DRAYMAN_BOOT_ID"
_LINUX_BOOT_ID = "/proc/sys/kernel/random/boot_id"


@functools.cache
def boot_id() -> str | None:
    """This boot's identity, or None when the platform cannot tell (never trust then)."""
    override = os.environ.get(BOOT_ID_ENV)
    if override:
        return override
    try:
        if sys.platform.startswith("linux"):
            return _linux()
        if sys.platform == "darwin":  # pragma: no cover - exercised by the macOS CI workflow
            return _darwin()
        if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI workflow
            return _windows()
    except (OSError, ValueError, AttributeError):
        return None
    return None  # pragma: no cover - other systems


def _linux() -> str | None:
    with open(_LINUX_BOOT_ID, encoding="ascii") as handle:
        value = handle.read().strip()
    return f"linux:{value}" if value else None


def _darwin() -> str | None:  # pragma: no cover - macOS
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    size = ctypes.c_size_t(64)
    buffer = ctypes.create_string_buffer(size.value)
    if libc.sysctlbyname(b"kern.bootsessionuuid", buffer, ctypes.byref(size), None, 0) != 0:
        return None
    value = buffer.value.decode("ascii", "replace").strip()
    return f"darwin:{value}" if value else None


def _windows() -> str | None:  # pragma: no cover - Windows
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined,unused-ignore]
    kernel32.GetTickCount64.restype = ctypes.c_uint64
    uptime = kernel32.GetTickCount64() / 1000
    # the clock may be set between two reads: then the stamps differ and the
    # record is not trusted (the safe way to be wrong)
    return f"windows:{round(time.time() - uptime)}"
