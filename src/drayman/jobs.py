"""Job states, their allowed transitions, and the job record.

This is the one place that says which state may follow which; the storage
layer derives its guarded UPDATEs from :data:`TRANSITIONS`, and every state
change in drayman goes through :func:`check_transition`.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Any

from drayman.errors import IllegalTransition


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"


Q, R, P, D, F = JobState.QUEUED, JobState.RUNNING, JobState.PAUSED, JobState.DONE, JobState.FAILED

#: state -> states it may become. See DESIGN.md, "Job states".
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    # the engine claims it; the user pauses it
    Q: frozenset({R, P}),
    # finished; transient failure (back to the queue with a backoff) or
    # shutdown; permanent failure; the user pauses it
    R: frozenset({D, Q, F, P}),
    # the user resumes it. paused -> done: the last byte and the rename were
    # already through when a pause arrived; completion overtakes the pause
    # rather than leaving a finished file behind a "paused" row.
    P: frozenset({Q, D}),
    # the user retries it
    F: frozenset({Q}),
    D: frozenset(),
}

#: states a job may be in for the engine to be working on it
ACTIVE_STATES = frozenset({R})


def can_transition(current: JobState, target: JobState) -> bool:
    return target in TRANSITIONS[current]


def check_transition(job_id: int, current: JobState, target: JobState) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed."""
    if not can_transition(current, target):
        raise IllegalTransition(job_id=job_id, current=current.value, target=target.value)


def sources_of(target: JobState) -> frozenset[JobState]:
    """The states from which a job may become ``target``."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True, slots=True)
class Job:
    """A snapshot of one row of the job table."""

    id: int
    url: str
    host: str
    original_url: str
    effective_url: str | None
    dest_dir: str
    requested_name: str | None
    file_name: str | None
    state: JobState
    bytes_done: int
    bytes_total: int | None
    etag: str | None
    last_modified: str | None
    headers: tuple[tuple[str, str], ...]
    sha256: str | None
    attempts: int
    next_attempt_at: float | None
    error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    priority: int
    position: int
    title: str | None = None
    author: str | None = None
    thumbnail_url: str | None = None
    #: the file-name part of a name template, {ext} still open (drayman.templates)
    name_template: str | None = None
    #: this job's own speed limit in bytes/s (None: only the global one)
    max_speed: int | None = None
    #: TLS certificates of the job URL's host are not checked (an explicit opt-in)
    insecure: bool = False
    #: the folder the user chose; dest_dir may be a template's subfolder of it
    base_dir: str | None = None
    #: which file the .part is, and a digest of its bytes just before bytes_done
    part_identity: str | None = None
    part_tail: str | None = None
    #: this job's proxy (a URL, or drayman.proxies.DIRECT for none; None: the run's choice)
    proxy: str | None = None
    #: a larger file fails the job, its partial file removed (None: no cap of its own)
    max_filesize: int | None = None
    #: the page the media URL was resolved from (drayman.pages), to resolve again
    page_url: str | None = None
    #: added without a folder or a template: its file goes to its category's
    #: subfolder of base_dir once its name is known (drayman.categories)
    sort_by_type: bool = False
    #: the job goes on whatever the schedule says (drayman add --ignore-schedule)
    ignore_schedule: bool = False
    #: connections for this job's file (None: the engine's --split)
    split: int | None = None

    @property
    def final_path(self) -> str | None:
        """Absolute path of the finished file, once its name is fixed."""
        if self.file_name is None:
            return None
        return os.path.join(self.dest_dir, self.file_name)

    @property
    def chosen_dir(self) -> str:
        """The folder the user chose: nothing below it is reached through a link."""
        return self.base_dir or self.dest_dir

    @property
    def part_path(self) -> str | None:
        """Where the bytes go while downloading."""
        final = self.final_path
        return None if final is None else final + PART_SUFFIX

    @property
    def display_name(self) -> str:
        from drayman.names import filename_from_url
        from drayman.urls import redact_url

        return (
            self.file_name
            or self.requested_name
            or self.title
            or filename_from_url(self.url)
            or redact_url(self.url)
        )

    def to_public_dict(self) -> dict[str, Any]:
        """The fields of ``drayman ls --json``. Header values and URL passwords never appear."""
        from drayman.urls import redact_password

        return {
            "id": self.id,
            "url": redact_password(self.url),
            "original_url": redact_password(self.original_url),
            "state": self.state.value,
            "path": self.final_path,
            "name": self.file_name,
            "dest_dir": self.dest_dir,
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "attempts": self.attempts,
            "error": self.error,
            "next_attempt_at": self.next_attempt_at,
            "sha256": self.sha256,
            "header_names": [name for name, _ in self.headers],
            "priority": self.priority,
            "title": self.title,
            "author": self.author,
            "thumbnail": self.thumbnail_url,
            "page_url": redact_password(self.page_url) if self.page_url else None,
            "max_speed": self.max_speed,
            "insecure": self.insecure,
            "proxy": None if self.proxy is None else redact_password(self.proxy),
            "max_filesize": self.max_filesize,
            "ignore_schedule": self.ignore_schedule,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
        }


#: suffix of the partial file next to the final name
PART_SUFFIX = ".part"


@dataclass(frozen=True, slots=True)
class NewJob:
    """What ``add`` needs to create a job; validated before it reaches storage."""

    url: str
    dest_dir: str
    requested_name: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    sha256: str | None = None
    priority: int = 0
    title: str | None = None
    author: str | None = None
    thumbnail_url: str | None = None
    name_template: str | None = None
    insecure: bool = False
    #: the folder the user chose (dest_dir is inside it); None: dest_dir itself
    base_dir: str | None = None
    #: the job's first cookies (drayman.cookies JSON), stored apart from the job row
    cookies: str | None = None
    #: the job's proxy (a URL, or drayman.proxies.DIRECT for none; None: the run's choice)
    proxy: str | None = None
    #: a larger file fails the job (None: no cap of its own)
    max_filesize: int | None = None
    #: the page the URL was resolved from (drayman.pages)
    page_url: str | None = None
    #: sorted into its category's subfolder of base_dir once its name is known
    sort_by_type: bool = False
    #: the job goes on whatever the schedule says
    ignore_schedule: bool = False
    #: connections for this job's file (None: the engine's --split)
    split: int | None = None
    #: added paused (in the same transaction: no engine can start it first)
    paused: bool = False
    #: the job's own speed limit, bytes/s (None: none of its own)
    max_speed: int | None = None
