"""Every error drayman expects, as a typed exception.

An exception's docstring is its message template (``str.format`` with the
keyword arguments given at raise time), so the text a user reads lives next to
the class that carries it. Anything that is *not* a ``DraymanError`` is a bug:
the CLI and the GUI log it with its traceback instead of showing it as a
one-line message.
"""

from __future__ import annotations


class DraymanError(Exception):
    """drayman failed."""

    exit_code = 1

    def __init__(self, message: str | None = None, **context: object) -> None:
        self.context = context
        if message is None:
            template = (self.__doc__ or "").strip()
            message = template.format(**context) if context else template
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


# -- bad input: the user can fix it, nothing was changed (exit 2) -----------


class BadInput(DraymanError):
    """Invalid input."""

    exit_code = 2


class InvalidURL(BadInput):
    """{reason}: {url!r}"""


class InvalidHeader(BadInput):
    """{reason}: {header!r}"""


class InvalidRate(BadInput):
    """not a rate (bytes per second, optionally with k, M or G): {text!r}"""


class InvalidSize(BadInput):
    """not a size (bytes, at least 1, optionally with k, M or G): {text!r}"""


class InvalidChecksum(BadInput):
    """not a sha256 (64 hexadecimal digits): {text!r}"""


class InvalidName(BadInput):
    """{reason}: {name!r}"""


class InvalidCAFile(BadInput):
    """cannot use {path} as a certificate authority file (PEM): {reason}"""


class InvalidCookieFile(BadInput):
    """cannot read cookies from {path} (a Netscape cookies.txt): {reason}"""


class InvalidProxy(BadInput):
    """not a proxy ({reason}): {url!r}"""


class ProxyLost(DraymanError):
    """the proxy chosen in the window's settings cannot be read ({why}): nothing goes through it, nor around it, until it is given again in Settings"""


class InvalidSchedule(BadInput):
    """not a schedule band (e.g. 'mon-fri 09:00-18:00' or 'daily 22:00-07:00'): {text!r}: {why}"""


class InvalidIdleAction(BadInput):
    """not an --on-idle action (nothing, notify, open, sleep, shutdown or command:CMD): {text!r}"""


class UnknownJob(BadInput):
    """no job with id {job_id}"""


class IllegalTransition(BadInput):
    """job {job_id} is {current}; it cannot be made {target}"""


# -- the environment: database or engine problems (exit 3) -------------------


class EnvironmentProblem(DraymanError):
    """drayman cannot use its database."""

    exit_code = 3


class NotADatabase(EnvironmentProblem):
    """{path} is not a usable drayman database ({detail}); it was left untouched. Run `drayman --db {path} check` for how to recover."""


class DatabaseTooNew(EnvironmentProblem):
    """{path} was written by a newer drayman (schema version {found}, this drayman knows up to {known}); it was left untouched. Upgrade drayman to use it."""


class DatabaseLocked(EnvironmentProblem):
    """{path} stayed locked by another program for more than {seconds:g} s; try again when it is done"""


class DatabaseUnavailable(EnvironmentProblem):
    """cannot use the database {path}: {detail}"""


class EngineAlreadyRunning(EnvironmentProblem):
    """another drayman engine (pid {pid}) is already running on {path}; control it with drayman pause/resume/add, or stop it first"""


class RpcListenFailed(EnvironmentProblem):
    """cannot serve the RPC on {address}: {reason}"""


class EngineStartFailed(EnvironmentProblem):
    """drayman could not be started for the browser: {reason}"""


class BrowserSetupFailed(EnvironmentProblem):
    """cannot set up {browser} for drayman's extension: {reason}"""


# -- transfer outcomes: the engine turns these into job states --------------


class TransferError(DraymanError):
    """the download failed."""

    #: A transient error puts the job back in the queue with a backoff delay;
    #: a permanent one fails it.
    transient = False

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, **context)
        #: seconds the server asked us to wait (Retry-After), if it did
        self.retry_after = retry_after


class TransientError(TransferError):
    """a temporary network or server problem: {detail}"""

    transient = True


class TooSlow(TransientError):
    """a temporary network or server problem: too slow: {speed}/s for {seconds:.0f} s (the minimum is {minimum}/s)"""

    # An attempt cut short for slowness counts against the job's attempts even
    # if it brought bytes: a server that drips forever would otherwise reset
    # the count on every attempt and keep the job retrying for good.


class NameNotFound(TransientError):
    """cannot find the server {host}: the name does not exist (a typo in the address?)"""

    # retried once, quickly (a resolver can be briefly wrong), then failed:
    # a mistyped host is not a flaky transfer


class ConnectionRefused(TransientError):
    """{host}:{port} refused the connection (is the address right, and the server up?)"""

    # retried a few times quickly (a server restarting), not with the full backoff


class NetworkDown(TransientError):
    """waiting for the network: {detail}"""

    # the machine is offline (no route, no DNS server): the job waits without
    # spending attempts, so a queue left overnight survives a dropped Wi-Fi


class PermanentError(TransferError):
    """{detail}"""


class TooLarge(PermanentError):
    """the file is larger than the size limit (max-filesize {limit}): {size}; nothing of it is kept"""


class LinkRefused(PermanentError):
    """{detail}"""

    # 403 or 410: for a signed media link, usually "this link has expired";
    # a job resolved from a page gets a fresh one (drayman.queue.refresh)


class RestartRequired(TransferError):
    """the remote file changed or cannot be resumed ({detail}); starting again from byte 0"""

    transient = True


class RangesIgnored(RestartRequired):
    """the server does not honour range requests ({detail}); starting again from byte 0 over one connection"""

    # A 200 (or a wrong range) answered a range request: the segments cannot be
    # completed, so the transfer starts once more from byte 0 as a single stream.


class FolderEscape(PermanentError):
    """refusing to write in {path}: {part!r} is a symbolic link (or junction) that could lead out of {base}"""


class PartFileLost(PermanentError):
    """{path} was deleted, moved or replaced while downloading (was its folder removed, or its drive disconnected?); nothing more was written to it"""
