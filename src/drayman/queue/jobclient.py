"""A job's side of HTTP: its requests (headers per hop, cookies, proxy, TLS choice,
redirects) and its limits (speed, size). Shared by every connection of a transfer."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import aiohttp

from drayman.errors import TooLarge
from drayman.queue.cookiejar import JobCookies
from drayman.queue.landing import Landing
from drayman.queue.proxyroutes import ProxyRoutes, Route
from drayman.queue.pump import SpeedProbe, can_pump
from drayman.queue.ratelimit import TokenBucket
from drayman.queue.redirects import get_following_redirects
from drayman.queue.session import download_timeout, head_timeout
from drayman.queue.transferconfig import MiB
from drayman.rules import Rule, hop_headers, insecure_for, size_cap
from drayman.units import human_size
from drayman.urls import host_of


class JobClient:
    """Requests for the job ``landing`` holds (its row as last read), within its limits."""

    def __init__(
        self,
        landing: Landing,
        session: aiohttp.ClientSession,
        *,
        limiter: TokenBucket | None = None,
        rules: Sequence[Rule] = (),
        clock: Callable[[], float] = time.time,
        routes: ProxyRoutes | None = None,
    ) -> None:
        self.landing = landing
        self.config = landing.config
        self.session = session
        self.rules = rules
        #: which proxy each request goes through (None: always straight)
        self.routes = routes
        self.limiter = limiter
        #: this job's own limit (rate 0 = none), changeable while it runs
        self.job_limiter = TokenBucket(landing.job.max_speed or 0)
        self.clock = clock
        #: the job's cookies, read from the database before the first request
        self.cookies: JobCookies | None = None

    # -- requests --------------------------------------------------------------------

    async def request(self, extra: dict[str, str]) -> aiohttp.ClientResponse:
        """GET the job's URL. Redirects are re-followed from the job's URL on
        every resume, so an expired signed link is fetched afresh."""
        job, extra_headers, store = self.landing.job, list(extra.items()), self.landing.store
        if self.cookies is None:
            self.cookies = JobCookies(await store.cookies(job.id))
        response = await get_following_redirects(
            self.session,
            job.url,
            # the job's headers were given for its URL: credentials go to its origin only
            headers_for=lambda url: hop_headers(
                url, job.headers, job.url, self.rules, extra_headers
            ),
            max_redirects=self.config.max_redirects,
            allow_insecure=self.config.allow_insecure_redirects,
            client_timeout=download_timeout(self.config),
            verify_for=self._verify_tls,
            head_timeout=head_timeout(self.config),
            cookies=self.cookies,
            route_for=self._route,
        )
        await self._save_cookies()
        return response

    async def _save_cookies(self) -> None:
        """Store the cookies the answers set, before their body is read: a
        resume after a crash or a restart asks with them."""
        cookies = self.cookies
        text = None if cookies is None else cookies.unsaved()
        if cookies is None or text is None:
            return
        await self.landing.store.save_cookies(self.landing.job.id, text)
        cookies.saved(text)

    def _route(self, url: str) -> Route:
        """How a request to ``url`` goes: the job's proxy, a rule's, the run's or none."""
        if self.routes is None:
            return Route(self.session)
        return self.routes.route(url, job_proxy=self.landing.job.proxy, rules=self.rules)

    def _verify_tls(self, url: str) -> bool:
        """Check this hop's certificate, unless the user opted out for its host:
        a job's --insecure covers the job URL's host, a rule's the hosts it matches."""
        job = self.landing.job
        if not job.insecure and not self.rules:
            return True  # nothing opted out (no URL to parse)
        host = host_of(url)
        if job.insecure and host == host_of(job.url):
            return False
        return not insecure_for(self.rules, host)

    # -- limits ------------------------------------------------------------------------

    def limited(self) -> bool:
        return bool((self.limiter is not None and self.limiter.rate) or self.job_limiter.rate)

    def may_pump(self, response: aiohttp.ClientResponse, left: int | None) -> bool:
        """Whether a :class:`.Pump` thread may move the rest of this answer (no limit set)."""
        return not self.limited() and can_pump(response, left, self.config.pump_min_size)

    def speed_probe(self, response: aiohttp.ClientResponse, left: int | None) -> SpeedProbe | None:
        """A probe of whether this answer's rest should go to a pump, if it may at all."""
        if not self.may_pump(response, left):
            return None
        return SpeedProbe(self.config.pump_min_speed, min(self.config.pump_min_size, MiB))

    async def throttle(self, amount: int) -> None:
        """Wait as the total and this job's speed limits say."""
        if self.limiter is not None:
            await self.limiter.consume(amount)
        if self.job_limiter.rate:
            await self.job_limiter.consume(amount)

    def speed_limit(self) -> int:
        """The tighter of the job's limit and its share of the global one (0 = none)."""
        rates = [self.job_limiter.rate, self.limiter.share if self.limiter else 0]
        return min((rate for rate in rates if rate), default=0)

    def size_cap(self) -> int | None:
        """The tightest size cap on this job: its own, the run's, its host rules'."""
        job = self.landing.job
        caps = [job.max_filesize, self.config.max_filesize, size_cap(self.rules, job.host)]
        return min((cap for cap in caps if cap), default=None)

    def check_size(self, size: int | None, *, streamed: bool = False) -> None:
        """Raise :class:`TooLarge` if ``size`` bytes are more than the cap allows."""
        cap = self.size_cap()
        if size is None or cap is None or size <= cap:
            return
        shown = f"over {human_size(cap)} without a length" if streamed else human_size(size)
        raise TooLarge(limit=human_size(cap), size=shown)
