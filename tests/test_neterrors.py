"""Network errors as one plain line: table-driven over the exceptions aiohttp raises."""

from __future__ import annotations

import errno
import socket
import ssl

import aiohttp
import pytest
from aiohttp import http_exceptions
from aiohttp.client_reqrep import ConnectionKey, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from conftest import MEGABYTE, assert_linear
from drayman.errors import (
    ConnectionRefused,
    NameNotFound,
    NetworkDown,
    PermanentError,
    TransientError,
)
from drayman.queue.neterrors import network_error
from drayman.queue.retry import RetryPolicy

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
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(errno.ECONNREFUSED, "no")),
            ConnectionRefused,
            "h.example:443 refused the connection (is the address right, and the server up?)",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.ECONNABORTED, "aborted")),
            TransientError,
            "cannot connect to h.example:443",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.ENETUNREACH, "unreachable")),
            NetworkDown,
            "waiting for the network: no route to h.example (is this computer online?)",
        ),
        (
            aiohttp.ClientConnectorDNSError(
                KEY, socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            ),
            NameNotFound,
            "cannot find the server h.example: the name does not exist (a typo in the address?)",
        ),
        (
            aiohttp.ClientConnectorDNSError(
                KEY, socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            ),
            NetworkDown,
            "waiting for the network: cannot reach a name server to look up h.example",
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


def test_a_mistyped_host_fails_fast_a_refusal_is_retried_quickly_and_offline_waits_free() -> None:
    policy = RetryPolicy(max_attempts=8)
    missing = NameNotFound(host="nonexistent.invalid")
    refused = ConnectionRefused(host="127.0.0.1", port=9)
    offline = NetworkDown(detail="no route to h.example (is this computer online?)")
    flaky = TransientError(detail="the connection broke in the middle of the file")
    # a name that does not exist: one quick retry, then failed
    assert not policy.exhausted(1, missing) and policy.exhausted(2, missing)
    assert policy.delay_after(missing, 1) <= 2.0
    # a refusal: a few quick retries, not the full backoff of a flaky transfer
    assert policy.exhausted(3, refused) and not policy.exhausted(2, refused)
    assert policy.delay_after(refused, 2) <= 2.0 < policy.delay(7)
    # offline: no attempt spent, however long it lasts
    assert not policy.spends_attempt(offline) and policy.spends_attempt(flaky)
    assert policy.delay_after(offline, 0) == policy.network_delay
    assert not policy.exhausted(7, flaky) and policy.exhausted(8, flaky)
