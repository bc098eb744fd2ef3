"""How a segmented download starts: from a single stream's first answer, or resumed.

A fresh one (:func:`take_over`) carries the answer on as its first
connection. A resumed one (:func:`resume`) fetches each unfinished segment
from where its bytes end. The database holds each segment's durable end (fsynced, then committed). A
``.part`` that is not exactly the file's size, or a segment table that does
not tile the file, is not trusted: the job starts over from byte 0 as a
single stream. After a crash of the process (not of the machine) more is
known: the ``.part``'s record has a live part naming the ranges written and
the boot (:mod:`.bootid`); on the same boot those bytes are in the page
cache, so the resume asks only for what is missing. Every answer is checked
as always (If-Range, Content-Range, validators).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from drayman.queue.blocking import run_blocking
from drayman.queue.bootid import boot_id
from drayman.queue.jobclient import JobClient
from drayman.queue.landing import Landing
from drayman.queue.partcheck import PartNotOurs
from drayman.queue.partfile import PositionalPart
from drayman.queue.partrecord import database_id, read_record_at, url_id
from drayman.queue.segmented import SegmentedDownload
from drayman.queue.segments import (
    connection_cap,
    first_byte,
    merge,
    plan,
    tiles,
    validator_of,
)
from drayman.units import human_size

log = logging.getLogger(__name__)


async def take_over(
    landing: Landing,
    client: JobClient,
    response: aiohttp.ClientResponse,
    total: int,
    connections: int,
) -> None:
    """Carry a single stream's checked answer on as the first of ``connections``.

    The answer covers [start, total): the bytes before ``start`` are the
    stream's durable prefix (cut back to, and recorded, already); the single
    stream has let go of its ``.part``.
    """
    job = landing.job
    part_path = job.part_path
    validator = validator_of(job)
    assert part_path is not None and validator is not None
    start = first_byte(response)
    folder = await landing.open_folder(create=False)
    part = await asyncio.to_thread(PositionalPart.create, part_path, total, folder=folder)
    # the segments of the first connections; more connections steal their share
    segments = plan(start, total, min(connections, max(landing.config.split_first, 1)))
    first = next(s for s in segments if s.start == start)
    download = SegmentedDownload(landing, client, part, total, segments, validator, connections)
    await download.run(first=(first, response))
    # an answer from byte 0 is the whole file received afresh: a checksum mismatch is final
    await landing.finish_in_place(total, from_zero=start == 0)


async def resume(landing: Landing, client: JobClient) -> bool:
    """Resume a job left with segments; False if it has none to resume.

    A segment table that does not add up (or a ``.part`` of the wrong size)
    is dropped and the job starts over from byte 0 as a single stream. A
    complete one is left to the single stream too: every byte is durable,
    so ``bytes_done`` is a true prefix and the usual finish applies.
    """
    store, job = landing.store, landing.job
    if job.bytes_done == 0:
        # nothing durable to resume (and no query for each of many small jobs)
        return False
    records = await store.segments(job.id)
    if not records:
        return False
    total, validator, part_path = job.bytes_total, validator_of(job), job.part_path
    if (
        total is not None
        and validator is not None
        and part_path is not None
        and tiles(records, total)
        and sum(r.durable - r.start for r in records) == job.bytes_done
    ):
        if job.bytes_done == total:
            return False
        folder = await landing.open_folder(create=False)
        try:
            part = await asyncio.to_thread(
                PositionalPart.reopen, part_path, total, folder=folder, identity=job.part_identity
            )
        except PartNotOurs as exc:
            # the single stream leaves it alone and takes another name
            log.warning("job %d: %s", job.id, exc)
            part = None
        if part is not None:
            written = await _written_before_crash(landing, part)
            segments = merge(records, written, total)
            have = sum(s.written - s.start for s in segments)
            if have > job.bytes_done:
                log.info(
                    "job %d: %s written before the crash beyond the last checkpoint; kept",
                    job.id,
                    human_size(have - job.bytes_done),
                )
            landing.progress.bytes_total = total
            landing.progress.position = have
            cap = connection_cap(landing.config, client.rules, job, total - have)
            download = SegmentedDownload(
                landing, client, part, total, segments, validator, max(1, cap), saved=records
            )
            await download.run()
            await landing.finish_in_place(total, from_zero=False)
            return True
        log.info("job %d: the partial file is not %d bytes long; starting over", job.id, total)
    else:
        log.info("job %d: its segment table does not add up; starting over", job.id)
    await store.save_segments(job.id, [], 0)
    landing.job = await store.get(job.id)
    return False


async def _written_before_crash(
    landing: Landing, part: PositionalPart
) -> tuple[tuple[int, int], ...]:
    """The ranges the ``.part``'s live record says were written, if it is believed.

    Only a record of this job's very file (database, URL, validators, size)
    noted on this boot: its bytes are then in the page cache, though perhaps
    not on the disk yet.
    """
    job, path = landing.job, part.path
    record = await run_blocking(read_record_at, path, part.fileno())
    if (
        record is None
        or record.db != database_id(landing.store.path)
        or record.url != url_id(job.original_url)
        or (record.etag, record.last_modified, record.total)
        != (job.etag, job.last_modified, job.bytes_total)
    ):
        return ()
    ranges = record.live_ranges(boot_id())
    if record.written and not ranges:
        log.info("job %d: written on another boot; resuming from the last checkpoint", job.id)
    return ranges
