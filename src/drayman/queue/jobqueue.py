"""The commands: add, pause, resume, retry, remove, list.

Every command is a write to the job table, whoever gives it: the CLI, the
window, a test. A running engine sees the change at once when it shares this
object (in-process listeners) and within about a second otherwise (it polls
SQLite's data_version).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from drayman.errors import BadInput, InvalidChecksum, InvalidName
from drayman.headers import parse_request_header
from drayman.jobs import Job, JobState, NewJob
from drayman.names import sanitize_filename
from drayman.storage import JobStore
from drayman.urls import validate_url

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

Listener = Callable[[], None]


def validate_sha256(text: str) -> str:
    if not _SHA256.match(text.strip()):
        raise InvalidChecksum(text=text)
    return text.strip().lower()


def validate_name(name: str) -> str:
    """A name given with ``-o``: one plain file name, made safe for every OS."""
    stripped = name.strip()
    if not stripped or stripped in {".", ".."} or "/" in stripped or "\\" in stripped:
        raise InvalidName(reason="give a file name, not a path (use -d for the folder)", name=name)
    return sanitize_filename(stripped)


def validate_folder(folder: str | os.PathLike[str]) -> str:
    path = Path(folder).expanduser()
    path = path.absolute()
    if path.exists() and not path.is_dir():
        raise BadInput(f"not a folder: {os.fspath(path)}")
    return os.path.normpath(os.fspath(path))


def parse_headers(headers: Iterable[str | tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    parsed = []
    for header in headers:
        if isinstance(header, str):
            parsed.append(parse_request_header(header))
        else:
            parsed.append(parse_request_header(f"{header[0]}: {header[1]}"))
    return tuple(parsed)


class JobQueue:
    """The public command API over one database."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._listeners: list[Listener] = []

    @classmethod
    async def open(cls, db_path: str | os.PathLike[str]) -> JobQueue:
        return cls(await JobStore.open(db_path))

    async def close(self) -> None:
        await self.store.close()

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after each command; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("a job-change listener failed")

    # -- reads -------------------------------------------------------------------

    async def jobs(self, state: JobState | None = None) -> list[Job]:
        return await self.store.jobs(state)

    async def get(self, job_id: int) -> Job:
        return await self.store.get(job_id)

    async def counts(self) -> dict[JobState, int]:
        return await self.store.count_by_state()

    # -- commands ------------------------------------------------------------------

    async def add(
        self,
        urls: Sequence[str],
        *,
        dest_dir: str | os.PathLike[str],
        name: str | None = None,
        headers: Iterable[str | tuple[str, str]] = (),
        sha256: str | None = None,
        priority: int = 0,
    ) -> list[int]:
        """Validate everything, then add every URL in one transaction.

        Raises a :class:`BadInput` subclass and adds nothing if any part is bad.
        """
        if not urls:
            raise BadInput("no URL given")
        checked = [validate_url(url) for url in urls]
        if name is not None and len(checked) > 1:
            raise BadInput("a file name (-o) can only be given for a single URL")
        if sha256 is not None and len(checked) > 1:
            raise BadInput("a checksum (--sha256) can only be given for a single URL")
        folder = validate_folder(dest_dir)
        new = [
            NewJob(
                url=url,
                dest_dir=folder,
                requested_name=None if name is None else validate_name(name),
                headers=parse_headers(headers),
                sha256=None if sha256 is None else validate_sha256(sha256),
                priority=priority,
            )
            for url in checked
        ]
        ids = await self.store.add(new)
        self._changed()
        return ids

    async def pause(self, ids: Sequence[int]) -> list[int]:
        return await self._change(ids, JobState.PAUSED)

    async def pause_all(self) -> list[int]:
        changed = await self.store.change_all(JobState.PAUSED)
        self._changed()
        return changed

    async def resume(self, ids: Sequence[int]) -> list[int]:
        return await self._change(ids, JobState.QUEUED, only_from={JobState.PAUSED})

    async def resume_all(self) -> list[int]:
        changed = await self.store.change_all(JobState.QUEUED, only_from={JobState.PAUSED})
        self._changed()
        return changed

    async def retry(self, ids: Sequence[int]) -> list[int]:
        return await self._change(ids, JobState.QUEUED, only_from={JobState.FAILED}, reset=True)

    async def retry_failed(self) -> list[int]:
        changed = await self.store.change_all(
            JobState.QUEUED, only_from={JobState.FAILED}, reset_attempts=True
        )
        self._changed()
        return changed

    async def _change(
        self,
        ids: Sequence[int],
        target: JobState,
        *,
        only_from: set[JobState] | None = None,
        reset: bool = False,
    ) -> list[int]:
        if only_from is not None:
            # "resume" must not un-fail a job and "retry" must not un-pause one:
            # each command owns its source state
            states = await self.store.states(ids)
            for job_id in ids:
                state = states.get(job_id)
                if state is not None and state != target and state not in only_from:
                    hint = {
                        JobState.FAILED: f"; use `drayman retry {job_id}`",
                        JobState.PAUSED: f"; use `drayman resume {job_id}`",
                    }.get(state, "")
                    raise BadInput(f"job {job_id} is {state.value}{hint}")
        changed = await self.store.change_state(ids, target, reset_attempts=reset)
        self._changed()
        return changed

    async def remove(self, ids: Sequence[int], *, delete_files: bool = False) -> list[Job]:
        """Delete the jobs, all or none; with ``delete_files`` their files too."""
        removed = await self.store.remove(ids)
        self._changed()
        for job in removed:
            for path in _files_of(job, delete_files):
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread(_unlink_regular, path)
        return removed


def _files_of(job: Job, delete_files: bool) -> list[str]:
    """The partial and, once done, the final file: only when asked (DESIGN.md)."""
    if not delete_files or job.final_path is None or job.part_path is None:
        return []
    if job.state == JobState.DONE:
        return [job.final_path]
    return [job.part_path]


def _unlink_regular(path: str) -> None:
    """Remove a file we created; never follow or remove anything else."""
    if os.path.isfile(path) and not os.path.islink(path):
        os.unlink(path)
