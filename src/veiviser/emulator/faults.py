"""Fault injection and latency for the emulator: rules you add and clear at run time.

``server.faults`` holds the latency/jitter, the random-failure rate (seeded RNG) and a list of
:class:`FaultRule` (regex on the path, method, body fragment, status, body, delay, count, nth
call). What SPO sends, and what the emulator can imitate, is in docs/emulator.md, "Fault injection".
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from veiviser.emulator.api import ApiResponse, Headers, RestError

_DEFAULT_BODIES = {
    429: (
        "-1, Microsoft.SharePoint.Client.ClientServiceException",
        "The request has been throttled. Please retry after the time given in Retry-After.",
    ),
    503: (
        "-1, Microsoft.SharePoint.Client.ServerTooBusyException",
        "The service is temporarily unavailable. Please retry after the time given in Retry-After.",
    ),
    500: ("-2146232832, Microsoft.SharePoint.SPException", "An unexpected error occurred (injected fault)."),
    502: ("-1, System.Net.WebException", "Bad gateway (injected fault)."),
    504: ("-1, System.TimeoutException", "Gateway timeout (injected fault)."),
    507: ("-2147024784, Microsoft.SharePoint.SPException", "Insufficient storage (injected fault)."),
}


def fault_response(status: int, retry_after: int | None = None, body: Any = None) -> ApiResponse:
    """A SharePoint-shaped error response for an injected fault.

    ``body`` may be a dict (sent as JSON), bytes/str (sent raw) or None (a default error body).
    """
    if isinstance(body, dict):
        resp = ApiResponse.json(body, status)
    elif isinstance(body, (bytes, str)):
        data = body.encode("utf-8") if isinstance(body, str) else body
        resp = ApiResponse(status, Headers({"Content-Type": "text/plain; charset=utf-8"}), data)
    else:
        code, message = _DEFAULT_BODIES.get(
            status, ("-1, Microsoft.SharePoint.SPException", "Injected fault.")
        )
        resp = RestError(status, code, message).to_response()
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


@dataclass
class FaultRule:
    """One scripted fault.

    Matches when ``path`` (regex, searched in the decoded path, case-insensitive) and ``method``
    (effective verb, None = any) match and ``body_contains`` (None = any) occurs in the body.
    Among matching calls it fires on call number ``nth`` (1-based) only, or else on every call
    until it has fired ``count`` times (None = forever). When it fires it waits ``delay_s``
    (interrupted when the server stops) and then answers ``status`` (None = delay only, the call
    proceeds normally) with ``body`` / ``retry_after``. ``scope`` is ``"any"``, ``"top"`` (only
    top-level HTTP requests) or ``"batch-part"`` (only operations inside ``$batch``).
    """

    path: str = ".*"
    method: str | None = None
    body_contains: str | None = None
    status: int | None = 503
    body: Any = None
    retry_after: int | None = None
    delay_s: float = 0.0
    count: int | None = None
    nth: int | None = None
    scope: str = "any"
    seen: int = 0
    fired: int = 0
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._regex = re.compile(self.path, re.IGNORECASE)
        if self.scope not in ("any", "top", "batch-part"):
            raise ValueError(f"scope must be 'any', 'top' or 'batch-part', not {self.scope!r}")

    def matches(self, method: str, path: str, body: bytes, scope: str) -> bool:
        if self.scope != "any" and self.scope != scope:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if not self._regex.search(path):
            return False
        return self.body_contains is None or self.body_contains.encode("utf-8") in body

    def should_fire(self) -> bool:
        """Counts one matching call and says whether the rule fires on it (caller holds the lock)."""
        self.seen += 1
        if self.nth is not None:
            fire = self.seen == self.nth
        else:
            fire = self.count is None or self.fired < self.count
        if fire:
            self.fired += 1
        return fire


class Faults:
    """Latency, random failures and scripted rules; thread-safe, changeable while serving."""

    def __init__(
        self,
        latency_ms: float = 0,
        jitter_ms: float = 0,
        fault_rate: float = 0.0,
        seed: int | None = 0,
        random_statuses: tuple[int, ...] = (429, 503),
        random_retry_after: int = 1,
    ) -> None:
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.fault_rate = fault_rate
        self.random_statuses = random_statuses
        self.random_retry_after = random_retry_after
        self.random_scope = "any"
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.stopping = threading.Event()
        self.injected = 0

    # --- rules -------------------------------------------------------------------------------

    def add(self, rule: FaultRule | None = None, **kwargs: Any) -> FaultRule:
        """Add a rule (a :class:`FaultRule` or its keyword arguments); returns it."""
        rule = rule or FaultRule(**kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def hang(self, path: str = ".*", seconds: float = 3600.0, **kwargs: Any) -> FaultRule:
        """Delay matching calls by ``seconds`` (a client read timeout fires first), then answer 504."""
        kwargs.setdefault("status", 504)
        return self.add(path=path, delay_s=seconds, **kwargs)

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule and switch off random failures and latency."""
        with self._lock:
            self._rules.clear()
            self.fault_rate = 0.0
            self.random_scope = "any"
            self.latency_ms = 0
            self.jitter_ms = 0

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def set_random(
        self,
        rate: float,
        statuses: tuple[int, ...] | None = None,
        retry_after: int | None = None,
        seed: int | None = None,
        scope: str = "any",
    ) -> None:
        """Fail a share ``rate`` (0–1) of calls with a random status from ``statuses``;
        ``scope`` limits it to top-level requests (``"top"``) or ``$batch`` parts (``"batch-part"``)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate must be between 0 and 1")
        if scope not in ("any", "top", "batch-part"):
            raise ValueError(f"scope must be 'any', 'top' or 'batch-part', not {scope!r}")
        with self._lock:
            self.fault_rate = rate
            self.random_scope = scope
            if statuses:
                self.random_statuses = tuple(statuses)
            if retry_after is not None:
                self.random_retry_after = retry_after
            if seed is not None:
                self._rng.seed(seed)

    def set_latency(self, latency_ms: float, jitter_ms: float = 0) -> None:
        self.latency_ms, self.jitter_ms = latency_ms, jitter_ms

    # --- applying -----------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the server stops."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def delay(self) -> None:
        """The configured latency plus a random jitter."""
        if self.latency_ms <= 0 and self.jitter_ms <= 0:
            return
        with self._lock:
            jitter = self._rng.uniform(0, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        self.sleep((self.latency_ms + jitter) / 1000.0)

    def apply(self, method: str, path: str, body: bytes, scope: str) -> ApiResponse | None:
        """An injected response for this call, or None to proceed (after any rule delay)."""
        fired: list[FaultRule] = []
        random_status = None
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, body, scope) and rule.should_fire():
                    fired.append(rule)
            in_scope = self.random_scope in ("any", scope)
            if not fired and in_scope and self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                random_status = self._rng.choice(self.random_statuses)
        for rule in fired:
            self.sleep(rule.delay_s)
            if rule.status is not None:
                self.injected += 1
                retry = rule.retry_after
                if retry is None and rule.status in (429, 503):
                    retry = 1
                return fault_response(rule.status, retry, rule.body)
        if random_status is not None:
            self.injected += 1
            retry = self.random_retry_after if random_status in (429, 503) else None
            return fault_response(random_status, retry)
        return None
