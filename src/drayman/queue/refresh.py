"""Expired links: a job resolved from a page gets a fresh media URL from that page.

Signed media links (a token and an expiry in the URL) stop working after a
while: the server answers 403 or 410. A job that remembers its page
(``add --resolve``, the import window's page field) then has the page
resolved again, takes the item's new URL and headers, and goes back to the
queue. The bytes on disk are kept only if the file behind the new link is
provably the same: the resume goes through ``Range`` + ``If-Range`` with the
job's validators and checks the 206's total, as every resume does; a changed
file answers 200 and the download starts again from byte 0. Never a splice.

Rate-limited: one page is resolved at a time, and a job's page at most
:data:`MAX_REFRESHES` times per engine run (after the first, with the retry
policy's backoff).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from drayman.errors import DraymanError
from drayman.jobs import Job
from drayman.pages import PageEntry, Resolved
from drayman.storage import JobStore

log = logging.getLogger(__name__)

MAX_REFRESHES = 3

#: resolves pages through a proxy (a URL; "" none; None the environment's)
Resolver = Callable[[Sequence[str], str | None], Awaitable[Resolved]]
#: what a job's page is read through, as :data:`Resolver` takes it
PageProxy = Callable[[Job], str | None]


def _default_resolver(urls: Sequence[str], proxy: str | None) -> Awaitable[Resolved]:
    from drayman.resolver import resolve

    return resolve(urls, proxy=proxy)


def _same_item(job: Job, entries: Sequence[PageEntry]) -> PageEntry | None:
    """The page's entry for this job: the only one, else the one of its title."""
    if len(entries) == 1:
        return entries[0]
    titled = [e for e in entries if job.title is not None and e.title == job.title]
    return titled[0] if len(titled) == 1 else None


class LinkRefresher:
    """Fresh links for expired ones, from each job's page."""

    def __init__(
        self,
        store: JobStore,
        *,
        resolve: Resolver = _default_resolver,
        page_proxy: PageProxy = lambda _job: None,
        max_refreshes: int = MAX_REFRESHES,
    ) -> None:
        """``page_proxy``: what a job's page is read through (may raise
        :class:`.ProxyLost`: then it is not read at all)."""
        self._store = store
        self._resolve = resolve
        self._page_proxy = page_proxy
        self.max_refreshes = max_refreshes
        self._counts: dict[int, int] = {}
        self._one_at_a_time = asyncio.Lock()

    def count(self, job_id: int) -> int:
        """How many times this job's page was resolved again in this run."""
        return self._counts.get(job_id, 0)

    async def refresh(self, job: Job) -> str | None:
        """Store a fresh link for ``job``: None when done, else why not (one line)."""
        if job.page_url is None:
            return "it has no page to get a fresh link from"
        done = self._counts.get(job.id, 0)
        if done >= self.max_refreshes:
            return f"its page was resolved again {done} times and the link still fails"
        self._counts[job.id] = done + 1
        async with self._one_at_a_time:
            try:
                resolved = await self._resolve([job.page_url], self._page_proxy(job))
            except DraymanError as exc:
                return f"resolving its page again failed: {exc}"
        entry = _same_item(job, resolved.entries)
        if entry is None:
            if resolved.failed_pages:
                return f"resolving its page again failed: {resolved.failed_pages[0]}"
            return "its page no longer lists this item"
        if entry.url == job.url:
            return "its page gives the same link again"
        own = {name.lower() for name, _ in entry.headers}
        headers = [h for h in job.headers if h[0].lower() not in own] + list(entry.headers)
        if not await self._store.set_link(job.id, entry.url, headers):
            return "the job changed meanwhile"
        log.info("job %d: a fresh link from its page", job.id)
        return None
