"""A record kept on each ``.part`` file: which remote file its bytes are.

The database is the source of truth for a download. When it is lost (a
damaged file set aside, a fresh one started), the bytes are still in the
folder but nothing says what they are; a new job for the same URL would
start from zero beside them. So every ``.part`` carries a small record of
its own, written when the transfer records the server's validators and at
every checkpoint:

- the SHA-256 of the job's URL as added, and of the database's path (no
  secret of a signed URL travels with the file, yet both can be compared);
- the validators (strong ETag, Last-Modified) and the total size;
- the offset fsynced when the record was written, so, like the database,
  the record never claims bytes the disk may not have.

A segmented download adds a *live* part, rewritten after every write
returns, with no fsync: the ranges of the file whose writes had returned
(``written``) and the boot they were written on (``boot``, see
:mod:`.bootid`). It is a weaker claim than the offset: those bytes are in the
page cache, so they survive the process (SIGKILL, the OOM killer) but maybe
not the machine. A resume on the same boot believes it (and fetches only what
is missing); after a reboot it falls back to the database's fsynced
segments. The database itself never records more than was fsynced. Every
record written without it (a single stream's, a restart's) drops the live
part, so it never outlives the bytes it describes.

Where it lives: an extended attribute (``user.drayman``) on Linux and macOS,
an NTFS alternate data stream (``NAME.part:drayman``) on Windows. Both travel
with the file itself: a file another program put at a ``.part`` name has no
record, and a record never outlives its bytes the way a sidecar file could
(a sidecar left behind would vouch for whatever file later took the name).
Where neither exists (FAT and exFAT drives, some network shares), writing
fails quietly and nothing is adopted: the new job downloads from byte 0
under a new name, as before. Never a splice.

A new job *adopts* a ``.part`` only when all of this holds: it is a regular
file (not a symlink, one link only, owned by this user); its record names the
same URL and the same database path; it has a validator; the offset is not
beyond the file's end; the final name is free. Even then the bytes are
trusted only after the server agrees: the resume sends ``Range`` with
``If-Range`` carrying the recorded validator, and the 206 is checked exactly
as for any resume (start, total, validators); a 200 means starting over.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from drayman.headers import if_range_validator
from drayman.jobs import PART_SUFFIX
from drayman.names import with_counter

log = logging.getLogger(__name__)

#: the attribute (Linux, macOS) or stream (Windows) name
ATTRIBUTE = "user.drayman"
STREAM = ":drayman"
#: records are small; anything bigger was not written by us
MAX_RECORD = 4096
#: how many numbered names (``a (1).bin``...) adoption looks through
MAX_COUNTER = 1000
_VERSION = 1
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def url_id(url: str) -> str:
    """The URL a record belongs to, hashed: a signed URL's token stays off the file."""
    return digest(url)


def database_id(db_path: str | os.PathLike[str]) -> str:
    """The database a record belongs to: its absolute path, hashed."""
    return digest(os.path.abspath(os.path.expanduser(os.fspath(db_path))))


