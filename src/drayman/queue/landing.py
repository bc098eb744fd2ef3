"""Landing a download: its name, the ``.part``'s record, recorded progress, the finish.

Whatever fetches the bytes (one connection, :mod:`.transfer`; several,
:mod:`.segmented`) lands them through one :class:`Landing` per transfer:

- the job's folder, opened once, below the chosen one without links
  (:mod:`.folder`); every file operation goes through it;
- the name: chosen once before any byte is written (never an existing
  file's, never another job's), or taken over with a ``.part`` an earlier
  database left (:mod:`.partrecord`); the next free one if a file takes it
  meanwhile; a job sorted by file type gets its category's folder in the
  same write as its name (:mod:`.sorting`), before its ``.part`` exists;
- the ``.part``'s own record, never claiming more than was fsynced;
- progress: an offset is committed only after the fsync that made it
  durable; a checkpoint beside the download that meets a locked or full
  database is said once and tried again later;
- the finish: fsync, length and sha256 checked, a link to the final name
  (never over a file), the folder fsynced, the job ``done``. A crash between
  any two steps is recognised by the next run (:func:`.finish.finish_interrupted`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import aiohttp

from drayman.errors import (
    EnvironmentProblem,
    FolderEscape,
    InvalidName,
    PermanentError,
    RestartRequired,
    TransientError,
)
from drayman.faults import crash_point
from drayman.headers import validators_agree
from drayman.jobs import PART_SUFFIX, Job
from drayman.names import next_free_name, pick_filename
from drayman.queue.blocking import run_blocking
from drayman.queue.bootid import boot_id
from drayman.queue.durable import sync_folder as durable_sync_folder
from drayman.queue.finish import finish_interrupted, place_final, rename_no_replace, sha256_file
from drayman.queue.folder import JobFolder
from drayman.queue.partcheck import KnownPart
from drayman.queue.partfile import PartFile, disk_error
from drayman.queue.partrecord import (
    PartRecord,
    database_id,
    find_adoptable,
    remove_record,
    url_id,
    write_record,
)
from drayman.queue.progress import TransferProgress
from drayman.queue.sorting import sorted_folder
from drayman.queue.transferconfig import TransferConfig
from drayman.storage import JobStore
from drayman.units import human_size

log = logging.getLogger(__name__)


class Landing:
    """Where one transfer's bytes land; ``job`` is the row as this transfer last read it."""

    def __init__(
        self, job: Job, store: JobStore, config: TransferConfig, progress: TransferProgress
    ) -> None:
        self.job = job
        self.store = store
        self.config = config
        self.progress = progress
        #: this attempt made durable more of the file than the job had when it
        #: began (resets the attempt count); bytes fetched again after a restart
        #: from byte 0 are not progress, or a restart every attempt never ends
        self.made_progress = False
        self._high = job.bytes_done
        #: the offset the database holds for a single stream
        self.committed = job.bytes_done
        #: the offset of the last checkpoint tried: while the database cannot
        #: be written, the next try waits for another step of bytes
        self.tried = job.bytes_done
        #: why the last checkpoint could not be recorded (None: it was)
        self._db_trouble: str | None = None
        #: False once the file system refused a record on the .part
        self._keep_record = True
        #: the job's folder, open (see drayman.queue.folder)
        self._folder: JobFolder | None = None
        #: a name whose adoptable ``.part`` files were looked for and none found
        self._none_to_adopt: str | None = None
        #: (folder, wanted name, the first name free on disk) noted by that look,
        #: for the name's choice after the answer: no hop of its own
        self._free_name: tuple[str, str, str] | None = None
        #: (answer, the name it asks for): asked by the adoption and the choice
        self._wanted: tuple[aiohttp.ClientResponse, str] | None = None
        self._db_id: str | None = None
        self._url_id: str | None = None
        #: a small file's new .part's identity, until its first checkpoint records it
        self._identity_unsaved: str | None = None
        #: told when the transfer's network part ends or starts again (the engine's slots)
        self.on_finishing: Callable[[], None] | None = None

    def close(self) -> None:
        if self._folder is not None:
            self._folder.close()

    def finishing(self, finishing: bool = True) -> None:
        """Every byte is in hand (True), or an attempt goes to the network again
        (False): said to the engine, which counts only transfers on the network
        against ``-j`` (a file being made durable holds no connection)."""
        if self.progress.finishing != finishing:
            self.progress.finishing = finishing
            if self.on_finishing is not None:
                self.on_finishing()

    def same_validators(self, etag: str | None, last_modified: str | None) -> bool:
        return validators_agree(self.job.etag, self.job.last_modified, etag, last_modified)

    # -- the folder ------------------------------------------------------------------

    async def open_folder(self, *, create: bool) -> JobFolder:
        """Open the job's folder (once per transfer), below the chosen one without links."""
        if self._folder is None:
            job = self.job
            try:
                self._folder = await run_blocking(
                    functools.partial(JobFolder.open, job.chosen_dir, job.dest_dir, create=create)
                )
            except OSError as exc:
                raise disk_error(exc, exc.filename or job.dest_dir) from exc
        return self._folder

    async def sync_folder(self) -> None:
        folder = await self.open_folder(create=False)
        try:
            # coalesced: finishes in one folder share its fsyncs
            await run_blocking(durable_sync_folder, folder)
        except OSError as exc:
            raise disk_error(exc, folder.path) from exc

    async def check_space(self, needed: int) -> None:
        folder = self.job.dest_dir
        try:
            if self._folder is not None:
                free = await run_blocking(self._folder.statvfs_free)
            else:
                # not made yet (nothing is, before this check): its nearest
                # existing parent is on the same disk
                free = (await run_blocking(shutil.disk_usage, _existing(folder))).free
        except OSError as exc:
            raise disk_error(exc, folder) from exc
        if needed > free:
            raise PermanentError(
                detail=f"not enough free space in {self.job.dest_dir}: "
                f"{human_size(needed)} needed, {human_size(free)} free; "
                "nothing was written (free some space, then `drayman retry`)"
            )

    async def remove_part(self) -> None:
        """Remove the ``.part`` (a refused file: nothing of it is kept)."""
        job = self.job
        if job.part_path is None:
            return
        folder = await self.open_folder(create=False)
        await run_blocking(folder.remove_file, os.path.basename(job.part_path))

    # -- the name ----------------------------------------------------------------------

    def wanted_name(self, response: aiohttp.ClientResponse | None) -> str:
        """The name the job asks for: from the answer, or before it from the URL alone."""
        job = self.job
        if response is not None and self._wanted is not None and self._wanted[0] is response:
            return self._wanted[1]
        headers = response.headers if response is not None else {}
        name = pick_filename(
            requested=job.requested_name,
            content_disposition=headers.get("Content-Disposition"),
            url=str(response.url) if response is not None else job.url,
            content_type=headers.get("Content-Type"),
            template=job.name_template,
        )
        if response is not None:
            self._wanted = (response, name)
        return name

    async def adopt_part(self, response: aiohttp.ClientResponse | None, total: int | None) -> bool:
        """Take over a ``.part`` of this URL that an earlier database left (see
        :mod:`.partrecord`): its name, validators and recorded offset.

        Tried before the first request with the name the URL gives, and again
        with the name the server's answer gives (Content-Disposition).
        """
        job = self.job
        headers = response.headers if response is not None else {}
        etag, last_modified = headers.get("ETag"), headers.get("Last-Modified")
        wanted = self.wanted_name(response)
        sorted_into = await self.sorted_folder(wanted, response)
        # sorted by file type, the folder may change with the answer's Content-Type
        looked_for = os.path.join(sorted_into or job.dest_dir, wanted)
        if looked_for == self._none_to_adopt:
            # looked for before the request, under the same name: nothing there
            return False
        found, folder, free = await run_blocking(
            self._look_for_parts, sorted_into or job.dest_dir, wanted, self._folder
        )
        if folder is not None and self._folder is None:
            self._folder = folder
        self._free_name = free
        if not found:
            self._none_to_adopt = looked_for
        for name, record in found:
            if not validators_agree(record.etag, record.last_modified, etag, last_modified) or (
                total is not None and record.total not in (None, total)
            ):
                continue  # the server has another file now: nothing to resume
            if await self.store.name_taken(job.id, sorted_into or job.dest_dir, name):
                continue
            if not await self.store.set_name(job.id, name, dest_dir=sorted_into):
                continue
            self.job = await self.store.record_remote(
                job.id,
                etag=record.etag,
                last_modified=record.last_modified,
                bytes_total=record.total,
                effective_url=None,
                bytes_done=record.offset,
            )
            self.progress.file_name = name
            log.info(
                "job %d: resuming %s from byte %d (left by an earlier database)",
                job.id,
                name + ".part",
                record.offset,
            )
            return True
        return False

    def _look_for_parts(
        self, folder_path: str, wanted: str, folder: JobFolder | None
    ) -> tuple[list[tuple[str, PartRecord]], JobFolder | None, tuple[str, str, str] | None]:
        """On the lane: the ``.part`` files to adopt (:func:`.find_adoptable`); and in
        the same call the job's folder opened, if it exists, with the first name
        free in it: the name's choice after the answer needs no hop of its own.

        Whatever goes wrong opening the folder is left for :meth:`open_folder`
        to say, when the name is chosen, as it would without this look.
        """
        job = self.job
        found = find_adoptable(folder_path, wanted, db=self.database_id(), url=self.url_id())
        free = None
        if not found and folder_path == job.dest_dir:
            if folder is None:
                with contextlib.suppress(OSError, FolderEscape):
                    folder = JobFolder.open(job.chosen_dir, job.dest_dir, create=False)
            if folder is not None:
                opened = folder
                with contextlib.suppress(OSError, InvalidName):
                    name = next_free_name(wanted, lambda n: exists_on_disk(opened, n))
                    free = (folder_path, wanted, name)
        return found, folder, free

    def _name_in_folder(
        self, wanted: str, taken_by_jobs: set[str], folder: JobFolder | None
    ) -> tuple[JobFolder, str]:
        """On the lane: the job's folder (opened, made if missing, when not yet)
        and the first name free in it, neither on disk nor ``taken_by_jobs``."""
        job = self.job
        if folder is None:
            try:
                folder = JobFolder.open(job.chosen_dir, job.dest_dir, create=True)
            except OSError as exc:
                raise disk_error(exc, exc.filename or job.dest_dir) from exc
        opened = folder

        def is_taken(name: str) -> bool:
            return name.casefold() in taken_by_jobs or exists_on_disk(opened, name)

        try:
            return folder, next_free_name(wanted, is_taken)
        except OSError as exc:
            if self._folder is not folder:
                folder.close()
            raise disk_error(exc, job.dest_dir) from exc
        except BaseException:
            if self._folder is not folder:
                folder.close()
            raise

    async def choose_name(self, response: aiohttp.ClientResponse, total: int | None) -> None:
        """Fix the file name once, before any byte is written; stored in the same
        write as what the answer says (validators, ``total``, from byte 0)."""
        job = self.job
        headers = response.headers
        wanted = self.wanted_name(response)
        # sorted by file type: the category's folder, stored with the name
        sorted_into = await self.sorted_folder(wanted, response)
        free, self._free_name = self._free_name, None
        if sorted_into is not None:
            job = self.job = replace(job, dest_dir=sorted_into)
            if self._folder is not None:  # never opened before a name; never the old one
                self._folder.close()
                self._folder = None
        # the first name free on disk, if the adoption's look just found it here
        candidate = free[2] if free is not None and free[:2] == (job.dest_dir, wanted) else None
        # other jobs' targets, learnt as we go: a name is free when neither a
        # file on disk nor another job holds it (the unique index decides)
        taken_by_jobs: set[str] = set()
        for _ in range(1000):
            if candidate is None or self._folder is None:
                self._folder, name = await run_blocking(
                    self._name_in_folder, wanted, set(taken_by_jobs), self._folder
                )
            else:
                name = candidate
            stored = await self.store.name_and_remote(
                job.id,
                name,
                dest_dir=sorted_into,
                etag=headers.get("ETag"),
                last_modified=headers.get("Last-Modified"),
                bytes_total=total,
                effective_url=str(response.url),
            )
            if stored is not None:
                crash_point("name.after-commit")
                self.job = stored
                self.progress.file_name = name
                return
            taken_by_jobs.add(name.casefold())
            candidate = None
        raise PermanentError(detail=f"could not find a free file name for {wanted!r}")

    async def sorted_folder(self, name: str, response: aiohttp.ClientResponse | None) -> str | None:
        """Where a job sorted by file type goes (None: it stays in its folder)."""
        content_type = response.headers.get("Content-Type") if response is not None else None
        return await sorted_folder(self.store, self.job, name, content_type)

    async def rename_target(self, *, move_part: bool = True) -> None:
        """Take the next free name; with ``move_part`` our ``.part`` follows it."""
        job = self.job
        assert job.file_name is not None
        folder = await self.open_folder(create=False)
        name = await asyncio.to_thread(
            next_free_name, job.file_name, lambda n: exists_on_disk(folder, n)
        )
        if not await self.store.set_name(job.id, name, replace=True):
            raise TransientError(detail=f"the file name {name!r} was taken meanwhile")
        part_path = job.part_path
        self.job = await self.store.get(job.id)
        self.progress.file_name = name
        new_part = self.job.part_path
        assert part_path is not None and new_part is not None
        if move_part:
            try:
                await asyncio.to_thread(
                    rename_no_replace,
                    folder.at(os.path.basename(part_path)),
                    folder.at(os.path.basename(new_part)),
                    folder.fd,
                )
            except OSError as exc:
                raise disk_error(exc, new_part) from exc

    # -- the .part's record ---------------------------------------------------------------

    async def write_record(
        self,
        offset: int,
        *,
        fd: int | None = None,
        written: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Keep the record on the ``.part`` (see :mod:`.partrecord`); never above ``offset``.

        ``fd``: the open ``.part`` (where the OS can, the record goes through
        it: a path could lead elsewhere). ``written``: the ranges whose writes
        returned (not fsynced), kept as the record's live part with this
        boot's stamp; without them, a live part the record had is dropped.
        """
        part_path = self.job.part_path
        if not self._keep_record or part_path is None:
            return
        boot = boot_id() if written else None
        record = replace(
            self.record_base(),
            offset=offset,
            boot=boot,
            written=tuple(written) if boot is not None else (),
        )
        self._keep_record = await run_blocking(
            functools.partial(write_record, part_path, record, fd=fd)
        )

    def database_id(self) -> str:
        """The database the ``.part``'s record names (its absolute path, hashed), once."""
        if self._db_id is None:
            self._db_id = database_id(self.store.path)
        return self._db_id

    def first_record(
        self, etag: str | None, last_modified: str | None, total: int | None
    ) -> Callable[[PartFile], None]:
        """The ``.part``'s first record (offset 0, the answer's validators), for the
        blocking call that opens the file (:meth:`.PartFile.open`'s ``on_open``):
        it names what the bytes will be before the first of them is written."""
        record = replace(
            self.record_base(), etag=etag, last_modified=last_modified, total=total, offset=0
        )

        def write(part: PartFile) -> None:
            if self._keep_record:
                self._keep_record = write_record(part.path, record, fd=part.fileno())

        return write

    def url_id(self) -> str:
        """The URL the ``.part``'s record names (the job's original one, hashed), once."""
        if self._url_id is None:
            self._url_id = url_id(self.job.original_url)
        return self._url_id

    def record_base(self) -> PartRecord:
        """The ``.part``'s record as the job stands, at offset 0 (see :mod:`.partrecord`)."""
        job = self.job
        return PartRecord(
            db=self.database_id(),
            url=self.url_id(),
            etag=job.etag,
            last_modified=job.last_modified,
            total=job.bytes_total,
            offset=0,
        )

    @property
    def keeps_record(self) -> bool:
        """False once the file system refused the ``.part`` a record."""
        return self._keep_record

    async def record_identity(self, identity: str, *, with_checkpoint: bool = False) -> None:
        """Record which file the job's ``.part`` is: now, or ``with_checkpoint``
        (a small file just created with its bytes: the finish's checkpoint, a
        few milliseconds later; one write less per file). Until then a crash
        leaves the job with no identity, as a crash before this write would:
        the next run trusts no byte of the ``.part`` beyond the recorded
        offset, which is 0."""
        if with_checkpoint:
            self._identity_unsaved = identity
        else:
            await self.store.set_part_identity(self.job.id, identity)
        self.job = replace(self.job, part_identity=identity)

    # -- recorded progress ------------------------------------------------------------------

    def note_progress(self, durable: int) -> None:
        """``durable`` bytes of the file are recorded: progress if more than ever before."""
        if durable > self._high:
            self._high = durable
            self.made_progress = True

    async def commit_progress(self, write: Awaitable[None], *, strict: bool) -> bool:
        """Run a checkpoint's database write; False if it could not be recorded.

        Not ``strict`` (a checkpoint beside the download), a database that is
        locked or full is said once and the download goes on: the recorded
        offset stays an older, safe one, and the next checkpoint tries again.
        Both the single stream and the segments record progress through here.
        """
        try:
            await write
        except EnvironmentProblem as exc:
            if strict:
                raise
            if self._db_trouble is None:
                log.warning(
                    "job %d: cannot record progress (%s); downloading on, will try again",
                    self.job.id,
                    exc,
                )
            self._db_trouble = str(exc)
            return False
        if self._db_trouble is not None:
            log.info("job %d: progress recorded again", self.job.id)
            self._db_trouble = None
        return True

    async def record(
        self, durable: int, part: PartFile, *, strict: bool = True, on_part: bool = False
    ) -> None:
        """Commit a single stream's fsynced offset: the database never runs ahead of the disk.

        A checkpoint beside the download (not ``strict``) that finds the
        database locked or full does not stop the transfer: the recorded
        offset stays an older, safe one, the bytes stay in the ``.part``, and
        the next checkpoint tries again. ``on_part``: the ``.part``'s record
        of ``durable`` is written already (:meth:`_record_now`).
        """
        if durable <= self.committed:
            return
        self.tried = max(self.tried, durable)
        if not on_part:
            await self.write_record(durable, fd=_fd_of(part))
        tail = part.tail_at(durable)
        identity = self._identity_unsaved
        if await self.commit_progress(
            self.store.checkpoint(self.job.id, durable, part_tail=tail, part_identity=identity),
            strict=strict,
        ):
            self.note_progress(durable)
            self.committed = durable
            if self._identity_unsaved == identity:
                self._identity_unsaved = None

    def record_on_part(self, part: PartFile) -> Callable[[int], None]:
        """What writes the record of a durable offset on the ``.part``, for the
        blocking call that fsynced it (see :meth:`finish`)."""
        fd = _fd_of(part)
        return lambda offset: self._record_now(offset, fd)

    def _record_now(self, durable: int, fd: int | None) -> None:
        """:meth:`write_record` for a blocking-lane call already running (see :meth:`finish`);
        what :meth:`record` would write, and only then."""
        part_path = self.job.part_path
        if durable <= self.committed or not self._keep_record or part_path is None:
            return
        record = replace(self.record_base(), offset=durable)
        self._keep_record = write_record(part_path, record, fd=fd)

    async def set_back(self, offset: int, fd: int | None) -> None:
        """Record ``offset`` though the database held more: the file has only that much."""
        await self.write_record(offset, fd=fd)
        identity = self._identity_unsaved
        await self.store.checkpoint(self.job.id, offset, part_identity=identity)
        if self._identity_unsaved == identity:
            self._identity_unsaved = None
        self.committed = self.tried = offset

    # -- the finish ----------------------------------------------------------------------------

    async def finish(
        self,
        part: PartFile,
        size: int,
        *,
        from_zero: bool,
        last: list[bytes] | None = None,
        synced: bool = False,
    ) -> None:
        """fsync the ``.part`` -> link it to its name -> fsync the folder -> commit ``done``.

        ``last``: the file's last chunks, not written yet: written, fsynced
        and recorded on the ``.part`` in one call. ``synced``: that call was
        made already (the one that created a small file's ``.part``).
        ``from_zero``: this attempt received the file from byte 0, so a
        checksum mismatch is final.
        """
        job = self.job
        assert job.final_path is not None and job.part_path is not None
        self.finishing()
        # also checks that the .part is still at its name: never finish into nowhere
        if synced:
            durable = part.synced
        else:
            durable = await part.write_and_sync(last or [], self.record_on_part(part))
        await self.record(durable, part, on_part=True)
        crash_point("finish.after-fsync")
        if part.offset != size:
            raise TransientError(detail=f"the file has {part.offset} bytes, expected {size}")
        if job.sha256 is not None:
            digest = part.hexdigest()
            if digest != job.sha256:
                await self.set_back(0, _fd_of(part))
                if from_zero:
                    raise PermanentError(
                        detail=f"checksum mismatch: expected sha256 {job.sha256}, got {digest}"
                    )
                raise RestartRequired(detail="the checksum did not match after a resume")
        folder = await self.open_folder(create=False)
        final = job.final_path
        for _ in range(100):
            assert job.part_path is not None
            try:
                # one call: the .part closed, linked, unrecorded, the folder fsynced
                # (and closed: nothing more is done in it)
                await run_blocking(_place, part, job.part_path, final, folder)
                self._folder = None
                break
            except FileExistsError:
                # someone put a file at our name meanwhile: never overwrite it
                await self.rename_target()
                assert self.job.final_path is not None
                final = self.job.final_path
                job = self.job
            except OSError as exc:
                raise disk_error(exc, final) from exc
        else:
            raise PermanentError(detail=f"could not find a free file name for {final!r}")
        crash_point("finish.after-dir-fsync")
        await self.store.finish(job.id, size)
        self.progress.position = size

    async def finish_in_place(self, total: int, *, from_zero: bool) -> None:
        """Finish a file whose every byte is durable and recorded in its ``.part`` (the segments').

        Reopening it as a PartFile at its full length hashes it in the
        executor when a sha256 is expected (off the event loop, before the
        rename); then the usual checks, link to the final name and "done".
        """
        job = self.job
        assert job.part_path is not None
        self.finishing()
        part = await PartFile.open(
            job.part_path,
            total,
            create=False,
            want_hash=job.sha256 is not None,
            folder=await self.open_folder(create=False),
            known=KnownPart(identity=job.part_identity),
        )
        self.committed = total
        self.progress.position = total
        try:
            await self.finish(part, total, from_zero=from_zero)
        finally:
            await part.settle()
            part.close()

    async def finish_interrupted(self) -> bool:
        """Finish a job that a crash stopped between its rename and "done"; False if it was not."""
        job = self.job
        final, part = job.final_path, job.part_path
        assert final is not None and part is not None
        folder = await self.open_folder(create=False)
        complete = job.bytes_total is not None and job.bytes_done == job.bytes_total
        if not complete or not await asyncio.to_thread(
            finish_interrupted, part, final, job.bytes_done, folder=folder
        ):
            return False
        await self.verify_existing(final)
        await self.sync_folder()
        await self.store.finish(job.id, job.bytes_done)
        return True

    async def verify_existing(self, path: str) -> None:
        expected = self.job.sha256
        if expected is None:
            return
        digest = await asyncio.to_thread(sha256_file, path, folder=self._folder)
        if digest != expected:
            raise PermanentError(
                detail=f"checksum mismatch: expected sha256 {expected}, got {digest}"
            )


def _place(part: PartFile, part_path: str, final: str, folder: JobFolder) -> None:
    """Close the ``.part``, link it to its final name, take the record off the
    file (it was for the ``.part``, a finished file carries none), fsync the
    folder (shared with the other finishes in it) and close it: one blocking call.

    FileExistsError if a file holds the name (nothing done then but the
    close); a failed folder fsync is said as the folder's (PermanentError).
    """
    part.close()
    place_final(part_path, final, folder=folder)
    remove_record(final)
    try:
        durable_sync_folder(folder)
    except OSError as exc:
        raise disk_error(exc, folder.path) from exc
    folder.close()


def exists_on_disk(folder: JobFolder, name: str) -> bool:
    """A file, or another download's ``.part``, holds ``name`` in ``folder``."""
    return folder.exists(name) or folder.exists(name + PART_SUFFIX)


def _fd_of(part: PartFile) -> int | None:
    return None if part.closed else part.fileno()


def _existing(folder: str) -> str:
    """``folder``, or its nearest parent that exists."""
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path
