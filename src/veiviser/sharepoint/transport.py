"""The HTTP layer under the client: retry, pacing, counting, User-Agent.

Retries live here, in a ``requests.Session`` handed to ``ClientContext.with_transport``, and not
around ``execute_query``: the client pops a query before sending it, so a retry wrapped around
``execute_query`` silently loses the throttled query. At this level the client never sees the
failed attempts (docs/sharepoint.md, "Retries in the transport").

Policy (docs/sharepoint.md, "Throttling" and "Retries in the transport"), built on :mod:`tenacity`:

* 429 and 503 are retried for every request (SharePoint has not processed them);
* 408/500/502/504 and connection errors only for idempotent requests (GET, MERGE, DELETE,
  contextinfo) — a create may already have been applied;
* the wait is the larger of ``Retry-After`` (seconds or HTTP-date) and ``RateLimit-Reset``, never
  less; without either, exponential backoff with jitter;
* capped by attempts and by total waiting time; when throttling outlasts the cap the request fails
  with :class:`~veiviser.sharepoint.errors.ThrottledError`.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity

from veiviser.sharepoint.costs import request_ru
from veiviser.sharepoint.errors import ThrottledError, TransportError

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "MERGE", "PATCH"})
ALWAYS_RETRY = frozenset({429, 503})
IDEMPOTENT_RETRY = frozenset({408, 500, 502, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); ``None`` if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    # HTTP-dates have whole-second resolution: round up so we are never early.
    return max(0.0, math.ceil((when - now).total_seconds()))


def retry_delay(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The larger of ``Retry-After`` and ``RateLimit-Reset`` (seconds), or ``None`` if neither is given.

    Header names match case-insensitively: ``$batch`` sub-responses come with lower-case keys.
    """
    lowered = {str(k).lower(): v for k, v in headers.items()}
    values = [
        parse_retry_after(lowered.get("retry-after"), now=now),
        parse_retry_after(lowered.get("ratelimit-reset"), now=now),
    ]
    present = [v for v in values if v is not None]
    return max(present) if present else None


def effective_method(method: str, headers: Mapping[str, str]) -> str:
    """The verb SharePoint applies: ``X-HTTP-Method`` overrides a POST."""
    override = headers.get("X-HTTP-Method")
    return (override or method or "GET").upper()


_GUID = re.compile(
    r"guid'[0-9a-fA-F-]{36}'|'?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'?"
)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"\((\d+)\)")


def normalise_endpoint(url: str) -> str:
    """A stable, lower-case endpoint name: the path from ``_api/`` on, ids and strings replaced.

    ``http://h/sites/a/_api/Web/lists('6f…')/items(5)?$top=2`` → ``_api/web/lists({id})/items({n})``.
    """
    path = urlsplit(url).path
    idx = path.lower().find("/_api/")
    path = path[idx + 1 :] if idx >= 0 else path.lstrip("/")
    path = _GUID.sub("{id}", path)
    path = _QUOTED.sub("{s}", path)
    path = _NUMBER.sub("({n})", path)
    return path.lower()


def is_idempotent(method: str, url: str, headers: Mapping[str, str]) -> bool:
    """Whether re-sending the request after an unknown outcome is safe."""
    verb = effective_method(method, headers)
    if verb in IDEMPOTENT_METHODS:
        return True
    return urlsplit(url).path.lower().endswith("/_api/contextinfo")


