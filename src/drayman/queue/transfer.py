"""One HTTP download of one job, resumable and never spliced.

The sequence, and why it is in this order:

1. Open the ``.part`` file and cut it back to the durable offset.
2. Ask for the rest: ``Range: bytes=N-`` with ``If-Range`` carrying a strong
   ETag (else Last-Modified). Without a strong validator there is no safe
   resume, so the download starts again.
3. Check the answer: a 206 must start at N, have the known total and the
   same validators; a 200 means the server sent the whole (maybe new) file,
   so the part file is cut to zero first. Never splice two versions.
4. Stream the body in MiB blocks; every few seconds fsync the data, *then*
   commit the offset.
5. Finish: fsync, check length and sha256, link to the final name (never
   over an existing file), fsync the folder, mark the job done. A crash
   between any two of these steps is recognised by the next run
   (:func:`~drayman.queue.finish.finish_interrupted`).

The parts, each in its own module: the job's requests and limits
(:mod:`.jobclient`), the checks of an answer (:mod:`.answer`), the single
stream's writes and checkpoints (:mod:`.appender`), and where the bytes land
(:mod:`.landing`: the folder, the name, the ``.part``'s record, recorded
progress, the finish), which a segmented download (:mod:`.segmented`) lands
through as well. Every file operation goes through the job's open folder
(:mod:`drayman.queue.folder`), so nothing is written outside the folder the
user chose, and the ``.part`` is checked at each checkpoint to still be the
file at its name (a deleted folder or an unplugged drive is an error, not a
download into nowhere).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Sequence

import aiohttp

from drayman.errors import (
    FolderEscape,
    PartFileLost,
    RangesIgnored,
    RestartRequired,
    TooLarge,
    TransferError,
    TransientError,
)
from drayman.headers import if_range_validator
from drayman.jobs import Job
from drayman.queue.answer import check_answer
from drayman.queue.appender import AppendSink, PartAppender
from drayman.queue.cookiejar import JobCookies
from drayman.queue.jobclient import JobClient
from drayman.queue.landing import Landing
from drayman.queue.neterrors import network_error
from drayman.queue.progress import TransferProgress
from drayman.queue.proxyroutes import ProxyRoutes
from drayman.queue.pump import Pump, SpeedProbe, socket_of
from drayman.queue.ratelimit import TokenBucket, fit_receive_buffer
from drayman.queue.segments import connections_for
from drayman.queue.segmentstart import resume as resume_segments
from drayman.queue.segmentstart import take_over
from drayman.queue.stall import ReadDeadline, SpeedWatch, held_back
from drayman.queue.transferconfig import MiB, TransferConfig, checkpoint_step
from drayman.rules import Rule
from drayman.storage import JobStore

log = logging.getLogger(__name__)


class _PartAdopted(Exception):
    """The job took over a ``.part`` left by an earlier database: ask again, for the rest."""


class _PumpStopped(Exception):
    """A speed limit came while the pump ran: ask again for the rest, read by the event loop."""


class Transfer:
    """Download one job. :meth:`run` returns when the job is done, or raises."""

    def __init__(
        self,
        job: Job,
        store: JobStore,
        session: aiohttp.ClientSession,
        config: TransferConfig,
        *,
        limiter: TokenBucket | None = None,
        rules: Sequence[Rule] = (),
        clock: Callable[[], float] = time.time,
        routes: ProxyRoutes | None = None,
        claimed: bool = False,
        cookies: str | None = None,
        on_finishing: Callable[[], None] | None = None,
    ) -> None:
        """``claimed``: ``job`` is the row as the engine's claim stored it and
        ``cookies`` the job's stored cookies; the first attempt reads neither again.
        ``on_finishing``: called when ``progress.finishing`` changes."""
        self.store = store
        self.config = config
        self.progress = TransferProgress(job)
        self.landing = Landing(job, store, config, self.progress)
        self.landing.on_finishing = on_finishing
        self.client = JobClient(
            self.landing, session, limiter=limiter, rules=rules, clock=clock, routes=routes
        )
        if claimed:
            self.client.cookies = JobCookies(cookies)
        #: the row in self.job is the stored one (no read before the first attempt)
        self._row_current = claimed
        self.appender = PartAppender(self.landing)
        #: this attempt received the file from byte 0 (a checksum mismatch is final)
        self._from_zero = False

    @property
    def job(self) -> Job:
        """The job's row as this transfer last read or wrote it."""
        return self.landing.job

    @job.setter
    def job(self, job: Job) -> None:
        self.landing.job = job

    @property
    def made_progress(self) -> bool:
        """More of the file is durable than when this attempt began (see :class:`.Landing`)."""
        return self.landing.made_progress

    @property
    def job_limiter(self) -> TokenBucket:
        """This job's own speed limit, changeable while it runs."""
        return self.client.job_limiter

    # -- the whole download ---------------------------------------------------

    async def run(self) -> None:
        appender = self.appender
        try:
            try:
                await self._attempt_or_adopt()
            except RestartRequired as exc:
                log.info("job %d: %s", self.job.id, exc)
                if isinstance(exc, RangesIgnored):
                    # one connection (no segments) from here on
                    self.progress.server_ignores_ranges = True
                # one clean start from byte 0; if that changes too, back off
                await self._attempt(fresh=True)
        except asyncio.CancelledError:
            # paused, removed or shutting down: keep every byte we have
            await asyncio.shield(appender.save())
            raise
        except TooLarge:
            await asyncio.shield(self._discard())
            raise
        except TransferError as exc:
            # a .part that is no longer at its name, or a folder that leads
            # elsewhere: not one more byte goes there
            keep = not isinstance(exc, PartFileLost | FolderEscape)
            await asyncio.shield(appender.save(write=keep))
            if isinstance(exc, RestartRequired):
                raise TransientError(detail=str(exc)) from exc
            raise
        except (TimeoutError, aiohttp.ClientError, ConnectionError, ssl.SSLError) as exc:
            await asyncio.shield(appender.save())
            raise network_error(exc, read_timeout=self.config.read_timeout) from exc
        finally:
            await appender.release()
            self.landing.close()

    async def _attempt_or_adopt(self) -> None:
        try:
            await self._attempt_resumed()
        except _PartAdopted:
            # resume the adopted bytes: Range + If-Range, the 206 checked as always
            await self._attempt_resumed()

    async def _attempt_resumed(self) -> None:
        while True:
            try:
                await self._attempt(fresh=False)
                return
            except _PumpStopped:
                # what the pump wrote is committed: the next request starts after it
                await self.appender.checkpoint()

    async def _attempt(self, *, fresh: bool) -> None:
        landing, appender = self.landing, self.appender
        landing.finishing(False)  # on the network again (a finish that failed)
        if not self._row_current:
            self.job = await self.store.get(self.job.id)
        self._row_current = False
        job = self.job
        # a cap set since the size was learnt (run --max-filesize, a rule)
        self.client.check_size(job.bytes_total)
        if job.file_name is None and not fresh and await landing.adopt_part(None, None):
            job = self.job  # a .part named after the URL: the first request is a resume
        # a job left with segments resumes each of them (segmented.py)
        if not fresh and await resume_segments(landing, self.client):
            return
        job = self.job
        offset = 0 if fresh else job.bytes_done
        validator = if_range_validator(job.etag, job.last_modified) if offset else None
        if validator is None:
            offset = 0  # nothing proves the server still has the same file

        if job.file_name is not None:
            part = job.part_path
            assert part is not None
            # a crash may have come between the rename and "done"
            if not fresh and await landing.finish_interrupted():
                return
            await appender.open(part, offset, create=False)
            assert appender.part is not None
            offset = appender.part.offset
            if offset == 0:
                validator = None
        elif offset:
            offset, validator = 0, None

        range_headers = {}
        if offset and validator:
            range_headers = {"Range": f"bytes={offset}-", "If-Range": validator}
        response = await self.client.request(range_headers)
        async with response:
            total, complete = await self._accept(response, offset, fresh)
            if complete:
                # the server has nothing after our offset: we hold the whole file
                await appender.finish(offset, from_zero=self._from_zero)
                return
            connections = connections_for(
                self.config,
                self.client.rules,
                self.job,
                response,
                total,
                server_ignores_ranges=self.progress.server_ignores_ranges,
            )
            if total is not None and connections > 1:
                await appender.release()
                await take_over(landing, self.client, response, total, connections)
                return
            await self._receive(response, total)
            size = total if total is not None else appender.position()
            await appender.finish(size, from_zero=self._from_zero)

    async def _accept(
        self, response: aiohttp.ClientResponse, offset: int, fresh: bool
    ) -> tuple[int | None, bool]:
        """Check the answer, then make ready to receive it: the name, the ``.part``,
        the validators recorded. Return the file's length (None if unknown) and
        whether the file is complete already (a 416 after its last byte)."""
        landing, job = self.landing, self.job
        answer = check_answer(job, response, offset, landing.same_validators, self.client.clock())
        if answer.complete:
            return None, True
        total = answer.total
        if response.status == 200:
            if answer.ranges_ignored:
                # it ignores ranges (at least now): no segments either
                log.info("job %d: the server sent the whole file; starting from byte 0", job.id)
                self.progress.server_ignores_ranges = True
            offset = 0
        # known from here on, also to a refusal below (the job's size in ls)
        self.progress.bytes_total = total
        self.client.check_size(total)
        # before a name is taken or a file created: a refusal leaves nothing
        # behind. A small file's first write tells a full disk as clearly,
        # without a thread hop of its own (thousands of small files add up)
        if total is not None and self.config.check_free_space and total - offset >= MiB:
            await landing.check_space(total - offset)
        # a name chosen now is stored with what the answer says: one write
        recorded = job.file_name is None
        if recorded:
            if response.status == 200 and not fresh and await landing.adopt_part(response, total):
                raise _PartAdopted
            await landing.choose_name(response, total)
        headers = response.headers
        etag, last_modified = headers.get("ETag"), headers.get("Last-Modified")
        self.progress.server_names_no_version = if_range_validator(etag, last_modified) is None
        if offset == 0:
            part_path = self.job.part_path
            assert part_path is not None
            # a name chosen just now had no .part on disk: create it exclusively,
            # its record written in the same call
            record = landing.first_record(etag, last_modified, total)
            config = self.config
            small = total is not None and total <= min(config.block_size, config.split_min_size - 1)
            if recorded and small and self.appender.part is None:
                # one block, one connection: created with its bytes, in one call
                self.appender.open_later(part_path, on_open=record)
            else:
                await self.appender.open(
                    part_path, 0, create=self.appender.part is None, on_open=record
                )
        self._from_zero = offset == 0
        self.progress.bytes_total = total
        self.progress.position = offset
        if not recorded:
            # the row as stored, not rebuilt: it also holds what other steps wrote
            # (the .part's identity) and what the UPDATE derives (its tail digest)
            self.job = await self.store.record_remote(
                job.id,
                etag=etag,
                last_modified=last_modified,
                bytes_total=total,
                effective_url=str(response.url),
                bytes_done=offset,
            )
        landing.committed = landing.tried = offset
        if offset:
            await landing.write_record(offset, fd=self.appender.fd())
        return total, False

    # -- body --------------------------------------------------------------------

    async def _receive(self, response: aiohttp.ClientResponse, total: int | None) -> None:
        config, client, appender = self.config, self.client, self.appender
        watch = SpeedWatch(config.min_speed, config.min_speed_time)
        deadline = ReadDeadline(config.read_timeout)
        async with deadline.guard():  # no byte for read_timeout: a stalled connection
            left = None if total is None else total - appender.position()
            # a pump stopped by a speed limit hands the rest back with a range: only
            # for an answer that can be resumed (a validator, a server that honours ranges)
            probe = (
                client.speed_probe(response, left)
                if appender.part is not None and self.progress.resumable
                else None
            )
            # a fast connection's rest goes to a pump (at once, without a probe)
            if (probe is not None and probe.fast(0)) or await self._read_chunks(
                response, total, watch, deadline, probe
            ):
                assert total is not None
                await self._pump(response, total, watch, deadline)
        # what is gathered goes with the finish's fsync (one hop to the disk)
        if total is not None and appender.position() != total:
            raise TransientError(
                detail=f"the connection closed after {appender.position()} of {total} bytes"
            )

    async def _read_chunks(
        self,
        response: aiohttp.ClientResponse,
        total: int | None,
        watch: SpeedWatch,
        deadline: ReadDeadline,
        probe: SpeedProbe | None,
    ) -> bool:
        """The body as aiohttp reads it, gathered into blocks for the write lane;
        True (all handed to the write lane) when ``probe`` finds it fast: a pump's job."""
        config, client, appender, landing = self.config, self.client, self.appender, self.landing
        progress = self.progress
        step = checkpoint_step(config, total)
        next_checkpoint = time.monotonic() + config.checkpoint_seconds
        content = response.content
        sock = socket_of(response)
        receive_buffer = fit_receive_buffer(sock, client.speed_limit(), None)
        # a file without a length is capped as it arrives
        cap = client.size_cap() if total is None else None
        while True:
            # readchunk hands over one socket read as it came; readany joins
            # everything buffered into a new multi-MiB bytes (a copy, and page
            # faults for each fresh allocation)
            chunk, at_chunk_end = await content.readchunk()
            if not chunk:
                if at_chunk_end:  # an empty piece at a chunked-encoding boundary
                    continue
                break
            deadline.fed()
            size = len(chunk)
            # checked before the chunk is kept: not one byte past the total is written
            if total is not None and appender.position() + size > total:
                raise TransientError(detail="the server sent more bytes than it announced")
            if cap is not None and appender.position() + size > cap:
                client.check_size(appender.position() + size, streamed=True)
            appender.gather(chunk)
            progress.received += size
            progress.position += size
            watch.received(size)
            if client.limited():
                # our own speed limit is not the server being slow
                with held_back(watch, deadline):
                    await client.throttle(size)
            now = time.monotonic()
            due = now >= next_checkpoint or appender.position() - landing.tried >= step
            if appender.buffered >= config.block_size or due:
                with deadline.paused():  # waiting for our disk, not the server
                    await appender.flush()
            if due and appender.checkpoint_soon():
                next_checkpoint = now + config.checkpoint_seconds
                # limits change live: checked here, not per chunk
                receive_buffer = fit_receive_buffer(sock, client.speed_limit(), receive_buffer)
            # (its connection still there: an answer read whole has let go of it)
            if (
                probe is not None
                and probe.fast(size)
                and total is not None
                and client.may_pump(response, total - appender.position())
            ):
                return True
        return False

    async def _pump(
        self,
        response: aiohttp.ClientResponse,
        total: int,
        speed: SpeedWatch,
        deadline: ReadDeadline,
    ) -> None:
        """The rest of the body moved by a :class:`.Pump` thread; the loop only watches it."""
        appender = self.appender
        part = appender.part
        assert part is not None
        # at once, before any await: aiohttp reads no more of the answer
        pump = Pump(response)
        try:
            await appender.flush()  # what aiohttp's reads gathered goes first
            await part.drain()  # the file ends where the pump appends
            sink = AppendSink(self.appender, total, limited=self.client.limited)
            pump.nudge_every = sink.step  # a checkpoint is due: wake the loop at once
            finished = await pump.run(sink, speed, deadline, self.config.checkpoint_seconds)
        finally:
            appender.pumped()
            # aiohttp's parser never saw these bytes: the connection cannot be reused
            response.close()
        if not finished:
            raise _PumpStopped

    async def _discard(self) -> None:
        """Remove the ``.part`` and forget its bytes: nothing of a refused file is kept."""
        await self.appender.discard()
        job = self.job
        try:
            await self.landing.remove_part()
        except (OSError, TransferError) as exc:
            log.warning("job %d: could not remove %s: %s", job.id, job.part_path, exc)
        # no offset, no segments: a retry (with a higher cap) starts from byte 0
        await self.store.save_segments(job.id, [], 0)
