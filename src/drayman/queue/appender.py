"""A single stream's ``.part``: chunks gathered into blocks, one write in flight, checkpoints.

The socket's chunks are gathered until a block (``block_size``) is full,
then handed to the write lane (:class:`.partfile.PartFile`); the next block
is gathered while it is written. A checkpoint (an fsync, *then* the offset
committed through the :class:`.landing.Landing`) runs beside the download,
one at a time, so the database never runs ahead of the disk and the
download never waits for the disk's flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from drayman.queue.blocking import run_blocking
from drayman.queue.landing import Landing
from drayman.queue.partcheck import KnownPart, PartNotOurs
from drayman.queue.partfile import PartFile
from drayman.queue.transferconfig import checkpoint_step

log = logging.getLogger(__name__)


class PartAppender:
    """Appends a single stream's bytes to the job's ``.part`` and checkpoints them."""

    def __init__(self, landing: Landing) -> None:
        self.landing = landing
        self.part: PartFile | None = None
        #: chunks read from the socket, not yet handed to the write lane
        self._chunks: list[bytes] = []
        self._buffered = 0
        #: file offset after every write handed to the write lane
        self._queued = landing.job.bytes_done
        self._checkpointing: asyncio.Task[None] | None = None
        #: a small file's .part, created with its first write (see open_later)
        self._later: tuple[str, Callable[[PartFile], object] | None] | None = None

    def position(self) -> int:
        """Bytes of the file we hold: written, being written, or gathered."""
        return self._queued + self._buffered

    @property
    def buffered(self) -> int:
        """Bytes gathered and not yet handed to the write lane."""
        return self._buffered

    def fd(self) -> int | None:
        part = self.part
        return None if part is None or part.closed else part.fileno()

    async def open(
        self,
        path: str,
        offset: int,
        *,
        create: bool,
        on_open: Callable[[PartFile], object] | None = None,
    ) -> None:
        """Open the ``.part`` at what can be trusted of ``offset`` (see PartFile.open).

        A file at the ``.part`` name that is not ours is left alone: the job
        takes the next free name and starts from byte 0. ``on_open(part)``
        runs in the blocking call that opened (or cut back) the file.
        """
        landing = self.landing
        self._chunks, self._buffered = [], 0
        self._later = None
        part = self.part
        if part is not None and not part.closed and part.path == path and offset == 0:
            # the server sent the whole file: start over in the file we hold
            await self.wait_checkpointing()
            await part.settle()
            await run_blocking(part.restart, on_open)
        else:
            await self.release()
            job = landing.job
            folder = await landing.open_folder(create=False)
            known = KnownPart(identity=job.part_identity, tail=job.part_tail)
            want_hash = job.sha256 is not None
            try:
                part = await PartFile.open(
                    path,
                    offset,
                    create=create,
                    want_hash=want_hash,
                    folder=folder,
                    known=known,
                    on_open=on_open,
                )
            except PartNotOurs as exc:
                log.warning("job %d: %s; it is left alone, taking another name", job.id, exc)
                await landing.rename_target(move_part=False)
                new_path = landing.job.part_path
                assert new_path is not None
                part = await PartFile.open(
                    new_path, 0, create=True, want_hash=want_hash, folder=folder, on_open=on_open
                )
            if part.found:
                log.info("job %d: %s", job.id, part.found)
            self.part = part
            if part.identity != landing.job.part_identity:
                await landing.store.set_part_identity(job.id, part.identity)
        self._queued = landing.progress.position = part.offset
        if part.offset < landing.committed:
            # what is verifiably there is less than the database says: say so
            # now, so it never claims bytes the file does not have
            await landing.set_back(part.offset, self.fd())

    def open_later(self, path: str, *, on_open: Callable[[PartFile], object] | None) -> None:
        """Create the new ``.part`` (exclusively) with its first write, not now: a
        small file is created, recorded, written and fsynced in one call to the
        lane (see :meth:`finish`). ``on_open(part)`` runs in that call first."""
        self._chunks, self._buffered = [], 0
        self._later = (path, on_open)
        self._queued = self.landing.progress.position = 0

    async def _create(self, first: list[bytes] | None = None) -> PartFile:
        """Create the ``.part`` :meth:`open_later` named; with ``first``, also write
        those chunks, fsync them and record that offset on the file, in the same call."""
        assert self._later is not None
        (path, on_open), self._later = self._later, None
        landing = self.landing

        def opened(part: PartFile) -> None:
            try:
                if on_open is not None:
                    on_open(part)
                if first is not None:
                    part.write_sync_then(first, landing.record_on_part(part))
            except BaseException:
                part.close()
                raise

        part = await PartFile.open(
            path,
            0,
            create=True,
            want_hash=landing.job.sha256 is not None,
            folder=await landing.open_folder(create=False),
            on_open=opened,
        )
        self.part = part
        # with the first checkpoint: the finish's, a few milliseconds away
        await landing.record_identity(part.identity, with_checkpoint=True)
        return part

    async def release(self) -> None:
        """Let go of the ``.part`` (a positional one takes over, or another name)."""
        self._later = None  # never created: nothing of it to keep
        part, self.part = self.part, None
        if part is not None:
            await part.settle()
            part.close()

    def gather(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)

    async def flush(self) -> None:
        """Hand the gathered chunks to the write lane (one write in flight)."""
        if self._chunks and self._later is not None:
            await self._create()
        if self._chunks and self.part is not None:
            # if cancelled before the hand-over, the chunks stay for save()
            await self.part.write(self._chunks)
            self._queued += self._buffered
            self._chunks, self._buffered = [], 0

    def pumped(self) -> None:
        """A :class:`.Pump` appended to the file: its end is the position now."""
        if self.part is not None:
            self._queued = self.part.offset

    # -- checkpoints -------------------------------------------------------------------

    def checkpoint_soon(self) -> bool:
        """Start an fsync + commit beside the download, unless one is running."""
        running = self._checkpointing
        if (running is not None and not running.done()) or self.part is None:
            return False  # one at a time; none before the .part exists
        if running is not None and not running.cancelled():
            error = running.exception()
            if error is not None:
                raise error
        self._checkpointing = asyncio.create_task(self._commit())
        return True

    async def _commit(self) -> None:
        assert self.part is not None
        part = self.part
        await self.landing.record(await part.sync(), part, strict=False)

    async def wait_checkpointing(self) -> None:
        running, self._checkpointing = self._checkpointing, None
        if running is not None:
            await asyncio.shield(running)

    async def checkpoint(self) -> None:
        """Finish every write, fsync, then commit: never the other order."""
        await self.wait_checkpointing()
        part = self.part
        if part is None or part.closed:
            return
        await self.landing.record(await part.sync(), part)

    async def save(self, *, write: bool = True) -> None:
        """Keep what we have after an error or a cancellation.

        Commits exactly what is durable: after a write that failed half way
        (a disk that filled up) that is every byte that landed. Without
        ``write`` nothing more is written or committed.
        """
        part, job_id = self.part, self.landing.job.id
        if part is None or part.closed:
            return
        try:
            await self.wait_checkpointing()
        except Exception as exc:  # the job's own error matters more than this one
            log.warning("job %d: a checkpoint failed: %s", job_id, exc)
        await part.settle()
        if not write:
            return
        try:
            await self.flush()
        except Exception as exc:
            log.warning("job %d: could not write the last block: %s", job_id, exc)
        # a write that fails now (the disk is still full) wrote what it could:
        # the checkpoint below syncs and commits exactly that
        await part.settle()
        try:
            await self.checkpoint()
        except Exception as exc:
            log.warning("job %d: could not save progress: %s", job_id, exc)

    async def discard(self) -> None:
        """Drop what was gathered and let go of the file (it is about to be removed)."""
        with contextlib.suppress(Exception):  # the refusal matters more than a checkpoint
            await self.wait_checkpointing()
        self._chunks, self._buffered = [], 0
        await self.release()

    async def finish(self, size: int, *, from_zero: bool) -> None:
        """Land the file (:meth:`.Landing.finish`), with what is gathered as its last write."""
        await self.wait_checkpointing()
        last, self._chunks = self._chunks, []
        self._queued += self._buffered
        self._buffered = 0
        if self._later is not None:
            # a small file: created, written, fsynced and recorded in one call
            created = await self._create(last)
            await self.landing.finish(created, size, from_zero=from_zero, synced=True)
            return
        part = self.part
        assert part is not None
        await self.landing.finish(part, size, from_zero=from_zero, last=last)


class AppendSink:
    """A :class:`.Pump`'s bytes appended to the single stream's ``.part``, checkpointed.

    As when aiohttp reads: a checkpoint is due after ``checkpoint_seconds`` or
    a step of bytes, and only when bytes came since the last look (a held
    or stalled answer records nothing new; its bytes are saved by the pause,
    the error or the next byte that comes). A speed limit (``limited()``)
    stops the pump: the limiter is the event loop's.
    """

    def __init__(self, appender: PartAppender, total: int, *, limited: Callable[[], bool]) -> None:
        part = appender.part
        assert part is not None
        self.appender, self.part, self.total, self._limited = appender, part, total, limited
        config = appender.landing.config
        #: bytes between checkpoints (a pump nudges the loop after as many)
        self.step = checkpoint_step(config, total)
        self._every = config.checkpoint_seconds
        self._next_checkpoint = time.monotonic() + self._every
        self._progress = appender.landing.progress
        self._seen = self._progress.position

    def room(self) -> int:
        return self.total - self.part.offset

    def land(self, view: memoryview) -> int:
        return self.part.append_view(view)

    def idle(self) -> None:
        pass  # a single stream's record is written at checkpoints only

    def splices(self) -> bool:
        # a hash is fed from the bytes as they pass: they must pass through here
        return self.part.hasher is None

    def land_from(self, pipe: int, size: int) -> int:
        return self.part.append_from(pipe, size)

    def counted(self, amount: int) -> None:
        self._progress.received += amount
        self._progress.position += amount

    def tick(self) -> bool:
        if self._limited():
            return False
        position = self._progress.position
        came, self._seen = position > self._seen, position
        if not came:
            return True
        now = time.monotonic()
        due = position - self.appender.landing.tried >= self.step
        if (now >= self._next_checkpoint or due) and self.appender.checkpoint_soon():
            self._next_checkpoint = now + self._every
        return True