@dataclass(frozen=True)
class PartRecord:
    db: str
    url: str
    etag: str | None
    last_modified: str | None
    total: int | None
    offset: int
    #: the boot the live part was written on (None: there is none)
    boot: str | None = None
    #: [start, end) ranges whose writes had returned, not fsynced (the live part)
    written: tuple[tuple[int, int], ...] = ()

    @property
    def validator(self) -> str | None:
        """What a resume may send as If-Range (as for any resume: strong ETag, else date)."""
        return if_range_validator(self.etag, self.last_modified)

    def encode(self) -> bytes:
        # the fields in their order, as asdict() gives them (without its deep copy)
        fields: dict[str, Any] = {
            "v": _VERSION,
            "db": self.db,
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "total": self.total,
            "offset": self.offset,
        }
        if self.boot is not None:
            fields["boot"], fields["written"] = self.boot, self.written
        return json.dumps(fields, separators=(",", ":")).encode()

    def live_ranges(self, boot: str | None) -> tuple[tuple[int, int], ...]:
        """The written ranges, if they were noted on ``boot`` (this one); else none."""
        if boot is None or self.boot != boot:
            return ()
        return self.written

    @classmethod
    def decode(cls, data: bytes) -> PartRecord | None:
        try:
            raw: Any = json.loads(data.decode("utf-8"))
            if not isinstance(raw, dict) or raw.get("v") != _VERSION:
                return None
            record = cls(
                db=raw["db"],
                url=raw["url"],
                etag=raw["etag"],
                last_modified=raw["last_modified"],
                total=raw["total"],
                offset=raw["offset"],
                boot=raw.get("boot"),
                written=_ranges(raw.get("written", [])),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        if not (
            isinstance(record.db, str)
            and isinstance(record.url, str)
            and isinstance(record.etag, str | None)
            and isinstance(record.last_modified, str | None)
            and (record.total is None or (isinstance(record.total, int) and record.total >= 0))
            and isinstance(record.offset, int)
            and record.offset >= 0
            and isinstance(record.boot, str | None)
            and (record.total is None or all(b <= record.total for _, b in record.written))
        ):
            return None
        return record


def _ranges(raw: Any) -> tuple[tuple[int, int], ...]:
    """``[[start, end], ...]`` of integers, start < end; ValueError otherwise."""
    ranges = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError("not a range")
        start, end = pair
        if type(start) is not int or type(end) is not int or not 0 <= start < end:
            raise ValueError("not a range")
        ranges.append((start, end))
    return tuple(ranges)


# -- where the record is kept, per platform --------------------------------------


@functools.cache
def _darwin_libc() -> Any:  # pragma: no cover - exercised by the macOS CI workflow
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.fgetxattr.restype = ctypes.c_ssize_t
    libc.fgetxattr.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint32,
        ctypes.c_int,
    ]
    libc.setxattr.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint32,
        ctypes.c_int,
    ]
    libc.fsetxattr.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint32,
        ctypes.c_int,
    ]
    libc.removexattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    return libc


_XATTR_NOFOLLOW = 0x0001  # macOS <sys/xattr.h>


def _raise_errno() -> None:  # pragma: no cover - macOS
    import ctypes

    code = ctypes.get_errno()
    raise OSError(code, os.strerror(code))


def _set(path: str, data: bytes, fd: int | None = None) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI workflow
        with open(path + STREAM, "wb") as handle:
            handle.write(data)
    elif sys.platform == "darwin":  # pragma: no cover - exercised by the macOS CI workflow
        name, libc = ATTRIBUTE.encode(), _darwin_libc()
        if fd is not None:
            # the open file itself, as on Linux: a path could lead elsewhere by now
            failed = libc.fsetxattr(fd, name, data, len(data), 0, 0)
        else:
            failed = libc.setxattr(os.fsencode(path), name, data, len(data), 0, _XATTR_NOFOLLOW)
        if failed:
            _raise_errno()
    elif fd is not None:
        # the open file itself: its path's folders could have been swapped for links
        os.setxattr(fd, ATTRIBUTE, data)
    else:
        os.setxattr(path, ATTRIBUTE, data, follow_symlinks=False)


def _get(path: str, fd: int) -> bytes:
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI workflow
        with open(path + STREAM, "rb") as handle:
            return handle.read(MAX_RECORD + 1)
    if sys.platform == "darwin":  # pragma: no cover - exercised by the macOS CI workflow
        import ctypes

        libc = _darwin_libc()
        buffer = ctypes.create_string_buffer(MAX_RECORD + 1)
        size = libc.fgetxattr(fd, ATTRIBUTE.encode(), buffer, MAX_RECORD + 1, 0, 0)
        if size < 0:
            _raise_errno()
        return buffer.raw[:size]
    return os.getxattr(fd, ATTRIBUTE)


def _remove(path: str) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI workflow
        os.remove(path + STREAM)
    elif sys.platform == "darwin":  # pragma: no cover - exercised by the macOS CI workflow
        if _darwin_libc().removexattr(os.fsencode(path), ATTRIBUTE.encode(), _XATTR_NOFOLLOW):
            _raise_errno()
    else:
        os.removexattr(path, ATTRIBUTE, follow_symlinks=False)


