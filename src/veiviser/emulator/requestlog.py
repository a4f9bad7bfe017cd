"""A thread-safe, cheap log of the requests the emulator served, for tests and benchmarks.

Three kinds are counted separately: ``request`` (an ordinary HTTP exchange, contextinfo
included), ``batch`` (a ``$batch`` envelope) and ``batch-part`` (one operation inside it).
Endpoints are normalised: the site prefix is dropped, the rest lower-cased, and GUIDs, quoted
strings and ids replaced by ``{guid}``, ``'{s}'`` and ``{n}``.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from dataclasses import dataclass

# What one log entry records: a plain request, a whole $batch, or one part of a $batch.
ENTRY_KINDS = ("request", "batch", "batch-part")

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_QUOTED_GUID = re.compile(rf"(?:guid)?'{_GUID}'", re.IGNORECASE)
_BARE_GUID = re.compile(_GUID)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_PAREN_INT = re.compile(r"\(\s*-?\d+\s*\)")
_SEGMENT_INT = re.compile(r"/\d+(?=/|$)")


def normalise_endpoint(path: str) -> str:
    """``/sites/a/_api/Web/Lists(guid'…')/items(5)`` → ``/_api/web/lists({guid})/items({n})``."""
    i = path.lower().find("/_api/")
    endpoint = path[i:] if i >= 0 else (path or "/")
    endpoint = _QUOTED_GUID.sub("{guid}", endpoint)
    endpoint = _BARE_GUID.sub("{guid}", endpoint)
    endpoint = _QUOTED.sub("'{s}'", endpoint)
    endpoint = _PAREN_INT.sub("({n})", endpoint)
    endpoint = _SEGMENT_INT.sub("/{n}", endpoint)
    return endpoint.lower()


@dataclass(frozen=True)
class RequestRecord:
    """One served request (or batch part)."""

    kind: str
    method: str
    path: str
    endpoint: str
    status: int
    duration_ms: float


class RequestLog:
    """Counts per (kind, method, endpoint) and per status, plus the most recent records."""

    def __init__(self, keep_recent: int = 5000) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._statuses: Counter[tuple[str, int]] = Counter()
        self._recent: deque[RequestRecord] = deque(maxlen=keep_recent)

    def record(self, kind: str, method: str, path: str, status: int, duration_ms: float = 0.0) -> None:
        endpoint = normalise_endpoint(path)
        rec = RequestRecord(kind, method.upper(), path, endpoint, status, duration_ms)
        with self._lock:
            self._counts[(kind, rec.method, endpoint)] += 1
            self._statuses[(kind, status)] += 1
            self._recent.append(rec)

    def count(
        self,
        method: str | None = None,
        endpoint: str | None = None,
        kind: str | None = "request",
        status: int | None = None,
    ) -> int:
        """How many requests matched. ``endpoint`` may be a raw path (it is normalised);
        ``kind=None`` counts every kind; ``status`` filters on the recent records."""
        want = normalise_endpoint(endpoint) if endpoint is not None else None
        if status is not None:
            with self._lock:
                recent = list(self._recent)
            return sum(
                1
                for r in recent
                if r.status == status
                and (kind is None or r.kind == kind)
                and (method is None or r.method == method.upper())
                and (want is None or r.endpoint == want)
            )
        with self._lock:
            items = list(self._counts.items())
        return sum(
            n
            for (k, m, e), n in items
            if (kind is None or k == kind)
            and (method is None or m == method.upper())
            and (want is None or e == want)
        )

    def counts(self) -> dict[tuple[str, str, str], int]:
        """A copy of the counters keyed by (kind, method, normalised endpoint)."""
        with self._lock:
            return dict(self._counts)

    def statuses(self, kind: str | None = None) -> dict[int, int]:
        """Responses per HTTP status (per kind, or all kinds)."""
        out: Counter[int] = Counter()
        with self._lock:
            for (k, status), n in self._statuses.items():
                if kind is None or k == kind:
                    out[status] += n
        return dict(out)

    def totals(self) -> dict[str, int]:
        """``{"request": n, "batch": n, "batch-part": n, "http": requests + batches}``."""
        out = dict.fromkeys(ENTRY_KINDS, 0)
        with self._lock:
            for (k, _m, _e), n in self._counts.items():
                out[k] = out.get(k, 0) + n
        out["http"] = out["request"] + out["batch"]
        return out

    def recent(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._recent)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()
            self._recent.clear()

    def summary(self) -> str:
        """A small human-readable table, most frequent first."""
        rows = sorted(self.counts().items(), key=lambda kv: (-kv[1], kv[0]))
        return "\n".join(f"{n:6d}  {k:10s} {m:6s} {e}" for (k, m, e), n in rows)
