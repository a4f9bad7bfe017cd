"""A resource-unit (RU) meter like SharePoint Online's per-app one-minute budget.

Facts (docs/emulator.md, "Throttling and limits"): RU are counted per app in a
window (1 250 RU/min for ≤ 1 000 licences; configurable here); ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` appear once ≥ 80 % is used; when the budget is
exhausted the answer is 429 with ``Retry-After`` (seconds). A client that comes back before that
time gets another 429 and the block is extended (Dev Proxy ``RetryAfterPlugin`` behaviour).
Batch members are charged individually. Costs follow the Graph table (the closest documented
one), as the cost table in docs/emulator.md ("Resource units per request") lists them; the meter
also keeps running totals (RU and requests charged) for the benchmarks.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

_COLLECTIONS = {
    "items",
    "lists",
    "fields",
    "views",
    "contenttypes",
    "siteusers",
    "sitegroups",
    "users",
    "webs",
    "hubsites",
    "viewfields",
    "roleassignments",
    "folders",
    "files",
}
_MULTI_OPS = {"getitems", "getchanges", "getlistitemchangessincetoken", "renderlistdataasstream"}
_PERMISSION_OPS = {
    "roleassignments",
    "breakroleinheritance",
    "resetroleinheritance",
    "addroleassignment",
    "removeroleassignment",
    "getusereffectivepermissions",
}
_KEY = re.compile(r"\(.*\)$")
_EXPAND = re.compile(r"\$expand=([^&]*)", re.IGNORECASE)

# The cost table (docs/emulator.md, "Resource units per request").
RU_SINGLE_READ = 1  # one entity: a site, web, list, field, item by id; contextinfo
RU_MULTI_READ = 2  # a collection, a query ($filter/$top/$skiptoken), GetItems, GetChanges without a token
RU_CHANGES_WITH_TOKEN = 1  # GetChanges from a change token (Graph: "delta with a token")
RU_WRITE = 2  # create, update, delete, any other POST
RU_PERMISSION = 5  # role assignments and inheritance


def request_cost(method: str, path: str, query: str = "", body: bytes = b"") -> int:
    """RU cost of one REST call (a ``$batch`` member is one call), by the table above."""
    lowered_path = path.lower()
    last = lowered_path.rstrip("/").rsplit("/", 1)[-1]
    bare = _KEY.sub("", last)
    expand = _EXPAND.search(query)
    if any(op in lowered_path for op in _PERMISSION_OPS) or (
        expand is not None
        and ("permissions" in expand.group(1).lower() or "roleassignments" in expand.group(1).lower())
    ):
        return RU_PERMISSION
    if bare == "contextinfo":
        return RU_SINGLE_READ
    if bare == "getchanges" and b"changetokenstart" in body.lower():
        return RU_CHANGES_WITH_TOKEN
    if bare in _MULTI_OPS:
        return RU_MULTI_READ
    if method.upper() in ("GET", "HEAD"):
        if bare == last and bare in _COLLECTIONS:
            return RU_MULTI_READ
        lowered = query.lower()
        if "$filter" in lowered or "$top" in lowered or "$skiptoken" in lowered:
            return RU_MULTI_READ
        return RU_SINGLE_READ
    return RU_WRITE


@dataclass
class Decision:
    """The meter's verdict: allowed or not, ``Retry-After`` seconds, headers to add."""

    allowed: bool
    retry_after: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class ResourceMeter:
    """A sliding-window RU budget with a Retry-After enforcer; thread-safe."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        if limit <= 0:
            raise ValueError("the RU limit must be positive")
        self.limit = limit
        self.window_s = window_s
        self._lock = threading.Lock()
        self._entries: deque[tuple[float, int]] = deque()
        self._used = 0
        self._blocked_until = 0.0
        self._penalty = 1
        self.throttled = 0  # how many requests got 429 from this meter
        self.charged_ru = 0  # running totals of what was allowed (for benchmarks; reset_totals())
        self.charged_requests = 0

    def _prune(self, now: float) -> None:
        while self._entries and self._entries[0][0] + self.window_s <= now:
            self._used -= self._entries.popleft()[1]

    def _reset_in(self, now: float) -> int:
        if not self._entries:
            return 0
        return max(1, math.ceil(self._entries[0][0] + self.window_s - now))

    def _rate_headers(self, now: float) -> dict[str, str]:
        if self._used < 0.8 * self.limit:
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.limit - self._used)),
            "RateLimit-Reset": str(self._reset_in(now)),
        }

    def charge(self, cost: int, now: float | None = None) -> Decision:
        """Charge ``cost`` RU, or refuse with a Retry-After when the budget does not allow it."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            if now < self._blocked_until:
                # Came back too early: punish by extending the block (Retry-After enforcer).
                self._blocked_until = now + self._penalty
                self.throttled += 1
                headers = self._rate_headers(now)
                headers["Retry-After"] = str(self._penalty)
                return Decision(False, self._penalty, headers)
            if self._used + cost > self.limit:
                need = self._used + cost - self.limit
                freed, free_at = 0, now + self.window_s
                for t, c in self._entries:
                    freed += c
                    if freed >= need:
                        free_at = t + self.window_s
                        break
                retry = max(1, math.ceil(free_at - now))
                self._penalty = retry
                self._blocked_until = now + retry
                self.throttled += 1
                headers = self._rate_headers(now)
                headers["Retry-After"] = str(retry)
                return Decision(False, retry, headers)
            if cost:
                self._entries.append((now, cost))
                self._used += cost
                self.charged_ru += cost
                self.charged_requests += 1
            return Decision(True, 0, self._rate_headers(now))

    def headers(self, now: float | None = None) -> dict[str, str]:
        """The ``RateLimit-*`` headers the window calls for now (none below 80 % use)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            return self._rate_headers(now)

    def blocked(self, now: float | None = None) -> Decision | None:
        """A refusal when the client is inside a Retry-After window (extends it), else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now >= self._blocked_until:
                return None
        return self.charge(0, now)

    @property
    def used(self) -> int:
        with self._lock:
            self._prune(time.monotonic())
            return self._used

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used = 0
            self._blocked_until = 0.0
            self.throttled = 0
            self.charged_ru = self.charged_requests = 0

    def totals(self) -> tuple[int, int, int]:
        """(RU charged, requests charged, requests refused with 429) since the last reset."""
        with self._lock:
            return self.charged_ru, self.charged_requests, self.throttled

    def reset_totals(self) -> None:
        """Start the running totals again; the window and any block stay as they are."""
        with self._lock:
            self.charged_ru = self.charged_requests = self.throttled = 0
