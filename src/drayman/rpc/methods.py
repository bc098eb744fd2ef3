"""aria2's RPC methods over drayman's job queue.

Every command is a write through :class:`JobQueue` (the CLI's API), so a
download added here is an ordinary job: in the window, in ``drayman ls``,
resumed after a restart. Parameters follow aria2's order and types; the
secret is checked in constant time and never kept anywhere but the config.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from drayman import __version__
from drayman.errors import BadInput, DraymanError
from drayman.inputs import default_download_dir, validate_sha256
from drayman.jobs import Job, JobState
from drayman.proxies import validate_proxy
from drayman.queue.engine import Engine
from drayman.queue.jobqueue import JobQueue
from drayman.queue.progress import JobProgress
from drayman.queue.ratelimit import parse_rate
from drayman.rpc.config import RpcConfig
from drayman.rpc.errors import InvalidParams, RpcError, RpcFault, Unauthorized
from drayman.rpc.gid import expand, gid_of, job_id_in
from drayman.rpc.status import STATUS_OF, WAITING, file_path, files, status_of, uris

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[list[Any]], Awaitable[Any]]

#: the aria2 version whose interface this follows (clients show or check it)
ARIA2_VERSION = "1.37.0"

NOTIFICATIONS = [
    "aria2.onDownloadStart",
    "aria2.onDownloadPause",
    "aria2.onDownloadStop",
    "aria2.onDownloadComplete",
    "aria2.onDownloadError",
    "aria2.onBtDownloadComplete",
]

#: methods aria2 has that make no sense for an HTTP(S)-only manager
UNSUPPORTED = {
    "aria2.addTorrent": "drayman downloads over HTTP(S) only: BitTorrent is not supported",
    "aria2.addMetalink": "drayman downloads over HTTP(S) only: Metalink is not supported",
    "aria2.getPeers": "drayman downloads over HTTP(S) only: there are no peers",
    "aria2.changeUri": "drayman cannot change the URL of a download; remove it and add the new URL",
}

#: connections per file a client may ask for (the window's setting goes as far)
MAX_SPLIT = 16

#: finished, failed and removed downloads listed at most, the most recent
#: (aria2's --max-download-result): a client polling tellStopped every second
#: does not read a history of 100,000 jobs every second
MAX_RESULTS = 1000

#: the states aria2 calls "waiting" (its tellWaiting lists paused ones too)
WAITING_STATES = (JobState.QUEUED, JobState.PAUSED)
STOPPED_STATES = (JobState.DONE, JobState.FAILED)


# -- parameters ------------------------------------------------------------------


def _param(params: list[Any], index: int, kind: type | tuple[type, ...], what: str) -> Any:
    if index >= len(params):
        raise InvalidParams(f"Invalid params: {what} is required")
    value = params[index]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidParams(f"Invalid params: {what} must be {_kind_name(kind)}")
    return value


def _optional(
    params: list[Any], index: int, kind: type | tuple[type, ...], what: str, default: Any
) -> Any:
    if index >= len(params) or params[index] is None:
        return default
    return _param(params, index, kind, what)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "an array", dict: "a struct"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _keys(params: list[Any], index: int) -> list[str]:
    keys = _optional(params, index, list, "keys", [])
    if not all(isinstance(key, str) for key in keys):
        raise InvalidParams("Invalid params: keys must be an array of strings")
    return list(keys)


def _option_text(options: dict[str, Any], name: str) -> str | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidParams(f"Invalid params: option {name} must be a string")
    return str(value)


def _option_list(options: dict[str, Any], name: str) -> list[str]:
    """``header`` may be one string or an array of them (aria2's cumulative options)."""
    value = options.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise InvalidParams(f"Invalid params: option {name} must be a string or an array of them")
    return list(values)


def _rate(options: dict[str, Any], name: str) -> int | None:
    text = _option_text(options, name)
    if text is None:
        return None
    try:
        return parse_rate(text)
    except BadInput as exc:
        raise RpcFault(f"option {name}: {exc}") from None


def _positive(options: dict[str, Any], name: str) -> int | None:
    text = _option_text(options, name)
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise RpcFault(f"option {name}: not a whole number of at least 1: {text!r}")
    return int(text)


def _checksum(options: dict[str, Any]) -> str | None:
    text = _option_text(options, "checksum")
    if text is None:
        return None
    kind, _, digest = text.partition("=")
    if kind.lower() not in ("sha-256", "sha256"):
        raise RpcFault(f"option checksum: only sha-256=HEX is supported, not {kind!r}")
    return validate_sha256(digest)


def _proxy(options: dict[str, Any], url: str) -> str | None:
    """aria2's ``http-proxy`` / ``https-proxy`` for the URL's scheme, else ``all-proxy``."""
    scheme = "https" if url.strip().lower().startswith("https:") else "http"
    for name in (f"{scheme}-proxy", "all-proxy"):
        text = _option_text(options, name)
        if text:  # aria2 takes "" as no proxy of this kind
            try:
                return validate_proxy(text)
            except BadInput as exc:
                raise RpcFault(f"option {name}: {exc}") from None
    return None


def _is_inside(path: str, folder: str) -> bool:
    path, folder = os.path.normcase(path), os.path.normcase(folder)
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # other drives on Windows
        return False


def _folder_allowed(wanted: str, allowed: Sequence[str]) -> str | None:
    """``wanted`` as an absolute, resolved folder if it lies inside an allowed one."""
    wanted = os.path.expanduser(wanted)
    if not os.path.isabs(wanted):
        raise RpcFault(f"option dir: give an absolute folder, not {wanted!r}")
    real = os.path.realpath(wanted)
    for folder in allowed:
        if _is_inside(real, os.path.realpath(os.path.expanduser(folder))):
            return real
    return None


class Aria2Methods:
    """The methods; :meth:`call` runs one request (secret included)."""

    def __init__(
        self,
        engine: Engine,
        config: RpcConfig,
        *,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.on_shutdown = on_shutdown
        #: told of a job about to be removed here (the notifications learn of it)
        self.on_removing: Callable[[Job], None] = lambda job: None
        self.session_id = secrets.token_hex(20)
        #: the engine's latest progress of each running job
        self.live: dict[int, JobProgress] = {}
        self.total_speed = 0.0
        #: jobs removed during this session, as aria2 keeps "removed" results
        self.removed: dict[str, Job] = {}
        #: GIDs of removed jobs whose result was cleared too: never to come back
        self.cleared: set[str] = set()
        self._methods: dict[str, Handler] = {
            "aria2.addUri": self.add_uri,
            "aria2.remove": self.remove,
            "aria2.forceRemove": self.remove,
            "aria2.pause": self.pause,
            "aria2.forcePause": self.pause,
            "aria2.pauseAll": self.pause_all,
            "aria2.forcePauseAll": self.pause_all,
            "aria2.unpause": self.unpause,
            "aria2.unpauseAll": self.unpause_all,
            "aria2.tellStatus": self.tell_status,
            "aria2.getUris": self.get_uris,
            "aria2.getFiles": self.get_files,
            "aria2.getServers": self.get_servers,
            "aria2.tellActive": self.tell_active,
            "aria2.tellWaiting": self.tell_waiting,
            "aria2.tellStopped": self.tell_stopped,
            "aria2.changePosition": self.change_position,
            "aria2.getOption": self.get_option,
            "aria2.changeOption": self.change_option,
            "aria2.getGlobalOption": self.get_global_option,
            "aria2.changeGlobalOption": self.change_global_option,
            "aria2.getGlobalStat": self.get_global_stat,
            "aria2.purgeDownloadResult": self.purge_download_result,
            "aria2.removeDownloadResult": self.remove_download_result,
            "aria2.getVersion": self.get_version,
            "aria2.getSessionInfo": self.get_session_info,
            "aria2.shutdown": self.shutdown,
            "aria2.forceShutdown": self.shutdown,
            "aria2.saveSession": self.save_session,
            # drayman's own: aria2 has no retry (its clients add the URL again)
            "drayman.retry": self.retry,
        }

    @property
    def queue(self) -> JobQueue:
        return self.engine.queue

    def method_names(self) -> list[str]:
        return [*self._methods, *UNSUPPORTED, "system.multicall", *self._open_methods()]

    @staticmethod
    def _open_methods() -> list[str]:
        return ["system.listMethods", "system.listNotifications"]

    # -- dispatch ------------------------------------------------------------------

    def authorized(self, params: list[Any]) -> bool:
        """Take a ``token:`` first parameter off ``params``; is it the secret?"""
        token = ""
        if params and isinstance(params[0], str) and params[0].startswith("token:"):
            token = params.pop(0)[len("token:") :]
        # compare_digest: as long whatever the token, no early exit on a prefix
        return hmac.compare_digest(token.encode(), self.config.secret.encode())

    async def call(self, method: str, params: list[Any]) -> Any:
        """Run one method. Raises :class:`RpcError` (never anything else) on failure."""
        try:
            if method == "system.multicall":
                self.authorized(params)  # each call inside carries its own token
                return await self.multicall(params)
            if method in ("system.listMethods", "system.listNotifications"):
                self.authorized(params)  # a token is taken off, never required
                if method == "system.listMethods":
                    return self.method_names()
                return list(NOTIFICATIONS)
            handler = self._methods.get(method)
            if not self.authorized(params):
                raise Unauthorized()
            if method in UNSUPPORTED:
                raise RpcFault(UNSUPPORTED[method])
            if handler is None:
                raise RpcFault(f"No such method: {method}")
            return await handler(params)
        except RpcError:
            raise
        except DraymanError as exc:  # bad input, a locked database: one line
            raise RpcFault(str(exc)) from None
        except Exception as exc:
            log.exception("RPC method %s failed", method)
            raise RpcFault(f"internal error: {type(exc).__name__}") from None

    async def multicall(self, params: list[Any]) -> list[Any]:
        calls = _param(params, 0, list, "methods")
        results: list[Any] = []
        for spec in calls:
            if not isinstance(spec, dict):
                results.append(RpcFault("system.multicall expected struct.").as_json())
                continue
            name = spec.get("methodName")
            if not isinstance(name, str):
                results.append(RpcFault("Missing methodName.").as_json())
                continue
            if name == "system.multicall":
                results.append(RpcFault("Recursive system.multicall forbidden.").as_json())
                continue
            inner = spec.get("params")
            try:
                results.append(
                    [await self.call(name, list(inner) if isinstance(inner, list) else [])]
                )
            except RpcError as exc:
                results.append(exc.as_json())
        return results

    # -- finding jobs ----------------------------------------------------------------

    async def _job(self, gid: Any, *, removed_too: bool = True) -> tuple[Job, bool]:
        """The job a GID names, and whether it is a removed one."""
        if not isinstance(gid, str):
            raise InvalidParams("Invalid params: gid must be a string")
        if len(gid) < 16:  # a prefix: aria2 takes any unique one
            known = [gid_of(job) for job in await self.queue.jobs()]
            gid = expand(gid, [*known, *self.removed])
        job = await self.queue.find(job_id_in(gid))
        if job is not None and gid_of(job) == gid.lower():
            return job, False
        if removed_too and gid.lower() in self.removed:
            return self.removed[gid.lower()], True
        raise RpcFault(f"No such download for GID#{gid.lower()}")

    def removed_elsewhere(self, job: Job) -> None:
        """A job removed by another command (the CLI, the window): now a removed result."""
        gid = gid_of(job)
        if gid not in self.cleared:
            self.removed.setdefault(gid, job)

    def _status(self, job: Job, keys: Sequence[str] = (), removed: bool = False) -> dict[str, Any]:
        return status_of(job, self.live.get(job.id), keys, removed=removed)

    async def _waiting(self) -> list[Job]:
        """Queued and paused jobs in the order they will start (aria2's waiting queue)."""
        return await self.queue.waiting()

    async def _stopped(self) -> list[tuple[Job, bool]]:
        """Finished, failed and removed jobs, the least recently stopped first."""
        stored = await self.queue.latest_stopped(MAX_RESULTS)
        stopped = [(job, False) for job in stored] + [(job, True) for job in self.removed.values()]
        stopped.sort(key=lambda item: (item[0].finished_at or item[0].updated_at, item[0].id))
        return stopped[-MAX_RESULTS:]

    # -- adding --------------------------------------------------------------------

    async def add_uri(self, params: list[Any]) -> str:
        uri_list = _param(params, 0, list, "uris")
        options = _optional(params, 1, dict, "options", {})
        position = _optional(params, 2, int, "position", None)
        if not uri_list or not all(isinstance(u, str) for u in uri_list):
            raise (
                RpcFault("URI is not provided.")
                if not uri_list
                else InvalidParams("Invalid params: uris must be an array of strings")
            )
        if position is not None and position < 0:
            raise RpcFault("Position must be greater than or equal to 0.")
        headers = _option_list(options, "header")
        for option, header in (("referer", "Referer"), ("user-agent", "User-Agent")):
            value = _option_text(options, option)
            if value is not None and not any(
                h.split(":", 1)[0].strip().lower() == header.lower() for h in headers
            ):
                headers.append(f"{header}: {value}")
        name = _option_text(options, "out")
        folder = await self._folder(_option_text(options, "dir"))
        rate = _rate(options, "max-download-limit")
        # connections for the file: aria2 opens min(split, per server) to one server
        given = [_positive(options, o) for o in ("split", "max-connection-per-server")]
        split = min((n for n in given if n is not None), default=None)
        sha256 = _checksum(options)
        paused = (_option_text(options, "pause") or "").lower() == "true"
        proxy = _proxy(options, uri_list[0])
        # one URL per job: the others aria2 would take as mirrors of the same file
        [job_id] = await self.queue.add(
            [uri_list[0]],
            dest_dir=folder,
            name=name or None,
            headers=headers,
            sha256=sha256,
            proxy=proxy,
            split=None if split is None else min(split, MAX_SPLIT),
            # all in the add's own transaction: a pause, a limit or a move after
            # the add left the engine a moment to start it, unlimited or out of turn
            paused=paused,
            max_speed=rate or None,
            at=position,
        )
        return gid_of(await self.queue.get(job_id))

    async def _folder(self, wanted: str | None) -> str | None:
        """A client's ``dir``, if inside an allowed folder; else a clear refusal."""
        default = self.config.default_dir
        if wanted is None or not wanted.strip():
            return default
        allowed = [default_download_dir(), *([default] if default else [])]
        allowed += self.config.allowed_dirs
        allowed += [rule.dest_dir for rule in await self.queue.rules() if rule.dest_dir]
        resolved = await asyncio.to_thread(_folder_allowed, wanted.strip(), allowed)
        if resolved is None:
            raise RpcFault(
                f"option dir: {wanted} is outside the folders drayman may download to "
                f"({', '.join(allowed)}); allow it with `drayman run --rpc-allow-dir`"
            )
        return resolved

    # -- commands --------------------------------------------------------------------

    async def remove(self, params: list[Any]) -> str:
        job, removed = await self._job(_param(params, 0, str, "gid"), removed_too=False)
        if STATUS_OF[job.state] in ("complete", "error") or removed:
            raise RpcFault(f"Active Download not found for GID#{gid_of(job)}")
        # the notifications must know the row, though it may go between two of their looks
        self.on_removing(job)
        [gone] = await self.queue.remove([job.id])
        self.removed[gid_of(gone)] = gone
        return gid_of(job)

    async def pause(self, params: list[Any]) -> str:
        job, removed = await self._job(_param(params, 0, str, "gid"))
        if removed or job.state not in (JobState.QUEUED, JobState.RUNNING):
            raise RpcFault(f"GID#{gid_of(job)} cannot be paused now")
        await self.queue.pause([job.id])
        return gid_of(job)

    async def pause_all(self, params: list[Any]) -> str:
        await self.queue.pause_all()
        return "OK"

    async def unpause(self, params: list[Any]) -> str:
        job, removed = await self._job(_param(params, 0, str, "gid"))
        if removed or job.state != JobState.PAUSED:
            raise RpcFault(f"GID#{gid_of(job)} cannot be unpaused now")
        await self.queue.resume([job.id])
        return gid_of(job)

    async def retry(self, params: list[Any]) -> str:
        """``drayman retry``: a failed job queued again, from the bytes it has."""
        job, removed = await self._job(_param(params, 0, str, "gid"))
        if removed or job.state != JobState.FAILED:
            raise RpcFault(f"GID#{gid_of(job)} has not failed: nothing to retry")
        await self.queue.retry([job.id])
        return gid_of(job)

    async def unpause_all(self, params: list[Any]) -> str:
        await self.queue.resume_all()
        return "OK"

    async def change_position(self, params: list[Any]) -> int:
        job, _ = await self._job(_param(params, 0, str, "gid"), removed_too=False)
        pos = _param(params, 1, int, "pos")
        how = _param(params, 2, str, "how")
        waiting = [j.id for j in await self._waiting()]
        if job.id not in waiting:
            raise RpcFault(f"GID#{gid_of(job)} not found in the waiting queue.")
        current = waiting.index(job.id)
        if how == "POS_SET":
            target = pos
        elif how == "POS_CUR":
            target = current + pos
        elif how == "POS_END":
            target = len(waiting) - 1 + pos
        else:
            raise RpcFault("Illegal argument.")
        return await self._move(job.id, target)

    async def _move(self, job_id: int, target: int) -> int:
        """Put a waiting job at ``target`` in the waiting queue; its resulting index."""
        waiting = [j.id for j in await self._waiting()]
        if job_id not in waiting:
            return 0
        waiting.remove(job_id)
        target = min(max(target, 0), len(waiting))
        waiting.insert(target, job_id)
        await self.queue.put_in_order(waiting)
        return target

    async def remove_download_result(self, params: list[Any]) -> str:
        job, removed = await self._job(_param(params, 0, str, "gid"))
        if removed:
            del self.removed[gid_of(job)]
            self.cleared.add(gid_of(job))
        elif job.state in STOPPED_STATES:
            await self.queue.remove([job.id])  # the row only: the file stays
            self.cleared.add(gid_of(job))
        else:
            raise RpcFault(f"Could not remove download result of GID#{gid_of(job)}")
        return "OK"

    async def purge_download_result(self, params: list[Any]) -> str:
        ids = await self.queue.ids(STOPPED_STATES)
        if ids:
            # the rows only: the files stay
            self.cleared.update(gid_of(job) for job in await self.queue.remove(ids))
        self.cleared.update(self.removed)
        self.removed.clear()
        return "OK"

    async def save_session(self, params: list[Any]) -> str:
        return "OK"  # the job table is always saved

    async def shutdown(self, params: list[Any]) -> str:
        if self.on_shutdown is None:
            raise RpcFault("this drayman cannot be shut down over RPC")
        # after this answer is on its way: the stop closes the server
        asyncio.get_running_loop().call_soon(self.on_shutdown)
        return "OK"

    # -- reading -----------------------------------------------------------------------

    async def tell_status(self, params: list[Any]) -> dict[str, Any]:
        job, removed = await self._job(_param(params, 0, str, "gid"))
        return self._status(job, _keys(params, 1), removed)

    async def get_uris(self, params: list[Any]) -> list[dict[str, str]]:
        job, _ = await self._job(_param(params, 0, str, "gid"))
        return uris(job)

    async def get_files(self, params: list[Any]) -> list[dict[str, Any]]:
        job, _ = await self._job(_param(params, 0, str, "gid"))
        live = self.live.get(job.id)
        return files(job, live.bytes_done if live is not None else job.bytes_done)

    async def get_servers(self, params: list[Any]) -> list[dict[str, Any]]:
        job, _ = await self._job(_param(params, 0, str, "gid"))
        live = self.live.get(job.id)
        if job.state != JobState.RUNNING or live is None:
            raise RpcFault(f"No active download for GID#{gid_of(job)}")
        return [
            {
                "index": "1",
                "servers": [
                    {
                        "uri": uris(job)[0]["uri"],
                        "currentUri": uris(replace(job, url=job.effective_url or job.url))[0][
                            "uri"
                        ],
                        "downloadSpeed": str(int(live.speed)),
                    }
                ],
            }
        ]

    async def tell_active(self, params: list[Any]) -> list[dict[str, Any]]:
        keys = _keys(params, 0)
        return [self._status(job, keys) for job in await self.queue.jobs(JobState.RUNNING)]

    async def tell_waiting(self, params: list[Any]) -> list[dict[str, Any]]:
        offset, num, keys = self._page(params)
        counts = await self.queue.counts()
        start, stop, backwards = _window(
            counts[JobState.QUEUED] + counts[JobState.PAUSED], offset, num
        )
        jobs = await self.queue.waiting(stop - start, start) if stop > start else []
        if backwards:
            jobs.reverse()
        return [self._status(job, keys) for job in jobs]

    async def tell_stopped(self, params: list[Any]) -> list[dict[str, Any]]:
        offset, num, keys = self._page(params)
        stopped = await self._stopped()
        return [self._status(job, keys, removed) for job, removed in _page(stopped, offset, num)]

    @staticmethod
    def _page(params: list[Any]) -> tuple[int, int, list[str]]:
        return _param(params, 0, int, "offset"), _param(params, 1, int, "num"), _keys(params, 2)

    async def get_option(self, params: list[Any]) -> dict[str, str]:
        job, _ = await self._job(_param(params, 0, str, "gid"))
        split = job.split or self.engine.config.transfer.split
        options = {
            "dir": job.dest_dir,
            "max-download-limit": str(job.max_speed or 0),
            "split": str(split),
            "max-connection-per-server": str(split),
        }
        name = os.path.basename(file_path(job))
        if name:
            options["out"] = name
        if job.sha256:
            options["checksum"] = f"sha-256={job.sha256}"
        return options

    async def change_option(self, params: list[Any]) -> str:
        job, _ = await self._job(_param(params, 0, str, "gid"), removed_too=False)
        options = _param(params, 1, dict, "options")
        unknown = sorted(set(options) - {"max-download-limit"})
        if unknown:
            raise RpcFault(
                f"drayman cannot change option {unknown[0]!r} of a download "
                "(only max-download-limit)"
            )
        rate = _rate(options, "max-download-limit")
        if rate is not None:
            await self.queue.set_job_speed_limit([job.id], rate)
        return "OK"

    async def get_global_option(self, params: list[Any]) -> dict[str, str]:
        config = self.engine.config
        # the stored limit: the engine applies a new one on its next look
        stored = await self.queue.speed_limit()
        return {
            "dir": self.config.default_dir or default_download_dir(),
            "max-concurrent-downloads": str(config.concurrency),
            "max-overall-download-limit": str(self.engine.max_speed if stored is None else stored),
            "split": str(config.transfer.split),
            "max-connection-per-server": str(config.transfer.split),
            "continue": "true",
            "rpc-listen-port": str(self.config.port),
            "rpc-listen-all": "true" if self.config.listen_all else "false",
        }

    async def change_global_option(self, params: list[Any]) -> str:
        options = _param(params, 0, dict, "options")
        rate = _rate(options, "max-overall-download-limit")
        concurrency = _positive(options, "max-concurrent-downloads")
        split = _positive(options, "split")
        if rate is not None:
            # stored, like `drayman limit`: the engine applies it at once
            await self.queue.set_speed_limit(rate)
        if concurrency is not None:
            self.engine.set_concurrency(concurrency)
        if split is not None:
            config = self.engine.config
            self.engine.reconfigure(
                replace(config, transfer=replace(config.transfer, split=min(split, MAX_SPLIT)))
            )
        return "OK"

    async def get_global_stat(self, params: list[Any]) -> dict[str, str]:
        counts = await self.queue.counts()
        stopped = counts[JobState.DONE] + counts[JobState.FAILED] + len(self.removed)
        return {
            "downloadSpeed": str(int(self.total_speed)),
            "uploadSpeed": "0",
            "numActive": str(counts[JobState.RUNNING]),
            "numWaiting": str(counts[JobState.QUEUED] + counts[JobState.PAUSED]),
            "numStopped": str(min(stopped, MAX_RESULTS)),
            "numStoppedTotal": str(stopped),
        }

    async def get_version(self, params: list[Any]) -> dict[str, Any]:
        return {
            "version": ARIA2_VERSION,
            "enabledFeatures": ["GZip", "HTTPS", "Message Digest"],
            "drayman": __version__,
        }

    async def get_session_info(self, params: list[Any]) -> dict[str, str]:
        return {"sessionId": self.session_id}


def _window(size: int, offset: int, num: int) -> tuple[int, int, bool]:
    """aria2's offset/num over ``size`` items: the range [start, stop), and whether
    it is given backwards (a negative offset counts from the end, in reverse)."""
    if num <= 0:
        return 0, 0, False
    if offset < 0:
        end = offset + size
        if end < 0:
            return 0, 0, True
        return max(end - (num - 1), 0), end + 1, True
    if offset >= size:
        return 0, 0, False
    return offset, min(offset + num, size), False


def _page(items: Sequence[T], offset: int, num: int) -> list[T]:
    start, stop, backwards = _window(len(items), offset, num)
    page = list(items[start:stop])
    return page[::-1] if backwards else page


__all__ = ["NOTIFICATIONS", "WAITING", "Aria2Methods"]