class RequestCounter:
    """Counts every real HTTP exchange by (effective method, normalised endpoint); thread-safe.

    Includes contextinfo, ``$batch`` envelopes and retried attempts.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._statuses: Counter[int] = Counter()

    def record(self, method: str, url: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        key = (effective_method(method, headers or {}), normalise_endpoint(url))
        with self._lock:
            self._counts[key] += 1
            self._statuses[status] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def count(self, method: str | None = None, endpoint: str | None = None) -> int:
        """Exchanges matching ``method`` and ``endpoint`` (suffix match, case-insensitive); ``None`` = any."""
        with self._lock:
            items = list(self._counts.items())
        return sum(
            n
            for (m, e), n in items
            if (method is None or m == method.upper()) and (endpoint is None or e.endswith(endpoint.lower()))
        )

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def statuses(self) -> dict[int, int]:
        with self._lock:
            return dict(self._statuses)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()


#: SharePoint Online's one-minute RU budget per app and tenant, smallest and largest licence tier
#: (docs/sharepoint.md, "Throttling").
SMALLEST_TIER_RU_PER_MINUTE = 1250.0
LARGEST_TIER_RU_PER_MINUTE = 6250.0


class RateLimiter:
    """A resource-unit budget per minute that learns the tenant's pace; shared by threads and SiteClients.

    A token bucket: ``acquire(n)`` blocks until ``n`` requests' worth of RU is available (batch
    members count individually). The budget starts at ``ru_per_minute`` and is learned from the
    answers (docs/sharepoint.md, "Pacing"):

    * no ``RateLimit-*`` headers for a whole ``window_s`` in which callers had to wait for the
      bucket: SharePoint sees us under 80 % of its budget, so the rate rises one step (×1.25), up
      to ``max_ru_per_minute`` (default the largest tier) and never above what the server
      announced (``RateLimit-Limit``) or the rate that drew a 429;
    * ``RateLimit-Remaining`` under 20 % of the limit: the rate is cut (×0.8, but not below 80 % of
      the announced limit, the edge of the zone where SharePoint sends the headers), at most once
      per window, and the bucket holds no more than the server says remains;
    * a 429: the rate is halved and every caller waits for ``Retry-After`` (a 503 with
      ``Retry-After`` pauses too, without a cut — it is load, not our budget).

    ``learn=False`` keeps the configured rate. ``learned_ru_per_minute`` is the current budget,
    ``announced_ru_per_minute`` the tenant's own, once a ``RateLimit-Limit`` has named it.
    """

    RAISE = 1.25
    #: Seconds of budget the bucket may hold: a burst never adds more than this to a minute's
    #: worth of requests (SharePoint counts the budget per sliding minute).
    BURST_S = 2.0
    CUT = 0.8
    CUT_ON_429 = 0.5
    LOW_REMAINING = 0.2

    def __init__(
        self,
        ru_per_minute: float = SMALLEST_TIER_RU_PER_MINUTE,
        cost_per_request: float = 2.0,
        *,
        learn: bool = True,
        max_ru_per_minute: float | None = None,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ru_per_minute <= 0 or cost_per_request <= 0 or window_s <= 0:
            raise ValueError("ru_per_minute, cost_per_request and window_s must be positive")
        self.start_ru_per_minute = float(ru_per_minute)
        self.cost_per_request = float(cost_per_request)
        self.learn = learn
        self.window_s = float(window_s)
        self._ceiling = float(max_ru_per_minute or max(ru_per_minute, LARGEST_TIER_RU_PER_MINUTE))
        self._floor = max(self.cost_per_request * 60.0 / self.window_s, self.start_ru_per_minute / 10.0)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._set_budget(self.start_ru_per_minute)
        self._tokens = self.capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._epoch_start = self._stamp
        self._epoch_signal = False  # RateLimit headers or a 429 seen in this window
        self._epoch_demand = False  # a caller waited for the bucket in this window
        self._last_cut = -math.inf
        self._last_429_cut = -math.inf
        self._announced: float | None = None
        self.waited = 0.0
        self.charged = 0.0  # RU taken, in all: what the tenant's meter should have counted
        self.raises = 0
        self.cuts = 0
        self.throttled = 0

    def _set_budget(self, ru_per_minute: float) -> None:
        self.ru_per_minute = ru_per_minute
        self.rate = ru_per_minute / 60.0
        self.capacity = self.rate * min(self.window_s, self.BURST_S)

    @property
    def learned_ru_per_minute(self) -> int:
        """The budget the limiter paces at now (RU per minute, rounded)."""
        with self._lock:
            return round(self.ru_per_minute)

    @property
    def announced_ru_per_minute(self) -> int | None:
        """The budget the tenant last announced in ``RateLimit-Limit`` (RU per minute), if it has."""
        with self._lock:
            return None if self._announced is None else round(self._announced)

    def _refill(self, now: float) -> None:
        # Nothing accrues while a Retry-After pause holds everyone: the time after it alone counts,
        # or the pause would end in a burst that draws the next 429.
        start = max(self._stamp, min(self._paused_until, now))
        self._tokens = min(self.capacity, self._tokens + max(0.0, now - start) * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (extends, never shortens, a pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def wait_time(self, requests_count: int = 1) -> float:
        """Seconds until ``requests_count`` requests could start (0 = now), without consuming."""
        need = min(self.capacity, requests_count * self.cost_per_request)
        with self._lock:
            now = self._clock()
            self._refill(now)
            return max(self._paused_until - now, (need - self._tokens) / self.rate, 0.0)

    def acquire(self, requests_count: int = 1, *, ru: float | None = None) -> float:
        """Take ``ru`` resource units (the transport passes each request's own cost,
        :mod:`veiviser.sharepoint.costs`), else ``requests_count`` × ``cost_per_request``;
        sleeps as needed and returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                # A request larger than the burst (a big $batch) starts once the bucket is full and
                # leaves a debt the next callers wait for: every RU is paid, none twice.
                cost = max(1, requests_count) * self.cost_per_request if ru is None else ru
                need = min(self.capacity, cost)
                now = self._clock()
                self._refill(now)
                wait = max(self._paused_until - now, (need - self._tokens) / self.rate, 0.0)
                if wait <= 1e-6:  # rounding must not leave a caller sleeping for nothing, for ever
                    self._tokens -= cost
                    self.charged += cost
                    self.waited += waited
                    return waited
                if now >= self._paused_until:
                    self._epoch_demand = True  # the budget, not a server pause, holds us back
            self._sleep(wait)
            waited += wait

    # --- learning ------------------------------------------------------------------------------

    def _adjust(self, factor: float, now: float) -> None:
        """Scale the budget (within floor and ceiling) and start a new window. Lock held."""
        budget = min(self._ceiling, max(self._floor, self.ru_per_minute * factor))
        if budget != self.ru_per_minute:
            if factor > 1:
                self.raises += 1
            else:
                self.cuts += 1
            log.info("pacing: %.0f -> %.0f RU/min", self.ru_per_minute, budget)
            self._set_budget(budget)
            self._tokens = min(self._tokens, self.capacity)
        self._epoch_start = now
        self._epoch_signal = factor < 1
        self._epoch_demand = False
        if factor < 1:
            self._last_cut = now

    def _cut_factor(self, edge: float) -> float:
        """The cut for a low ``RateLimit-Remaining``: ×0.8, but not below ``edge``, the edge of
        SharePoint's warning zone (80 % of the announced limit, RU/min), where no headers come and
        no cut is due (0: none announced); at or under that edge the bucket, held to what remains,
        is protection enough. Lock held."""
        if not edge:
            return self.CUT
        if self.ru_per_minute <= edge:
            return 1.0
        return max(self.CUT, edge / self.ru_per_minute)

    def throttled_for(self, seconds: float | None, *, status: int = 429) -> None:
        """A 429 (or 503) asked every caller to wait ``seconds``; a 429 also halves the budget."""
        self.pause(5.0 if seconds is None else seconds)  # "Retry-After: 0" means now, not 5 s
        if status != 429:
            return
        with self._lock:
            self.throttled += 1
            if not self.learn:
                return
            now = self._clock()
            if now - self._last_429_cut < self.window_s:
                self._epoch_signal = True
                return  # one cut per window: the other 429s were already in flight
            self._last_429_cut = now
            self._ceiling = max(self._floor, min(self._ceiling, self.ru_per_minute))
            self._adjust(self.CUT_ON_429, now)

    def observe(self, response: requests.Response) -> None:
        """Adjust to the server's signals on one response."""
        headers = response.headers
        status = response.status_code
        if status == 429 or (status == 503 and "Retry-After" in headers):
            self.throttled_for(retry_delay(headers), status=status)
            return
        self.observe_headers(headers)

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Learn from the ``RateLimit-*`` headers of a successful answer (or their absence)."""
        lowered = {str(k).lower(): v for k, v in headers.items()}
        remaining = _float(lowered.get("ratelimit-remaining"))
        limit = _float(lowered.get("ratelimit-limit"))
        reset = parse_retry_after(lowered.get("ratelimit-reset"))
        with self._lock:
            now = self._clock()
            if remaining is None:
                if (
                    self.learn
                    and now - self._epoch_start >= self.window_s
                    and not self._epoch_signal
                    and self._epoch_demand
                ):
                    self._adjust(self.RAISE, now)
                elif now - self._epoch_start >= self.window_s:
                    self._epoch_start, self._epoch_signal, self._epoch_demand = now, False, False
                return
            self._refill(now)
            self._tokens = min(self._tokens, remaining)
            announced = limit * 60.0 / self.window_s if limit else None
            edge = (1.0 - self.LOW_REMAINING) * announced if announced else 0.0
            if announced:
                self._announced = announced
            if self.learn:
                if announced:
                    # A floor derived from a configured budget far above the tenant's must not
                    # hold the pace over what the tenant announces (docs/sharepoint.md, "Pacing").
                    self._floor = min(self._floor, edge)
                    self._ceiling = max(self._floor, min(self._ceiling, announced))
                low = remaining < self.LOW_REMAINING * (limit or self.capacity)
                if low and now - self._last_cut >= self.window_s:
                    self._adjust(self._cut_factor(edge), now)
                self._epoch_signal = True
        if remaining < self.cost_per_request and reset:
            self.pause(reset)


_SHARED: dict[tuple[str, float], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(site_url: str, ru_per_minute: float) -> RateLimiter:
    """The process's one limiter for a tenant (RU budgets are per app and tenant): provisioning,
    sync and every SiteClient of that host pace together and share what was learned."""
    host = urlsplit(site_url).netloc.lower()
    key = (host, float(ru_per_minute))
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = RateLimiter(ru_per_minute)
        return limiter


def describe_pace(learned: float, announced: float | None = None) -> str:
    """The run summaries' line on pacing: the pace learned and, once named, the tenant's budget."""
    line = f"pacing: {learned:.0f} RU/min learned from the tenant"
    if announced:
        line += f" ({learned / announced:.0%} of the {announced:.0f} RU/min it announces)"
    return line


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """Caps for the transport retry: attempts per request and total seconds spent waiting."""

    max_attempts: int = 6
    max_total_seconds: float = 300.0
    backoff_base: float = 1.0
    backoff_cap: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, used when the server gives no delay."""
        return random.uniform(0.5, 1.0) * min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))


