"""One window per database: a second start hands its URLs to the first and ends.

The first window listens on a local socket named after the user and the
database (a Unix socket readable by the user only, or a named pipe); a
second ``drayman gui [URL...]`` connects, sends ``{"urls": [...]}``, and the
running window comes to the front and opens the URLs as a paste would. A
window opened while a headless ``drayman run`` owns the engine is a viewer
of that engine; it listens the same way.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
from collections.abc import Sequence

from drayman.ui.qt import QtCore, QtNetwork, Signal

log = logging.getLogger(__name__)

#: how long a second start waits for the first window to answer (ms)
CONNECT_MS = 1500
#: the most a message may hold (a long paste of URLs, not an attack on memory)
MAX_MESSAGE = 4 * 1024 * 1024


def server_name(db_path: str | os.PathLike[str]) -> str:
    """The local socket's name: one per user and database file."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name (a container without passwd entry)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    key = f"{user}\0{os.path.normcase(os.path.abspath(os.fspath(db_path)))}"
    return "drayman-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def forward(db_path: str | os.PathLike[str], urls: Sequence[str]) -> bool:
    """Hand ``urls`` to a window already open on ``db_path``; False when there is none."""
    socket = QtNetwork.QLocalSocket()
    socket.connectToServer(server_name(db_path))
    if not socket.waitForConnected(CONNECT_MS):
        return False
    socket.write(json.dumps({"urls": list(urls)}).encode())
    socket.flush()
    ok = socket.waitForBytesWritten(CONNECT_MS) or socket.bytesToWrite() == 0
    socket.disconnectFromServer()
    if socket.state() != QtNetwork.QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(CONNECT_MS)
    return ok


class InstanceServer(QtCore.QObject):
    """The first window's end: each message from a second start is emitted as ``arrived``."""

    #: the URLs a second start was given (maybe none: then it only asks to be shown)
    arrived = Signal(list)

    def __init__(
        self, db_path: str | os.PathLike[str], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.name = server_name(db_path)
        self.server = QtNetwork.QLocalServer(self)
        self.server.setSocketOptions(QtNetwork.QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """Start listening; a socket file left by a crashed window is cleared first."""
        if self.server.listen(self.name):
            return True
        # nobody answered forward() before we got here: what is there is stale
        QtNetwork.QLocalServer.removeServer(self.name)
        if self.server.listen(self.name):
            return True
        log.warning("a second start cannot reach this window: %s", self.server.errorString())
        return False

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            buffer = bytearray()

            def read(socket: QtNetwork.QLocalSocket = socket, buffer: bytearray = buffer) -> None:
                buffer.extend(bytes(socket.readAll().data()))
                if len(buffer) > MAX_MESSAGE:
                    socket.abort()

            def finished(
                socket: QtNetwork.QLocalSocket = socket, buffer: bytearray = buffer
            ) -> None:
                read()
                socket.deleteLater()
                self._message(bytes(buffer))

            socket.readyRead.connect(read)
            socket.disconnected.connect(finished)
            if socket.state() == QtNetwork.QLocalSocket.LocalSocketState.UnconnectedState:
                finished()  # it said everything and left before we listened

    def _message(self, data: bytes) -> None:
        try:
            message = json.loads(data.decode("utf-8"))
            urls = [str(url) for url in message.get("urls", [])]
        except (ValueError, AttributeError, TypeError):
            log.warning("a second start sent something unreadable (%d bytes)", len(data))
            return
        self.arrived.emit(urls)
