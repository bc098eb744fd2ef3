"""Is the server's answer the file we asked for? The checks that keep a resume from splicing.

A single stream asks for the whole file, or with ``Range: bytes=N-`` and
``If-Range`` for the rest of it; :func:`check_answer` judges what came back.
A segment asks for ``bytes=a-b``; :func:`check_range_answer` judges that.
Neither reads the body or touches the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import aiohttp

from drayman.errors import PermanentError, RestartRequired, TransferError, TransientError
from drayman.headers import ContentRange, UnsatisfiedRange, content_length, parse_content_range
from drayman.jobs import Job
from drayman.queue.neterrors import http_error


class Answer(NamedTuple):
    #: the file's length (None: unknown, or nothing left after a 416)
    total: int | None
    #: the server has nothing after the offset: we hold the whole file (a 416)
    complete: bool = False
    #: a 200 to a range request: the server ignores ranges (no segments either)
    ranges_ignored: bool = False


class RangesIgnored(Exception):
    """The server answered a range request wrongly (a 200, or the wrong range)."""


class Refused(Exception):
    """An extra connection got an HTTP error (many servers limit connections)."""

    def __init__(self, error: TransferError) -> None:
        super().__init__(str(error))
        self.error = error


def check_answer(
    job: Job,
    response: aiohttp.ClientResponse,
    offset: int,
    same_validators: Callable[[str | None, str | None], bool],
    now: float,
) -> Answer:
    """Validate the answer to a request for the file from ``offset``.

    Raises :class:`RestartRequired` when the file changed or the server did
    not resume where asked (start again from byte 0), an HTTP error's
    :class:`TransferError` otherwise.
    """
    status, headers = response.status, response.headers
    etag, last_modified = headers.get("ETag"), headers.get("Last-Modified")
    if status == 416 and offset:
        try:
            unsatisfied = parse_content_range(headers.get("Content-Range", ""))
        except ValueError:
            unsatisfied = None
        if (
            isinstance(unsatisfied, UnsatisfiedRange)
            and unsatisfied.total == offset
            and job.bytes_total in (None, offset)
            and same_validators(etag, last_modified)
        ):
            return Answer(None, complete=True)
        raise RestartRequired(detail="the server refused the range")
    if status == 206:
        if not offset:
            raise TransientError(detail="the server sent a partial answer to a full request")
        try:
            parsed = parse_content_range(headers.get("Content-Range", ""))
        except ValueError as exc:
            raise RestartRequired(detail=f"bad Content-Range: {exc}") from exc
        if not isinstance(parsed, ContentRange) or parsed.start != offset:
            raise RestartRequired(detail=f"the server did not resume at byte {offset}")
        if parsed.total is None or job.bytes_total not in (None, parsed.total):
            raise RestartRequired(detail="the file's size changed")
        if not same_validators(etag, last_modified):
            raise RestartRequired(detail="the file changed on the server")
        if parsed.end + 1 != parsed.total:
            raise RestartRequired(detail="the server sent only part of the range")
        try:
            length = content_length(headers.get("Content-Length"))
        except ValueError:
            length = -1
        if length is not None and length != parsed.end - parsed.start + 1:
            raise RestartRequired(detail="its Content-Length contradicts its Content-Range")
        return Answer(parsed.total)
    if status == 200:
        try:
            total = content_length(headers.get("Content-Length"))
        except ValueError as exc:
            raise PermanentError(detail=f"bad Content-Length: {exc}") from exc
        return Answer(total, ranges_ignored=bool(offset))
    raise http_error(response, now)


def check_range_answer(
    response: aiohttp.ClientResponse,
    first: int,
    last: int,
    total: int,
    same_validators: Callable[[str | None, str | None], bool],
    now: float,
) -> None:
    """Validate the answer to ``Range: bytes=first-last`` of a file of ``total`` bytes.

    Raises :class:`RangesIgnored` (ask for no more ranges), :class:`Refused`
    (an HTTP error: fewer connections), or :class:`RestartRequired` (the file
    changed: start again from byte 0).
    """
    status, headers = response.status, response.headers
    if status in (200, 206) and not same_validators(
        headers.get("ETag"), headers.get("Last-Modified")
    ):
        raise RestartRequired(detail="the file changed on the server")
    if status == 200:
        raise RangesIgnored("the server ignored a range request")
    if status == 416:
        raise RestartRequired(detail="the server refused a range of the file")
    if status != 206:
        raise Refused(http_error(response, now))
    try:
        parsed = parse_content_range(headers.get("Content-Range", ""))
    except ValueError as exc:
        raise RangesIgnored(f"bad Content-Range: {exc}") from exc
    if not isinstance(parsed, ContentRange) or parsed.total != total:
        raise RestartRequired(detail="the file's size changed")
    if (parsed.start, parsed.end) != (first, last):
        raise RangesIgnored(f"the server sent bytes {parsed.start}-{parsed.end} for {first}-{last}")
    try:
        length = content_length(headers.get("Content-Length"))
    except ValueError:
        length = -1
    if length is not None and length != last - first + 1:
        raise RangesIgnored("a Content-Length contradicted its Content-Range")
