"""Network errors as one plain line: table-driven over the exceptions aiohttp raises."""

from __future__ import annotations

import ssl

import aiohttp
import pytest
from aiohttp import http_exceptions
from aiohttp.client_reqrep import ConnectionKey, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from conftest import MEGABYTE, assert_linear
from drayman.errors import PermanentError, TransientError
from drayman.queue.neterrors import network_error

SECRET_URL = URL("https://alice:PW-s3cret@h.example/f?X-Amz-Signature=SIG-s3cret")
KEY = ConnectionKey("h.example", 443, True, True, None, None, None)


def response_error(cause: BaseException) -> aiohttp.ClientResponseError:
    info = RequestInfo(SECRET_URL, "GET", CIMultiDictProxy(CIMultiDict()), SECRET_URL)
    error = aiohttp.ClientResponseError(info, (), status=400, message=str(cause))
    error.__cause__ = http_exceptions.HttpProcessingError(message=str(cause))
    error.__cause__.__cause__ = cause
    return error


def certificate_error(message: str) -> aiohttp.ClientConnectorCertificateError:
    error = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    error.verify_message = message
    return aiohttp.ClientConnectorCertificateError(KEY, error)


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (
            certificate_error("self-signed certificate"),
            PermanentError,
            "the TLS certificate of h.example does not verify: self-signed certificate; "
            "if you trust the server, add the job (or a rule) with --insecure",
        ),
        (
            response_error(http_exceptions.LineTooLong(b"a" * 100 + b"...", 8190)),
            TransientError,
            "the server's answer is not valid HTTP: a header line is too long "
            "(more than 8190 bytes)",
        ),
        (
            response_error(http_exceptions.BadStatusLine("\\x00junk")),
            TransientError,
            "the server's answer is not valid HTTP: it does not start like an HTTP answer",
        ),
        (
            response_error(http_exceptions.BadHttpMessage("Content-Length overflow:\n\n  b'x'")),
            TransientError,
            "the server's answer is not valid HTTP: Content-Length overflow",
        ),
        (TimeoutError(), TransientError, "no data for 60 s (stalled connection)"),
        (
            aiohttp.ConnectionTimeoutError(),
            TransientError,
            "timed out connecting to the server",
        ),
        (
            aiohttp.ClientPayloadError(f"payload not completed {SECRET_URL}"),
            TransientError,
            "the connection broke in the middle of the file",
        ),
        (
            aiohttp.ServerDisconnectedError(),
            TransientError,
            "the server closed the connection without answering",
        ),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
            TransientError,
            "cannot connect to h.example:443",
        ),
        (
            aiohttp.InvalidURL(SECRET_URL),
            TransientError,
            "network error (InvalidURL)",
        ),
    ],
)
def test_network_errors_are_one_plain_line_without_the_url(
    exc: BaseException, kind: type, text: str
) -> None:
    error = network_error(exc, read_timeout=60)
    assert type(error) is kind
    message = str(error)
    assert message.endswith(text), message
    assert "\n" not in message and "s3cret" not in message and "aaaa" not in message


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        # a megabyte of spaces and no offending bytes: the old split pattern
        # started a ":?\s*" scan of the whole run from each of its spaces
        ("bad" + " " * MEGABYTE + "header", "bad"),
        ("bad:" + " " * MEGABYTE + "b'x'", "bad"),
        ("bad::  bytearray(b'\\x00')", "bad"),
    ],
    ids=["spaces-no-bytes", "spaces-then-bytes", "bytearray"],
)
def test_a_server_message_is_cut_in_linear_time(message: str, shown: str) -> None:
    error = response_error(http_exceptions.BadHttpMessage(message))
    text = str(assert_linear(lambda _: network_error(error, read_timeout=60), message))
    assert "\n" not in text and len(text) < 300
    assert f"the server's answer is not valid HTTP: {shown}" in text