class GatewaySession(requests.Session):
    """A ``requests.Session`` with veiviser's retry policy, rate limiter, counter and User-Agent."""

    def __init__(
        self,
        *,
        user_agent: str,
        policy: RetryPolicy | None = None,
        counter: RequestCounter | None = None,
        limiter: RateLimiter | None = None,
        proxy: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.policy = policy or RetryPolicy()
        self.counter = counter
        self.limiter = limiter
        self._sleep = sleep
        self.headers["User-Agent"] = user_agent
        if proxy:
            self.proxies = {"http": proxy, "https": proxy}
            self.trust_env = False  # NO_PROXY must not bypass an explicitly configured proxy
        self.hooks["response"].append(self._on_response)

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        req = response.request
        if self.counter is not None:
            self.counter.record(req.method or "GET", req.url or "", response.status_code, req.headers)
        if self.limiter is not None:
            self.limiter.observe(response)
        log.debug("%s %s -> %s", req.method, normalise_endpoint(req.url or ""), response.status_code)
        return response

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with pacing and the retry policy of the module docstring (a :mod:`tenacity` loop)."""
        method = request.method or "GET"
        url = request.url or ""
        call = _Call(
            endpoint=f"{effective_method(method, request.headers)} {normalise_endpoint(url)}",
            idempotent=is_idempotent(method, url, request.headers),
            policy=self.policy,
        )
        cost = request_ru(request) if self.limiter is not None else 0

        def attempt() -> requests.Response:
            if self.limiter is not None:
                self.limiter.acquire(ru=cost)
            try:
                return super(GatewaySession, self).send(request, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise TransportError(f"TLS error talking to SharePoint ({call.endpoint}): {exc}") from None
            except CONNECTION_ERRORS as exc:
                if not call.idempotent:
                    raise TransportError(
                        f"{call.endpoint} failed ({type(exc).__name__}); not retried because it is not idempotent"
                    ) from None
                raise

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(CONNECTION_ERRORS)
            | tenacity.retry_if_result(call.retry_status),
            wait=call.wait,
            stop=call.stop,
            sleep=self._sleep,
            before_sleep=call.before_sleep,
            retry_error_callback=call.give_up,
        )
        response: requests.Response = retrying(attempt)
        return response


#: Failures before an answer: retried for idempotent requests only (an SSL error is never retried).
CONNECTION_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class _Call:
    """The retry rules for one request, as :mod:`tenacity` callbacks (see the module docstring)."""

    endpoint: str
    idempotent: bool
    policy: RetryPolicy

    def retry_status(self, response: requests.Response) -> bool:
        status = response.status_code
        return status in ALWAYS_RETRY or (self.idempotent and status in IDEMPOTENT_RETRY)

    def wait(self, state: tenacity.RetryCallState) -> float:
        """The server's delay (``Retry-After``/``RateLimit-Reset``), else backoff with jitter."""
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            server_delay = retry_delay(outcome.result().headers)
            if server_delay is not None:
                return server_delay
        return self.policy.backoff(state.attempt_number)

    def stop(self, state: tenacity.RetryCallState) -> bool:
        """Out of attempts, or the next wait would pass the total-time cap."""
        if state.attempt_number >= self.policy.max_attempts:
            return True
        return state.idle_for + (state.upcoming_sleep or 0.0) > self.policy.max_total_seconds

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None or outcome.failed:
            return
        response = outcome.result()
        log.info(
            "HTTP %s on %s; retrying in %.1f s (attempt %d)",
            response.status_code,
            self.endpoint,
            state.upcoming_sleep,
            state.attempt_number,
        )
        response.close()

    def give_up(self, state: tenacity.RetryCallState) -> requests.Response:
        """The caps are spent: :class:`ThrottledError` for throttling, the last answer for a 5xx."""
        outcome = state.outcome
        assert outcome is not None
        attempts = state.attempt_number
        if outcome.failed:
            kind = type(outcome.exception()).__name__
            raise TransportError(f"{self.endpoint} failed after {attempts} attempts ({kind})") from None
        response: requests.Response = outcome.result()
        status = response.status_code
        if status in ALWAYS_RETRY:
            response.close()
            raise ThrottledError(
                f"{self.endpoint} still throttled (HTTP {status}) after {attempts} attempts and "
                f"{state.idle_for:.1f} s of waiting; the server asks for {state.upcoming_sleep:.0f} s more",
                status=status,
            )
        return response  # the client raises its error; the caller maps it
