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

Every file operation goes through the job's open folder
(:mod:`drayman.queue.folder`), so nothing is written outside the folder the
user chose, and the ``.part`` is checked at each checkpoint to still be the
file at its name (a deleted folder or an unplugged drive is an error, not a
download into nowhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import aiohttp

from drayman.errors import (
    EnvironmentProblem,
    FolderEscape,
    PartFileLost,
    PermanentError,
    RangesIgnored,
    RestartRequired,
    TooLarge,
    TransferError,
    TransientError,
)
from drayman.faults import crash_point
from drayman.headers import (
    ContentRange,
    UnsatisfiedRange,
    content_length,
    if_range_validator,
    parse_content_range,
    validators_agree,
)
from drayman.jobs import PART_SUFFIX, Job
from drayman.names import next_free_name, pick_filename
from drayman.queue import segmented
from drayman.queue.blocking import run_blocking
from drayman.queue.bootid import boot_id
from drayman.queue.cookiejar import JobCookies
from drayman.queue.durable import sync_folder
from drayman.queue.finish import finish_interrupted, place_final, rename_no_replace, sha256_file
from drayman.queue.folder import JobFolder
from drayman.queue.neterrors import http_error, network_error
from drayman.queue.partcheck import KnownPart, PartNotOurs
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
from drayman.queue.proxyroutes import ProxyRoutes, Route
from drayman.queue.ratelimit import TokenBucket, fit_receive_buffer
from drayman.queue.redirects import get_following_redirects
from drayman.queue.session import head_timeout, request_timeout
from drayman.queue.stall import SpeedWatch
from drayman.queue.transferconfig import MiB, TransferConfig
from drayman.rules import Rule, hop_headers, insecure_for, size_cap
from drayman.storage import JobStore
from drayman.units import human_size
from drayman.urls import host_of

log = logging.getLogger(__name__)


class _PartAdopted(Exception):
    """The job took over a ``.part`` left by an earlier database: ask again, for the rest."""


class Transfer:
    """Download one job. :meth:`run` returns when the job is done, or raises.

    Its other public methods (:meth:`request`, :meth:`open_folder`,
    :meth:`commit_progress`, :meth:`finish_in_place`, ...) are what a
    segmented download (:mod:`.segmented`) borrows from the single stream it
    grows out of; the rest is private to this class.
    """

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
    ) -> None:
        self.job = job
        self.rules = rules
        #: which proxy each request goes through (None: always straight)
        self.routes = routes
        self.store = store
        self.session = session
        self.config = config
        self.limiter = limiter
        #: this job's own limit (rate 0 = none), changeable while it runs
        self.job_limiter = TokenBucket(job.max_speed or 0)
        self.clock = clock
        self.progress = TransferProgress(job)
        #: this attempt made durable more of the file than the job had when it
        #: began (resets the attempt count); bytes fetched again after a restart
        #: from byte 0 are not progress, or a restart every attempt never ends
        self.made_progress = False
        self._high = job.bytes_done
        #: the server ignored a range request: the rest of this transfer uses
        #: one connection (no segments), from byte 0
        self.single_stream = False
        self._part: PartFile | None = None
        #: the job's folder, open (see drayman.queue.folder)
        self._folder: JobFolder | None = None
        #: chunks read from the socket, not yet handed to the write lane
        self._chunks: list[bytes] = []
        self._buffered = 0
        #: file offset after every write handed to the write lane
        self._queued = job.bytes_done
        self._checkpointing: asyncio.Task[None] | None = None
        self._committed = job.bytes_done
        #: the offset of the last checkpoint tried: while the database cannot
        #: be written, the next try waits for another step of bytes
        self._tried = job.bytes_done
        #: why the last checkpoint could not be recorded (None: it was)
        self._db_trouble: str | None = None
        #: False once the file system refused a record on the .part
        self._keep_record = True
        #: this attempt received the file from byte 0 (a checksum mismatch is final)
        self._from_zero = False
        #: the job's cookies, read from the database before the first request
        self.cookies: JobCookies | None = None

    # -- the whole download ---------------------------------------------------

    async def run(self) -> None:
        try:
            try:
                await self._attempt_or_adopt()
            except RestartRequired as exc:
                log.info("job %d: %s", self.job.id, exc)
                if isinstance(exc, RangesIgnored):
                    self.single_stream = True
                # one clean start from byte 0; if that changes too, back off
                await self._attempt(fresh=True)
        except asyncio.CancelledError:
            # paused, removed or shutting down: keep every byte we have
            await asyncio.shield(self._save())
            raise
        except TooLarge:
            await asyncio.shield(self._discard())
            raise
        except TransferError as exc:
            # a .part that is no longer at its name, or a folder that leads
            # elsewhere: not one more byte goes there
            await asyncio.shield(self._save(write=not isinstance(exc, PartFileLost | FolderEscape)))
            if isinstance(exc, RestartRequired):
                raise TransientError(detail=str(exc)) from exc
            raise
        except (TimeoutError, aiohttp.ClientError, ConnectionError, ssl.SSLError) as exc:
            await asyncio.shield(self._save())
            raise network_error(exc, read_timeout=self.config.read_timeout) from exc
        finally:
            if self._part is not None:
                await self._part.settle()
                self._part.close()
            if self._folder is not None:
                self._folder.close()

    async def _attempt_or_adopt(self) -> None:
        try:
            await self._attempt(fresh=False)
        except _PartAdopted:
            # resume the adopted bytes: Range + If-Range, the 206 checked as always
            await self._attempt(fresh=False)

    async def _attempt(self, *, fresh: bool) -> None:
        job = self.job = await self.store.get(self.job.id)
        # a cap set since the size was learnt (run --max-filesize, a rule)
        self._check_size(job.bytes_total)
        if job.file_name is None and not fresh and await self._adopt_part(None, None):
            job = self.job  # a .part named after the URL: the first request is a resume
        # a job left with segments resumes each of them (segmented.py)
        if not fresh and await segmented.resume(self):
            return
        job = self.job
        offset = 0 if fresh else job.bytes_done
        validator = if_range_validator(job.etag, job.last_modified) if offset else None
        if validator is None:
            offset = 0  # nothing proves the server still has the same file

        if job.file_name is not None:
            final, part = job.final_path, job.part_path
            assert final is not None and part is not None
            folder = await self.open_folder(create=False)
            complete = job.bytes_total is not None and job.bytes_done == job.bytes_total
            # a crash may have come between the rename and "done"
            if (
                complete
                and not fresh
                and await asyncio.to_thread(
                    finish_interrupted, part, final, job.bytes_done, folder=folder
                )
            ):
                await self._verify_existing(final)
                await self._sync_folder()
                await self.store.finish(job.id, job.bytes_done)
                return
            await self._open_part(part, offset, create=False)
            assert self._part is not None
            offset = self._part.offset
            if offset == 0:
                validator = None
        elif offset:
            offset, validator = 0, None

        range_headers = {}
        if offset and validator:
            range_headers = {"Range": f"bytes={offset}-", "If-Range": validator}
        response = await self.request(range_headers)
        async with response:
            total = await self._check_response(response, offset, fresh)
            if total is None and response.status == 416:
                # the server has nothing after our offset: we hold the whole file
                await self._finish(offset, fresh=fresh)
                return
            connections = segmented.connections_for(self, response, total)
            if total is not None and connections > 1:
                await segmented.take_over(self, response, total, connections, fresh=fresh)
                return
            await self._receive(response, total)
            await self._finish(total if total is not None else self._position(), fresh=fresh)

    # -- request and validation ------------------------------------------------

    async def request(self, extra: dict[str, str]) -> aiohttp.ClientResponse:
        """GET the job's URL. Redirects are re-followed from the job's URL on
        every resume, so an expired signed link is fetched afresh."""
        job, extra_headers = self.job, list(extra.items())
        if self.cookies is None:
            self.cookies = JobCookies(await self.store.cookies(job.id))
        response = await get_following_redirects(
            self.session,
            job.url,
            # the job's headers were given for its URL: credentials go to its origin only
            headers_for=lambda url: hop_headers(
                url, job.headers, job.url, self.rules, extra_headers
            ),
            max_redirects=self.config.max_redirects,
            allow_insecure=self.config.allow_insecure_redirects,
            client_timeout=request_timeout(self.config),
            verify_for=self._verify_tls,
            head_timeout=head_timeout(self.config),
            cookies=self.cookies,
            route_for=self._route,
        )
        await self._save_cookies()
        return response

    async def _save_cookies(self) -> None:
        """Store the cookies the answers set, before their body is read: a
        resume after a crash or a restart asks with them."""
        cookies = self.cookies
        text = None if cookies is None else cookies.unsaved()
        if cookies is None or text is None:
            return
        await self.store.save_cookies(self.job.id, text)
        cookies.saved(text)

    def _route(self, url: str) -> Route:
        """How a request to ``url`` goes: the job's proxy, a rule's, the run's or none."""
        if self.routes is None:
            return Route(self.session)
        return self.routes.route(url, job_proxy=self.job.proxy, rules=self.rules)

    def _verify_tls(self, url: str) -> bool:
        """Check this hop's certificate, unless the user opted out for its host:
        a job's --insecure covers the job URL's host, a rule's the hosts it matches."""
        host = host_of(url)
        if self.job.insecure and host == host_of(self.job.url):
            return False
        return not insecure_for(self.rules, host)

    async def _check_response(
        self, response: aiohttp.ClientResponse, offset: int, fresh: bool
    ) -> int | None:
        """Validate the answer; return the file's total size (None if unknown)."""
        job, status = self.job, response.status
        total: int | None
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if status == 416 and offset:
            try:
                unsatisfied = parse_content_range(response.headers.get("Content-Range", ""))
            except ValueError:
                unsatisfied = None
            same = self.same_validators(etag, last_modified)
            if (
                isinstance(unsatisfied, UnsatisfiedRange)
                and unsatisfied.total == offset
                and job.bytes_total in (None, offset)
                and same
            ):
                return None
            raise RestartRequired(detail="the server refused the range")
        if status == 206:
            if not offset:
                raise TransientError(detail="the server sent a partial answer to a full request")
            try:
                parsed = parse_content_range(response.headers.get("Content-Range", ""))
            except ValueError as exc:
                raise RestartRequired(detail=f"bad Content-Range: {exc}") from exc
            if not isinstance(parsed, ContentRange) or parsed.start != offset:
                raise RestartRequired(detail=f"the server did not resume at byte {offset}")
            if parsed.total is None or job.bytes_total not in (None, parsed.total):
                raise RestartRequired(detail="the file's size changed")
            if not self.same_validators(etag, last_modified):
                raise RestartRequired(detail="the file changed on the server")
            if parsed.end + 1 != parsed.total:
                raise RestartRequired(detail="the server sent only part of the range")
            try:
                length = content_length(response.headers.get("Content-Length"))
            except ValueError:
                length = -1
            if length is not None and length != parsed.end - parsed.start + 1:
                raise RestartRequired(detail="its Content-Length contradicts its Content-Range")
            total = parsed.total
        elif status == 200:
            try:
                total = content_length(response.headers.get("Content-Length"))
            except ValueError as exc:
                raise PermanentError(detail=f"bad Content-Length: {exc}") from exc
            if offset:
                # it ignores ranges (at least now): no segments either
                log.info("job %d: the server sent the whole file; starting from byte 0", job.id)
                self.single_stream = True
            offset = 0
        else:
            raise http_error(response, self.clock())

        self._check_size(total)
        # before a name is taken or a file created: a refusal leaves nothing
        # behind. A small file's first write tells a full disk as clearly,
        # without a thread hop of its own (thousands of small files add up)
        if total is not None and self.config.check_free_space and total - offset >= MiB:
            await self._check_space(total - offset)
        if job.file_name is None:
            if status == 200 and not fresh and await self._adopt_part(response, total):
                raise _PartAdopted
            await self._choose_name(response)
        if offset == 0:
            part_path = self.job.part_path
            assert part_path is not None
            # a name chosen just now had no .part on disk: create it exclusively
            await self._open_part(part_path, 0, create=self._part is None)
        self._from_zero = offset == 0
        self.progress.bytes_total = total
        self.progress.position = offset
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
        self._committed = self._tried = offset
        await self.write_record(offset)
        return total

    def size_cap(self) -> int | None:
        """The tightest size cap on this job: its own, the run's, its host rules'."""
        caps = [self.job.max_filesize, self.config.max_filesize]
        caps.append(size_cap(self.rules, self.job.host))
        return min((cap for cap in caps if cap), default=None)

    def _check_size(self, size: int | None, *, streamed: bool = False) -> None:
        """Raise :class:`TooLarge` if ``size`` bytes are more than the cap allows."""
        cap = self.size_cap()
        if size is None or cap is None or size <= cap:
            return
        shown = f"over {human_size(cap)} without a length" if streamed else human_size(size)
        raise TooLarge(limit=human_size(cap), size=shown)

    def same_validators(self, etag: str | None, last_modified: str | None) -> bool:
        return validators_agree(self.job.etag, self.job.last_modified, etag, last_modified)

    def _wanted_name(self, response: aiohttp.ClientResponse | None) -> str:
        """The name the job asks for: from the answer, or before it from the URL alone."""
        job = self.job
        headers = response.headers if response is not None else {}
        return pick_filename(
            requested=job.requested_name,
            content_disposition=headers.get("Content-Disposition"),
            url=str(response.url) if response is not None else job.url,
            content_type=headers.get("Content-Type"),
            template=job.name_template,
        )

    async def _adopt_part(self, response: aiohttp.ClientResponse | None, total: int | None) -> bool:
        """Take over a ``.part`` of this URL that an earlier database left (see
        :mod:`.partrecord`): its name, validators and recorded offset.

        Tried before the first request with the name the URL gives, and again
        with the name the server's answer gives (Content-Disposition).
        """
        job = self.job
        headers = response.headers if response is not None else {}
        etag, last_modified = headers.get("ETag"), headers.get("Last-Modified")
        found = await run_blocking(
            functools.partial(
                find_adoptable,
                job.dest_dir,
                self._wanted_name(response),
                db=database_id(self.store.path),
                url=url_id(job.original_url),
            )
        )
        for name, record in found:
            if not validators_agree(record.etag, record.last_modified, etag, last_modified) or (
                total is not None and record.total not in (None, total)
            ):
                continue  # the server has another file now: nothing to resume
            if await self.store.name_taken(job.id, job.dest_dir, name):
                continue
            if not await self.store.set_name(job.id, name):
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

    async def _choose_name(self, response: aiohttp.ClientResponse) -> None:
        """Fix the file name once, before any byte is written."""
        job = self.job
        wanted = self._wanted_name(response)
        folder = await self.open_folder(create=True)
        # other jobs' targets, learnt as we go: a name is free when neither a
        # file on disk nor another job holds it (the unique index decides)
        taken_by_jobs: set[str] = set()

        def is_taken(name: str) -> bool:
            return name.casefold() in taken_by_jobs or _exists_on_disk(folder, name)

        for _ in range(1000):
            try:
                candidate = await run_blocking(next_free_name, wanted, is_taken)
            except OSError as exc:
                raise disk_error(exc, job.dest_dir) from exc
            if await self.store.set_name(job.id, candidate):
                self.job = replace(job, file_name=candidate)
                self.progress.file_name = candidate
                return
            taken_by_jobs.add(candidate.casefold())
        raise PermanentError(detail=f"could not find a free file name for {wanted!r}")

    async def open_folder(self, *, create: bool) -> JobFolder:
        """Open the job's folder (once per transfer), below the chosen one without links."""
        if self._folder is None:
            job = self.job
            try:
                self._folder = await asyncio.to_thread(
                    JobFolder.open, job.chosen_dir, job.dest_dir, create=create
                )
            except OSError as exc:
                raise disk_error(exc, exc.filename or job.dest_dir) from exc
        return self._folder

    async def _sync_folder(self) -> None:
        folder = await self.open_folder(create=False)
        try:
            # coalesced: finishes in one folder share its fsyncs
            await sync_folder(folder)
        except OSError as exc:
            raise disk_error(exc, folder.path) from exc

    async def _check_space(self, needed: int) -> None:
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

    async def _open_part(self, path: str, offset: int, *, create: bool) -> None:
        """Open the ``.part`` at what can be trusted of ``offset`` (see PartFile.open).

        A file at the ``.part`` name that is not ours is left alone: the job
        takes the next free name and starts from byte 0.
        """
        self._chunks, self._buffered = [], 0
        part = self._part
        if part is not None and not part.closed and part.path == path and offset == 0:
            # the server sent the whole file: start over in the file we hold
            await self._wait_checkpointing()
            await part.settle()
            await asyncio.to_thread(part.restart)
        else:
            await self.release_part()
            job = self.job
            folder = await self.open_folder(create=False)
            known = KnownPart(identity=job.part_identity, tail=job.part_tail)
            want_hash = job.sha256 is not None
            try:
                part = await PartFile.open(
                    path, offset, create=create, want_hash=want_hash, folder=folder, known=known
                )
            except PartNotOurs as exc:
                log.warning("job %d: %s; it is left alone, taking another name", job.id, exc)
                await self._rename_target(move_part=False)
                new_path = self.job.part_path
                assert new_path is not None
                part = await PartFile.open(
                    new_path, 0, create=True, want_hash=want_hash, folder=folder
                )
            if part.found:
                log.info("job %d: %s", job.id, part.found)
            self._part = part
            if part.identity != self.job.part_identity:
                await self.store.set_part_identity(job.id, part.identity)
        self._queued = self.progress.position = part.offset
        if part.offset < self._committed:
            # what is verifiably there is less than the database says: say so
            # now, so it never claims bytes the file does not have
            await self.write_record(part.offset)
            await self.store.checkpoint(self.job.id, part.offset)
            self._committed = self._tried = part.offset

    # -- body --------------------------------------------------------------------

    def _position(self) -> int:
        """Bytes of the file we hold: written, being written, or gathered."""
        return self._queued + self._buffered

    def checkpoint_step(self, total: int | None) -> int:
        """Bytes between checkpoints: at most ~0.5 % of the file is ever fetched twice."""
        step = self.config.checkpoint_bytes
        if total:
            step = min(step, max(total // 200, self.config.block_size * 4))
        return step

    async def _receive(self, response: aiohttp.ClientResponse, total: int | None) -> None:
        config = self.config
        step = self.checkpoint_step(total)
        next_checkpoint = time.monotonic() + config.checkpoint_seconds
        content = response.content
        watch = SpeedWatch(config.min_speed, config.min_speed_time)
        sock = _socket_of(response)
        receive_buffer = fit_receive_buffer(sock, self._speed_limit(), None)
        # a file without a length is capped as it arrives
        cap = self.size_cap() if total is None else None
        while True:
            # readchunk hands over one socket read as it came; readany joins
            # everything buffered into a new multi-MiB bytes (a copy, and page
            # faults for each fresh allocation)
            chunk, at_chunk_end = await content.readchunk()
            if not chunk:
                if at_chunk_end:  # an empty piece at a chunked-encoding boundary
                    continue
                break
            # checked before the chunk is kept: not one byte past the total is written
            if total is not None and self._position() + len(chunk) > total:
                raise TransientError(detail="the server sent more bytes than it announced")
            if cap is not None and self._position() + len(chunk) > cap:
                self._check_size(self._position() + len(chunk), streamed=True)
            self._chunks.append(chunk)
            self._buffered += len(chunk)
            self.progress.received += len(chunk)
            self.progress.position += len(chunk)
            watch.received(len(chunk))
            if self.limited():
                with watch.paused():  # our own speed limit is not the server being slow
                    await self.throttle(len(chunk))
            now = time.monotonic()
            due = now >= next_checkpoint or self._position() - self._tried >= step
            if self._buffered >= config.block_size or due:
                await self._flush()
            if due and self._checkpoint_soon():
                next_checkpoint = now + config.checkpoint_seconds
                # limits change live: checked here, not per chunk
                receive_buffer = fit_receive_buffer(sock, self._speed_limit(), receive_buffer)
        await self._flush()
        if total is not None and self._position() != total:
            raise TransientError(
                detail=f"the connection closed after {self._position()} of {total} bytes"
            )

    def limited(self) -> bool:
        return bool((self.limiter is not None and self.limiter.rate) or self.job_limiter.rate)

    async def throttle(self, amount: int) -> None:
        """Wait as the total and this job's speed limits say."""
        if self.limiter is not None:
            await self.limiter.consume(amount)
        if self.job_limiter.rate:
            await self.job_limiter.consume(amount)

    def _speed_limit(self) -> int:
        """The tighter of the job's limit and its share of the global one (0 = none)."""
        rates = [self.job_limiter.rate, self.limiter.share if self.limiter else 0]
        return min((rate for rate in rates if rate), default=0)

    async def _flush(self) -> None:
        """Hand the gathered chunks to the write lane (one write in flight)."""
        if self._chunks and self._part is not None:
            # if cancelled before the hand-over, the chunks stay for _save()
            await self._part.write(self._chunks)
            self._queued += self._buffered
            self._chunks, self._buffered = [], 0

    def _checkpoint_soon(self) -> bool:
        """Start an fsync + commit beside the download, unless one is running."""
        running = self._checkpointing
        if running is not None and not running.done():
            return False
        if running is not None and not running.cancelled():
            error = running.exception()
            if error is not None:
                raise error
        self._checkpointing = asyncio.create_task(self._commit())
        return True

    async def _commit(self) -> None:
        assert self._part is not None
        await self._record(await self._part.sync(), strict=False)

    async def _record(self, durable: int, *, strict: bool = True) -> None:
        """Commit an fsynced offset: the database never runs ahead of the disk.

        A checkpoint beside the download (not ``strict``) that finds the
        database locked or full does not stop the transfer: the recorded
        offset stays an older, safe one, the bytes stay in the ``.part``, and
        the next checkpoint tries again.
        """
        if durable <= self._committed:
            return
        self._tried = max(self._tried, durable)
        await self.write_record(durable)
        tail = self._part.tail_at(durable) if self._part is not None else None
        if await self.commit_progress(
            self.store.checkpoint(self.job.id, durable, part_tail=tail), strict=strict
        ):
            self.note_progress(durable)
            self._committed = durable

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

    async def write_record(
        self,
        offset: int,
        *,
        fd: int | None = None,
        written: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Keep the record on the ``.part`` (see :mod:`.partrecord`); never above ``offset``.

        ``written``: the ranges whose writes returned (not fsynced), kept as
        the record's live part with this boot's stamp; without them, a live
        part the record had is dropped.
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
        part = self._part
        # through the open file where the OS can: a path could lead elsewhere
        if fd is None and part is not None and not part.closed:
            fd = part.fileno()
        self._keep_record = await run_blocking(
            functools.partial(write_record, part_path, record, fd=fd)
        )

    def record_base(self) -> PartRecord:
        """The ``.part``'s record as the job stands, at offset 0 (see :mod:`.partrecord`)."""
        job = self.job
        return PartRecord(
            db=database_id(self.store.path),
            url=url_id(job.original_url),
            etag=job.etag,
            last_modified=job.last_modified,
            total=job.bytes_total,
            offset=0,
        )

    @property
    def keeps_record(self) -> bool:
        """False once the file system refused the ``.part`` a record."""
        return self._keep_record

    async def _wait_checkpointing(self) -> None:
        running, self._checkpointing = self._checkpointing, None
        if running is not None:
            await asyncio.shield(running)

    async def _checkpoint(self) -> None:
        """Finish every write, fsync, then commit: never the other order."""
        await self._wait_checkpointing()
        part = self._part
        if part is None or part.closed:
            return
        await self._record(await part.sync())

    async def _save(self, *, write: bool = True) -> None:
        """Keep what we have after an error or a cancellation.

        Commits exactly what is durable: after a write that failed half way
        (a disk that filled up) that is every byte that landed. Without
        ``write`` nothing more is written or committed.
        """
        part = self._part
        if part is None or part.closed:
            return
        try:
            await self._wait_checkpointing()
        except Exception as exc:  # the job's own error matters more than this one
            log.warning("job %d: a checkpoint failed: %s", self.job.id, exc)
        await part.settle()
        if not write:
            return
        try:
            await self._flush()
        except Exception as exc:
            log.warning("job %d: could not write the last block: %s", self.job.id, exc)
        # a write that fails now (the disk is still full) wrote what it could:
        # the checkpoint below syncs and commits exactly that
        await part.settle()
        try:
            await self._checkpoint()
        except Exception as exc:
            log.warning("job %d: could not save progress: %s", self.job.id, exc)

    async def _discard(self) -> None:
        """Remove the ``.part`` and forget its bytes: nothing of a refused file is kept."""
        with contextlib.suppress(Exception):  # the refusal matters more than a checkpoint
            await self._wait_checkpointing()
        self._chunks, self._buffered = [], 0
        await self.release_part()
        job = self.job
        if job.part_path is not None:
            try:
                folder = await self.open_folder(create=False)
                await run_blocking(folder.remove_file, os.path.basename(job.part_path))
            except (OSError, TransferError) as exc:
                log.warning("job %d: could not remove %s: %s", job.id, job.part_path, exc)
        # no offset, no segments: a retry (with a higher cap) starts from byte 0
        await self.store.save_segments(job.id, [], 0)

    # -- what the segments borrow (segmented.py) -----------------------------------

    async def release_part(self) -> None:
        """Let go of the single stream's ``.part`` (a positional one takes over)."""
        part, self._part = self._part, None
        if part is not None:
            await part.settle()
            part.close()

    async def finish_in_place(self, total: int, *, fresh: bool) -> None:
        """Finish a file whose every byte is durable in its ``.part`` (the segments').

        Reopening it as a PartFile at its full length hashes it in the
        executor when a sha256 is expected (off the event loop, before the
        rename); then the usual checks, link to the final name and "done".
        """
        job = self.job
        assert job.part_path is not None
        self._part = await PartFile.open(
            job.part_path,
            total,
            create=False,
            want_hash=job.sha256 is not None,
            folder=await self.open_folder(create=False),
            known=KnownPart(identity=job.part_identity),
        )
        self._queued = self._committed = total
        self.progress.position = total
        await self._finish(total, fresh=fresh)

    # -- finish ------------------------------------------------------------------

    async def _finish(self, size: int, *, fresh: bool) -> None:
        """fsync the ``.part`` -> link it to its name -> fsync the folder -> commit ``done``."""
        part, job = self._part, self.job
        assert part is not None and job.final_path is not None and job.part_path is not None
        await self._flush()
        # also checks that the .part is still at its name: never finish into nowhere
        await self._checkpoint()
        crash_point("finish.after-fsync")
        if part.offset != size:
            raise TransientError(detail=f"the file has {part.offset} bytes, expected {size}")
        if job.sha256 is not None:
            digest = part.hexdigest()
            if digest != job.sha256:
                await self.write_record(0)
                await self.store.checkpoint(job.id, 0)
                self._committed = self._tried = 0
                if self._from_zero:
                    raise PermanentError(
                        detail=f"checksum mismatch: expected sha256 {job.sha256}, got {digest}"
                    )
                raise RestartRequired(detail="the checksum did not match after a resume")
        part.close()
        folder = await self.open_folder(create=False)
        final = job.final_path
        for _ in range(100):
            assert job.part_path is not None
            try:
                await run_blocking(
                    functools.partial(place_final, job.part_path, final, folder=folder)
                )
                break
            except FileExistsError:
                # someone put a file at our name meanwhile: never overwrite it
                await self._rename_target()
                assert self.job.final_path is not None
                final = self.job.final_path
                job = self.job
            except OSError as exc:
                raise disk_error(exc, final) from exc
        await self._sync_folder()
        crash_point("finish.after-dir-fsync")
        # the record was for the .part; a finished file carries none
        await run_blocking(remove_record, final)
        await self.store.finish(job.id, size)
        self.progress.position = size

    async def _rename_target(self, *, move_part: bool = True) -> None:
        """Take the next free name; with ``move_part`` our ``.part`` follows it."""
        job = self.job
        assert job.file_name is not None
        folder = await self.open_folder(create=False)
        name = await asyncio.to_thread(
            next_free_name, job.file_name, lambda n: _exists_on_disk(folder, n)
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

    async def _verify_existing(self, path: str) -> None:
        expected = self.job.sha256
        if expected is None:
            return
        digest = await asyncio.to_thread(sha256_file, path, folder=self._folder)
        if digest != expected:
            raise PermanentError(
                detail=f"checksum mismatch: expected sha256 {expected}, got {digest}"
            )


def _existing(folder: str) -> str:
    """``folder``, or its nearest parent that exists."""
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _socket_of(response: aiohttp.ClientResponse) -> object | None:
    connection = response.connection
    transport = connection.transport if connection is not None else None
    return None if transport is None else transport.get_extra_info("socket")


def _exists_on_disk(folder: JobFolder, name: str) -> bool:
    return folder.exists(name) or folder.exists(name + PART_SUFFIX)
