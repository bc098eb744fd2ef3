"""drayman.queue's file modules on their own: the durable flush each OS gets
(durable, folder), the no-overwrite finish and its fallbacks (finish), and what
a reopened .part is trusted for (partfile, partcheck)."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from conftest import DIR_FD, make_symlink
from drayman.errors import FolderEscape
from drayman.queue import durable, finish
from drayman.queue import folder as folder_module
from drayman.queue.durable import data_sync_for
from drayman.queue.finish import copy_name, finish_interrupted, place_final, rename_no_replace
from drayman.queue.folder import JobFolder, can_open_folders, fsync_dir
from drayman.queue.partcheck import KnownPart, PartNotOurs, tail_digest
from drayman.queue.partfile import PartFile

# -- 7. durable flush, per OS ------------------------------------------------------------


def test_plain_fsync_on_linux_windows_and_the_bsds() -> None:
    for platform in ("linux", "win32", "freebsd14"):
        assert data_sync_for(platform) is os.fsync


def test_macos_flushes_through_the_drive_cache_with_f_fullfsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    calls: list[tuple[str, int, int | None]] = []

    def fake_fcntl(fd: int, command: int, *args: object) -> int:
        calls.append(("fcntl", fd, command))
        return 0

    def fake_fsync(fd: int) -> None:
        calls.append(("fsync", fd, None))

    monkeypatch.setattr(fcntl, "fcntl", fake_fcntl)
    monkeypatch.setattr(os, "fsync", fake_fsync)
    sync = data_sync_for("darwin")
    sync(7)
    assert calls == [("fcntl", 7, durable.F_FULLFSYNC)]
    assert durable.F_FULLFSYNC == 51  # <sys/fcntl.h> on macOS


def test_macos_falls_back_to_fsync_where_f_fullfsync_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fcntl

    synced: list[int] = []

    def refusing_fcntl(fd: int, command: int, *args: object) -> int:
        raise OSError(errno.ENOTSUP, "not on this file system")

    monkeypatch.setattr(fcntl, "fcntl", refusing_fcntl)
    monkeypatch.setattr(os, "fsync", synced.append)
    data_sync_for("darwin")(9)
    assert synced == [9]


def test_folders_are_fsynced_where_they_can_be_opened(tmp_path: Path) -> None:
    assert can_open_folders("linux") and can_open_folders("darwin")
    assert not can_open_folders("win32")
    missing = tmp_path / "missing"
    # Windows: nothing is opened at all (it cannot open folders)
    fsync_dir(str(missing), platform="win32")
    # elsewhere the folder really is opened and fsynced
    with pytest.raises(FileNotFoundError):
        fsync_dir(str(missing), platform="linux")
    fsync_dir(str(tmp_path), platform="linux")
    folder = JobFolder.open(str(tmp_path), str(tmp_path), create=False)
    try:
        folder.sync(platform="win32")
        folder.sync(platform="linux")
    finally:
        folder.close()


# -- the finish: never over another file ---------------------------------------------------


def make_part(folder: Path, data: bytes = b"payload") -> tuple[str, str]:
    part, final = folder / "f.bin.part", folder / "f.bin"
    part.write_bytes(data)
    return str(part), str(final)


def refuse_links(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def link(src: str, dst: str, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), src, None, dst)

    monkeypatch.setattr(os, "link", link)


@pytest.mark.parametrize("code", [None, errno.EPERM, errno.EXDEV])
@pytest.mark.parametrize("use_folder", [False, True])
def test_place_final_moves_the_part_to_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int | None, use_folder: bool
) -> None:
    part, final = make_part(tmp_path)
    if code is not None:
        refuse_links(monkeypatch, code)
    folder = JobFolder.open(str(tmp_path), str(tmp_path), create=False) if use_folder else None
    try:
        place_final(part, final, folder=folder)
    finally:
        if folder is not None:
            folder.close()
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]
    assert Path(final).read_bytes() == b"payload"


@pytest.mark.parametrize("code", [None, errno.EPERM, errno.EXDEV])
@pytest.mark.parametrize("renameat2", [True, False])
def test_place_final_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int | None, renameat2: bool
) -> None:
    part, final = make_part(tmp_path)
    Path(final).write_bytes(b"precious")
    if code is not None:
        refuse_links(monkeypatch, code)
    if not renameat2:  # an OS or file system without RENAME_NOREPLACE: check, then rename
        monkeypatch.setattr(finish, "_renameat2_noreplace", lambda src, dst, fd: False)
    with pytest.raises(FileExistsError):
        place_final(part, final)
    assert Path(final).read_bytes() == b"precious"
    assert Path(part).read_bytes() == b"payload"
    assert sorted(os.listdir(tmp_path)) == ["f.bin", "f.bin.part"]  # no copy left behind


def test_a_half_made_copy_from_a_crash_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part, final = make_part(tmp_path, b"the whole file")
    Path(copy_name(final)).write_bytes(b"the wh")
    refuse_links(monkeypatch, errno.EXDEV)
    place_final(part, final)
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]
    assert Path(final).read_bytes() == b"the whole file"


def test_rename_no_replace_refuses_an_existing_name_atomically(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    # Linux: renameat2(RENAME_NOREPLACE) on a file system that has it
    assert finish._renameat2_noreplace(str(tmp_path / "a"), str(tmp_path / "c"), None)
    with pytest.raises(FileExistsError):
        rename_no_replace(str(tmp_path / "c"), str(tmp_path / "b"))
    assert (tmp_path / "b").read_bytes() == b"b"
    assert (tmp_path / "c").read_bytes() == b"a"


@pytest.mark.parametrize(
    ("state", "finished"),
    [
        ("final only", True),
        ("both names, one file", True),
        ("both names, same bytes", True),
        ("both names, other bytes", False),
        ("final too short", False),
        ("final is a link", False),
        ("part only", False),
    ],
)
def test_finish_interrupted_recognises_what_a_crash_left(
    tmp_path: Path, state: str, finished: bool
) -> None:
    data = b"x" * 1000
    part, final = tmp_path / "f.bin.part", tmp_path / "f.bin"
    if state == "final only":
        final.write_bytes(data)
    elif state == "both names, one file":
        final.write_bytes(data)
        os.link(final, part)
    elif state == "both names, same bytes":
        final.write_bytes(data)
        part.write_bytes(data)
    elif state == "both names, other bytes":
        final.write_bytes(data)
        part.write_bytes(b"y" * 1000)
    elif state == "final too short":
        final.write_bytes(data[:10])
        part.write_bytes(data)
    elif state == "final is a link":
        (tmp_path / "elsewhere").write_bytes(data)
        make_symlink(final, tmp_path / "elsewhere")
        part.write_bytes(data)
    else:
        part.write_bytes(data)
    assert finish_interrupted(str(part), str(final), len(data)) is finished
    # when finished, no .part is left; otherwise nothing is touched
    assert part.exists() is (not finished and state != "final only")


# -- what a reopened .part is trusted for ----------------------------------------------------


async def open_part(path: Path, offset: int, known: KnownPart | None) -> PartFile:
    return await PartFile.open(str(path), offset, create=False, want_hash=True, known=known)


async def test_a_reopened_part_is_trusted_only_as_far_as_it_is_verifiably_ours(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.part"
    path.write_bytes(b"a" * 100_000)
    first = await open_part(path, 80_000, None)
    first.close()
    known = KnownPart(first.identity, tail_digest_of(path, 80_000))
    assert path.stat().st_size == 80_000  # the unsynced tail was cut

    # grown: cut back to the offset
    with open(path, "ab") as handle:
        handle.write(b"b" * 5000)
    again = await open_part(path, 80_000, known)
    assert (again.offset, again.found) == (80_000, "")
    again.close()

    # cut short: resumed from its length, never beyond
    os.truncate(path, 30_000)
    short = await open_part(path, 80_000, known)
    assert short.offset == 30_000 and "cut short" in short.found
    assert short.hexdigest() == hashlib.sha256(b"a" * 30_000).hexdigest()
    short.close()

    # changed before the offset (same file): not trusted at all
    with open(path, "r+b") as handle:
        handle.write(b"a" * 30_000 + b"z" * 50_000)
    changed = await open_part(path, 80_000, known)
    assert changed.offset == 0 and "changed" in changed.found
    changed.close()


def tail_digest_of(path: Path, offset: int) -> str | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return tail_digest(fd, offset)
    finally:
        os.close(fd)


async def test_a_stranger_at_the_part_name_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "f.part"
    path.write_bytes(b"a" * 50_000)
    ours = await open_part(path, 50_000, None)
    known = KnownPart(ours.identity, tail_digest_of(path, 50_000))
    ours.close()
    path.unlink()
    path.write_bytes(b"c" * 70_000)  # may even get the same inode number back
    with pytest.raises(PartNotOurs):
        await open_part(path, 50_000, known)
    assert path.read_bytes() == b"c" * 70_000


async def test_the_tail_digest_written_matches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.part"
    part = await PartFile.open(str(path), 0, create=True, want_hash=False)
    data = os.urandom(200_000)
    for start in range(0, len(data), 7_000):
        await part.write([data[start : start + 3_000], data[start + 3_000 : start + 7_000]])
    durable = await part.sync()
    assert durable == len(data)
    assert part.tail_at(durable) == tail_digest_of(path, durable)
    part.close()


# -- the folder: below the chosen one, no link is followed --------------------------------------


@pytest.mark.parametrize("use_dir_fd", [pytest.param(True, marks=DIR_FD), False])
def test_a_link_below_the_chosen_folder_is_refused(tmp_path: Path, use_dir_fd: bool) -> None:
    chosen, outside = tmp_path / "chosen", tmp_path / "outside"
    outside.mkdir()
    (chosen / "Ann").mkdir(parents=True)
    make_symlink(chosen / "Ann" / "Season 1", outside, directory=True)
    with pytest.raises(FolderEscape, match="Season 1"):
        JobFolder.open(
            str(chosen), str(chosen / "Ann" / "Season 1"), create=True, use_dir_fd=use_dir_fd
        )
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("use_dir_fd", [pytest.param(True, marks=DIR_FD), False])
def test_the_chosen_folder_itself_may_be_a_link(tmp_path: Path, use_dir_fd: bool) -> None:
    real = tmp_path / "real"
    real.mkdir()
    make_symlink(tmp_path / "Downloads", real, directory=True)
    chosen = str(tmp_path / "Downloads")
    folder = JobFolder.open(chosen, os.path.join(chosen, "Ann"), create=True, use_dir_fd=use_dir_fd)
    folder.verify()
    folder.close()
    assert (real / "Ann").is_dir()


def test_a_folder_outside_the_chosen_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FolderEscape):
        JobFolder.open(str(tmp_path / "a"), str(tmp_path / "b"), create=True)
    assert not (tmp_path / "b").exists()


def test_dir_fd_is_used_wherever_the_os_has_it() -> None:
    assert folder_module.DIR_FD_SUPPORTED is (os.name == "posix")
