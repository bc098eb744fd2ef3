"""The commands: add, pause, resume, retry, remove, list.

Every command is a write to the job table, whoever gives it: the CLI, the
window, a test. A running engine sees the change at once when it shares this
object (in-process listeners) and within about a second otherwise (it polls
SQLite's data_version).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from drayman.batch import Entry
from drayman.categories import ENABLED_SETTING, TABLE_SETTING, Categories, check_table, dumps
from drayman.cookies import StoredCookie
from drayman.cookies import dumps as dump_cookies
from drayman.errors import BadInput, FolderEscape, UnknownJob
from drayman.inputs import (
    default_download_dir,
    parse_headers,
    validate_folder,
    validate_name,
    validate_sha256,
)
from drayman.jobs import Job, JobState, NewJob
from drayman.names import EXT_MARK, filename_from_url, finish_name, guess_extension, pick_filename
from drayman.proxies import DIRECT, validate_proxy
from drayman.queue.folder import JobFolder
from drayman.queue.sorting import stored_categories
from drayman.rules import Rule, first_setting, validate_pattern
from drayman.schedules import Band, parse_band
from drayman.storage import JobStore
from drayman.templates import check_template, split_template
from drayman.urls import has_userinfo, host_of, validate_url

log = logging.getLogger(__name__)

Listener = Callable[[], None]

#: the settings key of the global speed limit
SPEED_SETTING = "max_speed"
#: entries planned between two yields to the event loop
PLAN_SLICE = 250
#: how a preview shows an extension that only the server's answer will tell
UNKNOWN_EXT = "{ext}"
#: stands for that extension while a name is sanitized (a private-use character)
_OPEN_EXT = "\ue001"


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

    @property
    def db_path(self) -> str:
        """The database file (the window's About box names it)."""
        return str(self.store.path)

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

    def job_batches(
        self, state: JobState | None = None, *, batch: int = 1000
    ) -> AsyncIterator[list[Job]]:
        """:meth:`jobs` a batch at a time (a listing that never holds the whole table)."""
        return self.store.job_batches(state, batch=batch)

    async def get(self, job_id: int) -> Job:
        return await self.store.get(job_id)

    async def counts(self) -> dict[JobState, int]:
        return await self.store.count_by_state()

    async def count(self) -> int:
        """How many jobs the table holds, in every state."""
        return await self.store.count()

    async def first_jobs(self, limit: int) -> list[Job]:
        """The first ``limit`` jobs in queue order (a window paints these first)."""
        return await self.store.first_jobs(limit)

    async def jobs_updated_since(self, since: float) -> list[Job]:
        """Jobs changed at or after ``since`` (seconds since the epoch)."""
        return await self.store.jobs_updated_since(since)

    async def has_work(self) -> bool:
        """Is any job queued or running? (An index lookup.)"""
        return await self.store.has_work()

    async def data_version(self) -> int:
        """A number that changes whenever another connection (another process) commits."""
        return await self.store.data_version()

    async def find(self, job_id: int) -> Job | None:
        """The job, or None if there is none with this id."""
        return await self.store.find(job_id)

    async def ids(self, states: Iterable[JobState] = tuple(JobState)) -> list[int]:
        """The ids of the jobs in ``states`` (every state by default), in queue order."""
        return await self.store.ids_in(states)

    async def waiting(self, limit: int | None = None, offset: int = 0) -> list[Job]:
        """Queued and paused jobs in the order they will start, a page of them."""
        return await self.store.waiting(limit, offset)

    async def latest_stopped(self, limit: int) -> list[Job]:
        """The ``limit`` most recently done or failed jobs, the least recent first."""
        return await self.store.latest_stopped(limit)

    # -- commands ------------------------------------------------------------------

    async def add(
        self,
        urls: Sequence[str],
        *,
        dest_dir: str | os.PathLike[str] | None = None,
        name: str | None = None,
        headers: Iterable[str | tuple[str, str]] = (),
        sha256: str | None = None,
        priority: int = 0,
        template: str | None = None,
        insecure: bool = False,
        cookies: Sequence[StoredCookie] = (),
        proxy: str | None = None,
        max_filesize: int | None = None,
        sort_by_type: bool | None = None,
        ignore_schedule: bool = False,
        split: int | None = None,
        paused: bool = False,
        max_speed: int | None = None,
        at: int | None = None,
    ) -> list[int]:
        """Validate everything, then add every URL in one transaction.

        ``insecure`` skips TLS certificate checks for the jobs' own hosts
        (``drayman add --insecure``): an explicit choice, never a default.
        ``cookies`` (from :func:`drayman.cookies.read_cookies_file`) start
        each job's cookie jar; each goes only to the hosts it was set for.
        ``proxy`` is the jobs' own proxy URL, or :data:`~drayman.proxies.DIRECT`
        for none whatever the run says (``drayman add --proxy/--no-proxy``).
        ``max_filesize`` (bytes) fails a job whose file is larger.
        ``sort_by_type`` (see :meth:`plan`) files them by type below ``dest_dir``.
        ``ignore_schedule`` lets the jobs go on through the schedule's bands.
        ``split`` is the jobs' own connections per file (None: the engine's).
        ``paused`` adds them paused, in the same transaction (no engine starts one first).
        ``max_speed`` (bytes/s; 0 or None: none) is each job's own speed limit, and
        ``at`` the index in the waiting queue they go to (aria2's position): both
        in the same transaction too, so no engine starts one unlimited or out of turn.

        Raises a :class:`BadInput` subclass and adds nothing if any part is bad.
        """
        if not urls:
            raise BadInput("no URL given")
        if name is not None and len(urls) > 1:
            raise BadInput("a file name (-o) can only be given for a single URL")
        if sha256 is not None and len(urls) > 1:
            raise BadInput("a checksum (--sha256) can only be given for a single URL")
        entries = [
            Entry(
                url=validate_url(url),
                where=f"URL {n}",
                name=None if name is None else validate_name(name),
                sha256=None if sha256 is None else validate_sha256(sha256),
            )
            for n, url in enumerate(urls, start=1)
        ]
        return await self.add_entries(
            entries,
            dest_dir=dest_dir,
            headers=headers,
            priority=priority,
            template=template,
            insecure=insecure,
            cookies=cookies,
            proxy=proxy,
            max_filesize=max_filesize,
            sort_by_type=sort_by_type,
            ignore_schedule=ignore_schedule,
            split=split,
            paused=paused,
            max_speed=max_speed,
            at=at,
        )

    async def add_entries(
        self,
        entries: Sequence[Entry],
        *,
        dest_dir: str | os.PathLike[str] | None = None,
        headers: Iterable[str | tuple[str, str]] = (),
        priority: int = 0,
        template: str | None = None,
        insecure: bool = False,
        numbers: Sequence[int] | None = None,
        cookies: Sequence[StoredCookie] = (),
        proxy: str | None = None,
        max_filesize: int | None = None,
        sort_by_type: bool | None = None,
        ignore_schedule: bool = False,
        split: int | None = None,
        paused: bool = False,
        max_speed: int | None = None,
        at: int | None = None,
    ) -> list[int]:
        """Add already-validated entries (see :mod:`drayman.batch`) in one transaction.

        See :meth:`plan` for how folders, names and headers are chosen, and
        :meth:`add` for ``cookies``, ``proxy``, ``split``, ``paused``,
        ``max_speed`` and ``at``.
        """
        checked = _checked_proxy(proxy)
        if split is not None and split < 1:
            raise BadInput("connections per file must be at least 1")
        if max_speed is not None and max_speed < 0:
            raise BadInput("a speed limit cannot be negative")
        if at is not None and at < 0:
            raise BadInput("a place in the queue must be 0 or more")
        new = await self.plan(
            entries,
            dest_dir=dest_dir,
            headers=headers,
            priority=priority,
            template=template,
            insecure=insecure,
            numbers=numbers,
            max_filesize=max_filesize,
            sort_by_type=sort_by_type,
        )
        if cookies:
            jar = dump_cookies(cookies)
            new = [dataclasses.replace(job, cookies=jar) for job in new]
        if checked is not None:
            new = [dataclasses.replace(job, proxy=checked) for job in new]
        if ignore_schedule:
            new = [dataclasses.replace(job, ignore_schedule=True) for job in new]
        if split is not None:
            new = [dataclasses.replace(job, split=split) for job in new]
        if paused:
            new = [dataclasses.replace(job, paused=True) for job in new]
        if max_speed:
            new = [dataclasses.replace(job, max_speed=max_speed) for job in new]
        ids = await self.store.add(new, at=at)
        self._changed()
        return ids

    async def plan(
        self,
        entries: Sequence[Entry],
        *,
        dest_dir: str | os.PathLike[str] | None = None,
        headers: Iterable[str | tuple[str, str]] = (),
        priority: int = 0,
        template: str | None = None,
        insecure: bool = False,
        numbers: Sequence[int] | None = None,
        max_filesize: int | None = None,
        sort_by_type: bool | None = None,
    ) -> list[NewJob]:
        """The jobs ``add_entries`` would add, without adding them (an import's preview).

        ``headers`` apply to every entry; an entry's own headers win over
        them. ``template`` (``{author}/{title}.{ext}``) names files and
        subfolders; it is checked before anything is added. Without a folder
        or a template, a matching per-host rule's are used (else Downloads).
        ``numbers`` are the entries' ``{index}`` values (default 1, 2, ...):
        a preview that adds some of its entries keeps each one's number.

        A job added without a folder (none given, none from a rule) and
        without a template or an entry's own folder is sorted by file type
        (:mod:`drayman.categories`) when its name is known; ``sort_by_type``
        True sorts below a given folder too (the window's default folder),
        False never sorts.
        """
        if template is not None:
            check_template(template)
        if max_filesize is not None and max_filesize < 1:
            raise BadInput("a size limit must be at least 1 byte")
        if numbers is not None and len(numbers) != len(entries):
            raise ValueError("one number per entry")
        # a stat: off the loop, which is the window's thread in the GUI
        given = None if dest_dir is None else await asyncio.to_thread(validate_folder, dest_dir)
        rules = await self.store.rules()
        common = parse_headers(headers)
        today = time.strftime("%Y-%m-%d")
        new = []
        for position, entry in enumerate(entries):
            if position and not position % PLAN_SLICE:
                # a preview of thousands of entries plans on the window's
                # thread: let it paint between slices
                await asyncio.sleep(0)
            if numbers is not None:
                index = numbers[position]
            else:  # a resolved page's item keeps its place in its playlist
                index = entry.index if entry.index is not None else position + 1
            own = {n.lower() for n, _ in entry.headers}
            merged = tuple(h for h in common if h[0].lower() not in own) + entry.headers
            if has_userinfo(entry.url) and any(n.lower() == "authorization" for n, _ in merged):
                # the HTTP client cannot send both; guessing which one was meant is worse
                raise BadInput(
                    f"{entry.where}: the URL has credentials (user:password@) and an "
                    "Authorization header is given too; give only one"
                )
            host = host_of(entry.url)
            ruled_dir = first_setting(rules, host, "dest_dir")
            base = given or ruled_dir or default_download_dir()
            entry_template = template or first_setting(rules, host, "template")
            own_folder = given is not None or ruled_dir is not None
            sort = (not own_folder if sort_by_type is None else sort_by_type) and not (
                entry_template is not None or entry.folder
            )
            folders, name_template = list(entry.folder), None
            if entry_template is not None:
                url_name = filename_from_url(entry.url) or ""
                stem = os.path.splitext(url_name)[0]
                values = {
                    "title": entry.title or entry.name or stem or "untitled",
                    # empty: a folder level made of it is left out
                    "author": entry.author or "",
                    "name": os.path.splitext(entry.name or url_name)[0] or "download",
                    "host": host,
                    "date": today,
                    "index": str(index),
                    "playlist": entry.playlist or "",
                }
                subfolders, name_template = split_template(entry_template, values)
                folders += subfolders
            new.append(
                NewJob(
                    url=entry.url,
                    dest_dir=os.path.join(base, *folders),
                    requested_name=entry.name if entry_template is None else None,
                    headers=merged,
                    sha256=entry.sha256,
                    priority=priority,
                    title=entry.title,
                    author=entry.author,
                    thumbnail_url=entry.thumbnail,
                    name_template=name_template,
                    insecure=insecure,
                    base_dir=base,
                    max_filesize=max_filesize,
                    page_url=entry.page_url,
                    sort_by_type=sort,
                )
            )
        return new

    async def urls_in_queue(self, urls: Iterable[str]) -> set[str]:
        """Which of ``urls`` a job already downloads (the import's duplicate marker)."""
        return await self.store.urls_in_queue(urls)

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

    async def set_speed_limit(self, rate: int) -> None:
        """The global limit in bytes/s (0 = none); a running engine applies it live."""
        await self.store.set_setting(SPEED_SETTING, str(max(int(rate), 0)))
        self._changed()

    async def speed_limit(self) -> int | None:
        """The global limit stored in the database, if one was ever set."""
        value = await self.store.get_setting(SPEED_SETTING)
        return None if value is None else int(value)

    async def set_job_speed_limit(self, ids: Sequence[int], rate: int | None) -> None:
        """Per-job limits (0 or None = none of its own); unknown ids raise."""
        states = await self.store.states(ids)
        for job_id in ids:
            if job_id not in states:
                raise UnknownJob(job_id=job_id)
        await self.store.set_job_speed(ids, rate or None)
        self._changed()

    async def prioritize(self, ids: Sequence[int], delta: int) -> None:
        """Move jobs up (delta > 0) or down the queue; unknown ids raise."""
        states = await self.store.states(ids)
        for job_id in ids:
            if job_id not in states:
                raise UnknownJob(job_id=job_id)
        await self.store.bump_priority(ids, delta)
        self._changed()

    async def put_in_order(self, ids: Sequence[int]) -> None:
        """Make the waiting jobs ``ids`` start in this order (aria2's changePosition).

        They get priorities len(ids)..1, so they also go before any job of
        priority 0 (a new one) not listed."""
        await self.store.put_in_order(ids)
        self._changed()

    async def remove(self, ids: Sequence[int], *, delete_files: bool = False) -> list[Job]:
        """Delete the jobs, all or none; with ``delete_files`` their files too."""
        removed = await self.store.remove(ids)
        self._changed()
        for job in removed:
            for path in _files_of(job, delete_files):
                await asyncio.to_thread(_unlink_regular, job, path)
        return removed

    # -- per-host rules ----------------------------------------------------------

    async def add_rule(
        self,
        pattern: str,
        *,
        headers: Iterable[str | tuple[str, str]] = (),
        dest_dir: str | os.PathLike[str] | None = None,
        template: str | None = None,
        max_connections: int | None = None,
        insecure: bool = False,
        proxy: str | None = None,
        max_filesize: int | None = None,
    ) -> int:
        """Add (or replace) the rule for ``pattern``; everything is checked first.

        ``insecure`` skips TLS certificate checks for the hosts it matches;
        ``proxy`` (a URL, or :data:`~drayman.proxies.DIRECT`) is their proxy;
        ``max_filesize`` (bytes) fails their jobs whose file is larger."""
        checked = _checked_proxy(proxy)
        if template is not None:
            check_template(template)
        if max_connections is not None and max_connections < 1:
            raise BadInput("a connection limit must be at least 1")
        if max_filesize is not None and max_filesize < 1:
            raise BadInput("a size limit must be at least 1 byte")
        rule_id = await self.store.add_rule(
            validate_pattern(pattern),
            headers=parse_headers(headers),
            dest_dir=None if dest_dir is None else validate_folder(dest_dir),
            template=template,
            max_connections=max_connections,
            insecure=insecure,
            proxy=checked,
            max_filesize=max_filesize,
        )
        self._changed()
        return rule_id

    async def rules(self) -> list[Rule]:
        return await self.store.rules()

    async def remove_rule(self, id_or_pattern: str) -> None:
        if not await self.store.remove_rule(id_or_pattern.strip()):
            raise BadInput(f"no rule {id_or_pattern!r}")
        self._changed()

    # -- folders by file type ------------------------------------------------------

    async def categories(self) -> Categories:
        """The stored switch and table (the defaults until changed)."""
        return await stored_categories(self.store)

    async def set_categories(self, categories: Categories) -> None:
        """Store the switch and the table (checked first: nothing changes if bad).

        Jobs named from then on follow it; files already named stay where they are.
        """
        table = check_table(categories.table)
        await self.store.set_settings(
            {ENABLED_SETTING: "1" if categories.enabled else "0", TABLE_SETTING: dumps(table)}
        )
        self._changed()

    # -- schedules -----------------------------------------------------------------

    async def add_schedule(self, spec: str, *, rate: int | None = None) -> int:
        """Add a band (``'mon-fri 09:00-18:00'``): a pause, or a limit of ``rate`` bytes/s.

        Raises :class:`~drayman.schedules.InvalidSchedule` for a bad band."""
        schedule_id = await self.store.add_schedule(parse_band(spec, rate=rate))
        self._changed()
        return schedule_id

    async def schedules(self) -> list[Band]:
        return await self.store.schedules()

    async def remove_schedule(self, schedule_id: int) -> None:
        if not await self.store.remove_schedule(schedule_id):
            raise BadInput(f"no schedule {schedule_id}")
        self._changed()


def _checked_proxy(proxy: str | None) -> str | None:
    """A job's or a rule's proxy as stored: a validated URL, DIRECT, or None."""
    if proxy is None or proxy == DIRECT:
        return proxy
    return validate_proxy(proxy)


def _files_of(job: Job, delete_files: bool) -> list[str]:
    """The partial and, once done, the final file: only when asked (DESIGN.md)."""
    if not delete_files or job.final_path is None or job.part_path is None:
        return []
    if job.state == JobState.DONE:
        return [job.final_path]
    return [job.part_path]


def _unlink_regular(job: Job, path: str) -> None:
    """Remove a file we created; never follow a link or remove anything else.

    The folder is reached as the engine reaches it (no link below the chosen
    folder), so a template's subfolder swapped for a link cannot make us
    delete a file of the same name somewhere else.
    """
    try:
        folder = JobFolder.open(job.chosen_dir, job.dest_dir, create=False)
    except FileNotFoundError:
        return
    except (OSError, FolderEscape) as exc:
        log.warning("job %d: not deleting %s: %s", job.id, path, exc)
        return
    try:
        folder.remove_file(os.path.basename(path))
    finally:
        folder.close()


def _name_pattern(job: NewJob) -> tuple[str, str | None]:
    """A new job's file name before the server answers: ``(name, None)`` when
    known, else ``(before, after)`` around an extension still to come."""
    template = job.name_template
    open_ext = (
        template is not None
        and not job.requested_name
        and EXT_MARK in template
        and not guess_extension(content_disposition=None, url=job.url, content_type=None)
    )
    if open_ext:
        assert template is not None
        before, _, after = finish_name(template, _OPEN_EXT).partition(_OPEN_EXT)
        return before, after
    name = pick_filename(
        requested=job.requested_name,
        content_disposition=None,
        url=job.url,
        template=template,
    )
    return name, None


def expected_name(job: NewJob) -> str:
    """A new job's file name as far as it is known before the server answers.

    An extension the URL does not give (``{ext}`` from the Content-Type, say)
    shows as ``{ext}``.
    """
    before, after = _name_pattern(job)
    return before if after is None else before + UNKNOWN_EXT + after


async def files_on_disk(jobs: Sequence[NewJob]) -> list[bool]:
    """Whether each new job's file already exists (its download would be named ``… (1)``).

    A name whose extension is still open matches any extension. The folders
    are read in a worker thread: this is called from the window.
    """
    patterns = [(job.dest_dir, *_name_pattern(job)) for job in jobs]
    return await asyncio.to_thread(_match_on_disk, patterns)


def _match_on_disk(patterns: Sequence[tuple[str, str, str | None]]) -> list[bool]:
    listings: dict[str, set[str]] = {}
    found = []
    for folder, before, after in patterns:
        names = listings.get(folder)
        if names is None:
            try:
                names = {os.path.normcase(n) for n in os.listdir(folder)}
            except OSError:  # no folder yet, or not readable: nothing there to clash with
                names = set()
            listings[folder] = names
        before = os.path.normcase(before)
        if after is None:
            found.append(before in names)
        else:
            after = os.path.normcase(after)
            found.append(
                any(
                    n.startswith(before) and n.endswith(after) and len(n) > len(before + after)
                    for n in names
                )
            )
    return found