class LiveNote:
    """A record with its live part, encoded fast: all but the offsets is fixed.

    A segmented download notes its ranges after every write (hundreds of
    times a second on a fast link), so the unchanging fields are encoded once.
    """

    def __init__(self, record: PartRecord, boot: str) -> None:
        fields = asdict(replace(record, boot=boot))
        del fields["offset"], fields["written"]
        head = json.dumps({"v": _VERSION, **fields}, separators=(",", ":"))
        self._head = head[:-1]  # without its closing brace

    def encode(self, offset: int, written: Iterable[tuple[int, int]]) -> bytes | None:
        """The record saying ``offset`` (fsynced) and ``written``; None if too big."""
        ranges = ",".join(f"[{start},{end}]" for start, end in written)
        data = f'{self._head},"offset":{offset},"written":[{ranges}]}}'.encode()
        return data if len(data) <= MAX_RECORD else None


def write_note(path: str, data: bytes, fd: int) -> bool:
    """Put an encoded :class:`LiveNote` on the open ``.part``; False if the file
    system refuses (an older note stays: its claims were true and still are)."""
    try:
        _set(path, data, fd)
    except OSError as exc:
        log.debug("cannot note progress on %s: %s", path, exc)
        return False
    return True


def write_record(path: str, record: PartRecord, *, fd: int | None = None) -> bool:
    """Put ``record`` on the ``.part`` at ``path`` (through ``fd``, its open file,
    where the OS can); False where the file system cannot."""
    data = record.encode()
    if len(data) > MAX_RECORD:
        # a download split into very many pieces: its live part is only a hint
        data = replace(record, boot=None, written=()).encode()
    try:
        _set(path, data, fd)
    except OSError as exc:
        log.debug("cannot keep a record on %s: %s", path, exc)
        # an older record left in place could vouch for bytes since cut back
        remove_record(path)
        return False
    return True


def remove_record(path: str) -> None:
    """Take the record off a finished file (best effort: it is only a hint)."""
    with contextlib.suppress(OSError):
        _remove(path)


def read_record_at(path: str, fd: int) -> PartRecord | None:
    """The record of the file open as ``fd`` (at ``path``), if there is a sound one."""
    try:
        data = _get(path, fd)
    except OSError:
        return None
    return PartRecord.decode(data) if len(data) <= MAX_RECORD else None


def read_record(path: str) -> tuple[PartRecord, int] | None:
    """The record of the regular file at ``path`` and the file's size, if both are sound.

    A symlink, a file with other hard links (it could be anything, anywhere)
    or one owned by another user has no record that counts.
    """
    if os.path.islink(path):  # O_NOFOLLOW does not exist on Windows
        return None
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return None
        data = _get(path, fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_RECORD:
        return None
    record = PartRecord.decode(data)
    return None if record is None else (record, info.st_size)


def find_adoptable(folder: str, wanted: str, *, db: str, url: str) -> list[tuple[str, PartRecord]]:
    """``.part`` files in ``folder`` that a new job for ``url`` may resume from.

    Looks at the names a new job would otherwise step over (``wanted``,
    ``wanted (1)``, ...: those whose ``.part`` exists), so the cost is a few
    ``lstat`` calls, not a listing of the folder. Best (longest) first.
    """
    found = []
    for n in range(MAX_COUNTER + 1):
        name = wanted if n == 0 else with_counter(wanted, n)
        final = os.path.join(folder, name)
        part = final + PART_SUFFIX
        if not os.path.lexists(part):
            if not os.path.lexists(final):
                break  # the first free name: a new job would take this one
            continue
        if os.path.lexists(final):
            continue  # a finished file holds the name
        read = read_record(part)
        if read is None:
            continue
        record, size = read
        if (
            record.db == db
            and record.url == url
            and record.validator is not None
            and 0 < record.offset <= size
            and (record.total is None or record.offset <= record.total)
        ):
            found.append((name, record))
    found.sort(key=lambda item: item[1].offset, reverse=True)
    return found
