"""Real small file systems for the disk-fault tests: tmpfs, ext4 on a loop device, FAT.

A test that mounts takes the ``mounts`` fixture (directly or through another
fixture), which marks it ``mounts``. As root (this machine, CI) it mounts directly, and
everything it mounted is unmounted in teardown, even when the test failed.
Otherwise conftest runs the test again inside an unprivileged user and mount
namespace (``unshare -rm``), where the test is root of its own mount table:
tmpfs mounts work there, and vanish with the namespace. Loop devices (ext4,
a kernel FAT) need real root; FAT falls back to fusefat where the kernel has
no vfat.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["Mounts", "can_mount", "mounts", "run_in_namespace"]

#: set inside the namespace conftest re-runs a test in
IN_NAMESPACE = "DRAYMAN_TEST_IN_USERNS"
#: _IOR('X', 125, __u32): "the drive is gone", every later I/O fails with EIO
EXT4_IOC_SHUTDOWN = 0x8004587D
EXT4_GOING_FLAGS_NOLOGFLUSH = 0x2


#: set to 1 to take the unprivileged route even as root (to test it)
FORCE_NAMESPACE = "DRAYMAN_TEST_USERNS"


def can_mount() -> bool:
    """Root (of the machine, or of the namespace we run in)."""
    if os.environ.get(FORCE_NAMESPACE) == "1" and not os.environ.get(IN_NAMESPACE):
        return False
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _run(*command: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except OSError as exc:  # not installed
        raise RuntimeError(f"{command[0]}: {exc}") from exc
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")


def _kernel_has(fs_type: str) -> bool:
    with contextlib.suppress(OSError), open("/proc/filesystems") as listing:
        return any(line.split()[-1] == fs_type for line in listing if line.strip())
    return False


class Mounts:
    """Mount points under one folder; :meth:`cleanup` unmounts them all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._mounted: list[Path] = []

    def _point(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def tmpfs(self, name: str, size: int, *, read_only: bool = False, mode: int = 0o755) -> Path:
        """A tmpfs of ``size`` bytes: a disk that fills up at once, for real."""
        path = self._point(name)
        options = f"size={size},mode={mode:04o}" + (",ro" if read_only else "")
        _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path))
        self._mounted.append(path)
        return path

    def ext4(self, name: str, size: int) -> Path:
        """ext4 on a loop device (needs real root): the one that can lose its drive."""
        if os.environ.get(IN_NAMESPACE):
            pytest.fail(
                "ext4 on a loop device needs real root, not a user namespace "
                "(CI runs as root); run this test as root",
                pytrace=False,
            )
        self.root.mkdir(parents=True, exist_ok=True)
        image = self.root / f"{name}.img"
        with open(image, "wb") as handle:
            handle.truncate(size)
        _run("mkfs.ext4", "-q", "-F", str(image))
        path = self._point(name)
        _run("mount", "-o", "loop", str(image), str(path))
        self._mounted.append(path)
        return path

    def fat(self, name: str, size: int) -> tuple[Path, str]:
        """A real FAT file system (no hard links): the kernel's vfat, else fusefat.

        Returns the mount point and which of the two it is.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        image = self.root / f"{name}.img"
        with open(image, "wb") as handle:
            handle.truncate(size)
        _run("mkfs.vfat", str(image))
        path = self._point(name)
        if _kernel_has("vfat"):
            _run("mount", "-t", "vfat", "-o", "loop", str(image), str(path))
            kind = "vfat"
        else:
            _run("fusefat", "-o", "rw+", str(image), str(path))
            kind = "fusefat"
        self._mounted.append(path)
        return path, kind

    def remount(self, path: Path, *, read_only: bool) -> None:
        _run("mount", "-o", "remount," + ("ro" if read_only else "rw"), str(path))

    def resize(self, path: Path, size: int) -> None:
        """Give the tmpfs at ``path`` ``size`` bytes: space freed, for real."""
        _run("mount", "-o", f"remount,size={size}", str(path))

    def shut_down(self, path: Path) -> None:
        """Make the ext4 at ``path`` behave like an unplugged drive (EIO from now on)."""
        import fcntl  # Linux only, like the rest of this module

        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, struct.pack("I", EXT4_GOING_FLAGS_NOLOGFLUSH))
        finally:
            os.close(fd)

    def unmount(self, path: Path, *, lazy: bool = False) -> None:
        """Unmount; ``lazy`` detaches it even while files on it are open."""
        _run("umount", *(["-l"] if lazy else []), str(path))
        if path in self._mounted:
            self._mounted.remove(path)

    def mount_again(self, name: str) -> Path:
        """Mount ``name``'s image again (after :meth:`unmount`)."""
        path = self._point(name)
        _run("mount", "-o", "loop", str(self.root / f"{name}.img"), str(path))
        self._mounted.append(path)
        return path

    def cleanup(self) -> None:
        errors = []
        for path in reversed(self._mounted):
            try:
                _run("umount", str(path))
            except RuntimeError:
                # still busy (a test that failed with files open): detach it
                try:
                    _run("umount", "-l", str(path))
                except RuntimeError as exc:
                    errors.append(str(exc))
        self._mounted.clear()
        if errors:
            raise RuntimeError("; ".join(errors))


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Mounts]:
    """Mount small file systems under tmp_path; all unmounted afterwards."""
    manager = Mounts(tmp_path / "mnt")
    try:
        yield manager
    finally:
        manager.cleanup()


def run_in_namespace(item: pytest.Item) -> None:
    """Run one test again, as root of a new user+mount namespace; fail if it fails."""
    if not shutil.which("unshare"):
        pytest.fail("this test mounts file systems: run it as root, or install unshare")
    basetemp = tempfile.mkdtemp(prefix="drayman-userns-")
    command = [
        "unshare",
        "-rm",
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={basetemp}",
        item.nodeid,
    ]
    env = dict(os.environ, **{IN_NAMESPACE: "1"})
    try:
        result = subprocess.run(
            command, cwd=item.config.rootpath, env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    if result.returncode != 0:
        pytest.fail(
            f"in a user namespace (unshare -rm), {item.nodeid} failed:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}",
            pytrace=False,
        )
