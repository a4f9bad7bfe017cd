"""Library functions behind ``veiviser sync run`` and ``veiviser sync status`` (the CLI stays thin)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from veiviser.sharepoint import describe_pace
from veiviser.sync.diff import LIST_MISSING
from veiviser.sync.lock import SHARED
from veiviser.sync.options import SyncOptions
from veiviser.sync.quality import SITE_RULES
from veiviser.sync.report import SiteOutcome, SyncReport
from veiviser.sync.run import sync_portfolio
from veiviser.sync.signals import Stop, stop_on_signals
from veiviser.sync.state import StateStore
from veiviser.sync.workers import sync_hubs


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log record (for schedulers that collect logs)."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def configure_logging(json_logs: bool, verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("veiviser")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO if json_logs else logging.WARNING)


def run_sync(
    hub: str | Sequence[str],
    *,
    workers: int = 4,
    state: str | None = None,
    report_path: str | None = None,
    token_max_age_days: float = 45,
    sites: tuple[str, ...] = (),
    progress: bool = True,
    allow_mass_delete: bool = False,
    worker: bool = False,
    feedback: bool = False,
) -> SyncReport:
    """One sync run with a progress bar on a terminal; writes the JSON report when asked.

    ``hub`` is one URL or a list of them; several hubs, or ``worker`` (share the run with other
    worker processes on this store), go through :func:`veiviser.sync.workers.sync_hubs`.
    SIGINT and SIGTERM stop the run after the writes under way (:mod:`veiviser.sync.signals`).
    """
    options = SyncOptions(
        workers=workers,
        token_max_age=timedelta(days=token_max_age_days),
        extra_sites=sites,
        allow_mass_delete=allow_mass_delete,
        feedback=feedback,
    )
    hubs = [hub] if isinstance(hub, str) else list(hub)

    def sync(**kwargs: Any) -> SyncReport:
        if len(hubs) == 1 and not worker:
            return sync_portfolio(hubs[0], state=store, options=options, stop=stop, **kwargs)
        return sync_hubs(hubs, state=store, options=options, shared=worker, stop=stop, **kwargs)

    with StateStore(state) as store, stop_on_signals(Stop()) as stop:
        if progress and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("sync"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                transient=True,
            ) as bar:
                task = bar.add_task("", total=None)

                def tick(outcome: SiteOutcome, done: int, total: int) -> None:
                    mark = "✓" if outcome.status == "ok" else "✗"
                    bar.update(task, completed=done, total=total, description=f"{mark} {outcome.url}")

                report = sync(progress=tick)
        else:
            report = sync()
    if report_path:
        report.write_json(report_path)
    return report


def summary_lines(report: SyncReport) -> list[str]:
    totals = report.totals()
    lines = [
        f"Run {report.run_id}: {report.status} — {len(report.sites)} sites, {len(report.failed_sites)} failed, "
        f"{totals.get('created', 0)} created, {totals.get('updated', 0)} updated, {totals.get('deleted', 0)} deleted, "
        f"{len(report.findings)} findings, {report.requests} requests."
    ]
    lines += [f"  FAILED {s.url}: {s.error}" for s in report.failed_sites]
    lines += [
        f"  DELETIONS HELD {s.url}: {s.counts['deletions_held']} rows would be deleted; nothing was deleted "
        "(check the source, or run again with --allow-mass-delete)"
        for s in report.held_sites
    ]
    lines += [f"  LIST MISSING {f.message}" for f in report.findings if f.rule == LIST_MISSING]
    if report.skipped_sites:
        lines.append(f"  not synced (stopped): {len(report.skipped_sites)} sites; the next run syncs them")
    lines += [
        f"  joined to the hub but not in the register: {s.url}"
        + (" (added to the register)" if s.counts.get("register_created") else "")
        for s in report.joined_unregistered
    ]
    lines += [f"  note: {n}" for n in report.notes]
    if report.learned_ru_per_minute:
        lines.append("  " + describe_pace(report.learned_ru_per_minute, report.announced_ru_per_minute))
    if report.message:
        lines.append(f"  {report.message}")
    return lines


def sync_status(state: str | None = None, *, runs: int = 5) -> dict[str, Any]:
    """Last runs, per-site lag and the latest failures, from the state store, as plain data.

    ``{"lock": {owner, acquired_at, heartbeat_at, expires_at, …} | None, "queue": {pending,
    claimed, done, failed} of a run shared by workers | None, "runs": [{id, status,
    started_at, finished_at, counts, failed_sites, message, …}], "sites": [{site_url, title,
    last_status, last_ok, lag_hours, last_error}], "failing": [the sites whose last run failed],
    "site_findings": [{site_url, list_title, rule, value, message}: missing or renamed lists and held
    deletions in the last finished run]}``;
    the CLI renders it as tables or JSON.
    """
    with StateStore(state) as store:
        last = store.runs(limit=runs)
        lag = store.site_lag()
        holder = store.lock_holder()
        # A run shared by workers: how far its site queue has come (docs/sync.md).
        owner = str(holder["owner"]) if holder else ""
        queue = store.queue_counts(int(owner[len(SHARED) :])) if owner.startswith(SHARED) else None
        newest = store.last_run()
        # The sync's own findings of the last finished run: missing/renamed lists, held deletions.
        site_findings = [
            {k: f[k] for k in ("site_url", "list_title", "rule", "value", "message")}
            for f in (store.findings(newest["id"]) if newest else [])
            if f["rule"] in SITE_RULES
        ]
    sites = [
        {
            "site_url": r.site_url,
            "title": r.title,
            "last_status": r.last_status,
            "last_ok": _iso(r.last_ok),
            "lag_hours": _hours(r.lag),
            "last_error": r.last_error,
        }
        for r in lag.itertuples()
    ]
    return {
        "lock": {k: str(v) for k, v in holder.items()} if holder else None,
        "queue": queue,
        "runs": [
            {**r, "started_at": str(r["started_at"]), "finished_at": str(r["finished_at"])} for r in last
        ],
        "sites": sites,
        "failing": [s for s in sites if s["last_status"] == "failed"],
        "site_findings": site_findings,
    }


def _iso(value: Any) -> str | None:
    """A timestamp cell as ISO text (None when there is none)."""
    return value.isoformat() if hasattr(value, "isoformat") else None


def _hours(value: Any) -> float | None:
    """A time span cell in hours, one decimal (None when there is none)."""
    return round(value.total_seconds() / 3600, 1) if hasattr(value, "total_seconds") else None
