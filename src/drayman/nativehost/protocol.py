"""The native-messaging wire format: a 32-bit length in native byte order, then UTF-8 JSON.

Chromium and Firefox use the same framing on the host's stdin and stdout.
The streams must be binary: on Windows a text-mode stdout would turn every
``\\n`` into ``\\r\\n`` and break the lengths, so :func:`binary_stdio` sets
both to ``O_BINARY`` there.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any, BinaryIO

#: the browser sends at most 4 GiB, but a request to drayman is a few bytes
MAX_REQUEST = 1024 * 1024
#: Chromium refuses messages from a host larger than 1 MiB
MAX_ANSWER = 1024 * 1024

_LENGTH = struct.Struct("=I")  # native byte order, as the browsers write it


class ProtocolError(Exception):
    """A message that breaks the framing: the host answers it and stops."""


def binary_stdio() -> tuple[BinaryIO, BinaryIO]:
    """stdin and stdout as raw byte streams (no newline translation on Windows)."""
    if sys.platform == "win32":
        import msvcrt
        import os

        msvcrt.setmode(sys.stdin.fileno(), os.O_BINARY)
        msvcrt.setmode(sys.stdout.fileno(), os.O_BINARY)
    return sys.stdin.buffer, sys.stdout.buffer


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> Any | None:
    """The next message, or None when the browser closed the pipe (between messages)."""
    header = _read_exactly(stream, _LENGTH.size)
    if not header:
        return None
    if len(header) < _LENGTH.size:
        raise ProtocolError("the message's length was cut off")
    (length,) = _LENGTH.unpack(header)
    if length > MAX_REQUEST:
        raise ProtocolError(f"a message of {length} bytes is more than drayman reads")
    body = _read_exactly(stream, length)
    if len(body) < length:
        raise ProtocolError("the message was cut off")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("the message is not UTF-8 JSON") from None


def encode_message(message: Any) -> bytes:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_ANSWER:
        raise ProtocolError(f"an answer of {len(body)} bytes is over the browser's 1 MiB")
    return _LENGTH.pack(len(body)) + body


def write_message(stream: BinaryIO, message: Any) -> None:
    stream.write(encode_message(message))
    stream.flush()
