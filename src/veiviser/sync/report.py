"""What a sync run did: per-site outcomes, the run report, the errors and the exit codes.

Exit codes of ``veiviser sync run`` (documented in the README, ``veiviser sync run --help`` and
docs/sync.md, "Exit codes"): 0 ok, 2 bad arguments, 3 run failed (hub unreadable), 4 some sites
failed, 5 state store unusable, 6 mass deletions held back, 75 another run holds the lock, 130/143
stopped by SIGINT/SIGTERM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from veiviser.errors import VeiviserError
from veiviser.sharepoint.batch import OperationResult
from veiviser.sharepoint.errors import AuthError, NotFoundError, ThrottledError
from veiviser.sync.quality import QualityFinding

EXIT_OK = 0
EXIT_RUN_FAILED = 3
EXIT_SITES_FAILED = 4
EXIT_STORE_UNUSABLE = 5
#: Every site synced, but at least one read would have deleted too much and its deletions were held
#: back (docs/sync.md, "The mass-deletion guard"): a person must look before they go through.
EXIT_DELETIONS_HELD = 6
#: Stopped by a signal: 128 + its number, the shell's convention (130 SIGINT, 143 SIGTERM).
EXIT_SIGNAL_BASE = 128
#: Another run holds (or took over) the run lock: sysexits' EX_TEMPFAIL, "try again later",
#: distinct from every failure code so a scheduler can tell "busy" from "broken".
EXIT_LOCK_HELD = 75


class SiteFailure(VeiviserError):
    """One site could not be synced; the run goes on with the others."""

    transient = False


class Interrupted(VeiviserError):
    """The run was asked to stop (a signal) before this site wrote anything; the next run syncs it."""


class SyncRunError(VeiviserError):
    """The run as a whole could not start or finish (hub unreadable, lock held, …)."""

    exit_code = EXIT_RUN_FAILED


@dataclass
class SiteOutcome:
    """One site's result in a run: status, counts, findings and the requests it cost."""

    url: str
    status: str = "ok"
    source: str = "register"
    site_id: str | None = None
    title: str | None = None
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    findings: list[QualityFinding] = field(default_factory=list)
    requests: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The outcome for the JSON report (findings as a count; the report lists them once)."""
        plain = ("url", "status", "source", "site_id", "title", "error", "counts")
        return {**{name: getattr(self, name) for name in plain}, "findings": len(self.findings)}


@dataclass
class SyncReport:
    """What a run did: per-site outcomes, findings, counts, requests; ``exit_code`` for the CLI."""

    run_id: int
    hub_url: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    sites: list[SiteOutcome] = field(default_factory=list)
    requests: int = 0
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    signal: int | None = None  # the signal that stopped the run (status "interrupted")
    #: The pace the client learned from the tenant's answers by the end of the run (RU per minute).
    learned_ru_per_minute: int | None = None
    #: The budget the tenant announced in ``RateLimit-Limit`` (RU per minute), if it did.
    announced_ru_per_minute: int | None = None

    @property
    def joined_unregistered(self) -> list[SiteOutcome]:
        """Sites synced because they are joined to the hub, though missing from the register."""
        return [s for s in self.sites if s.source == "joined"]

    @property
    def failed_sites(self) -> list[SiteOutcome]:
        return [s for s in self.sites if s.status == "failed"]

    @property
    def held_sites(self) -> list[SiteOutcome]:
        """Sites whose deletions the mass-deletion guard held back."""
        return [s for s in self.sites if s.counts.get("deletions_held")]

    @property
    def skipped_sites(self) -> list[SiteOutcome]:
        """Sites not synced because the run was stopped."""
        return [s for s in self.sites if s.status == "skipped"]

    @property
    def findings(self) -> list[QualityFinding]:
        return [f for s in self.sites for f in s.findings]

    @property
    def exit_code(self) -> int:
        if self.status == "interrupted":
            return EXIT_SIGNAL_BASE + (self.signal or 2)
        if self.status == "failed":
            return EXIT_RUN_FAILED
        if self.failed_sites:
            return EXIT_SITES_FAILED
        return EXIT_DELETIONS_HELD if self.held_sites else EXIT_OK

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.sites:
            for k, v in s.counts.items():
                if isinstance(v, int):
                    out[k] = out.get(k, 0) + v
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "hub": self.hub_url,
            "status": self.status,
            "exit_code": self.exit_code,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "message": self.message,
            "requests": self.requests,
            "learned_ru_per_minute": self.learned_ru_per_minute,
            "announced_ru_per_minute": self.announced_ru_per_minute,
            "sites_total": len(self.sites),
            "sites_failed": len(self.failed_sites),
            "totals": self.totals(),
            "failed": [{"url": s.url, "error": s.error} for s in self.failed_sites],
            "deletions_held": [{"url": s.url, "rows": s.counts["deletions_held"]} for s in self.held_sites],
            "skipped": [s.url for s in self.skipped_sites],
            "joined_not_in_register": [s.url for s in self.joined_unregistered],
            "notes": self.notes,
            "sites": [s.to_dict() for s in self.sites],
            "findings": [f.to_dict() for f in self.findings],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, indent=2, default=str)


def site_error(res: OperationResult, site_url: str, what: str) -> SiteFailure:
    """The :class:`SiteFailure` for a failed operation, with a hint by the kind of failure."""
    err = res.error
    if err is None or isinstance(err, ThrottledError) or res.status in (408, 429, 503):
        failure = SiteFailure(
            f"could not {what} at {site_url} (HTTP {res.status}): {err.detail if err else ''}"
        )
        failure.transient = True
        return failure
    if isinstance(err, NotFoundError):
        return SiteFailure(
            f"could not {what} at {site_url}: not found ({err.detail})",
            hint="The site or list is missing; check the project register entry.",
        )
    if isinstance(err, AuthError):
        return SiteFailure(
            f"could not {what} at {site_url}: access denied ({err.detail})",
            hint="Give the sync app read access to the site.",
        )
    return SiteFailure(
        f"could not {what} at {site_url}: {err.detail}",
        hint=err.hint or "Check the list's columns against the template (schema drift).",
    )


def describe(exc: VeiviserError) -> str:
    """A failed site's error text, prefixed by the kind of failure."""
    text = str(exc)
    if isinstance(exc, NotFoundError):
        return f"not found: {text}"
    if isinstance(exc, AuthError):
        return f"access denied: {text}"
    return text


__all__ = [
    "EXIT_DELETIONS_HELD",
    "EXIT_LOCK_HELD",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "EXIT_SIGNAL_BASE",
    "EXIT_SITES_FAILED",
    "EXIT_STORE_UNUSABLE",
    "Interrupted",
    "SiteFailure",
    "SiteOutcome",
    "SyncReport",
    "SyncRunError",
    "describe",
    "site_error",
]
