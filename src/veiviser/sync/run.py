"""The nightly portfolio sync: every project site's lists into the hub's central lists and history.

Per site (in a worker thread; one failing site never stops the others), :class:`SiteSync` reads
what changed since the stored change tokens (one ``$batch`` for an unchanged site), works out the
actions (a pure diff), writes them to the hub in ``$batch`` requests, then records the history and
the new tokens. Each step is idempotent, so a run killed at any point and started again converges;
a failed read never deletes anything. This module runs the whole portfolio: the run lock, the run
log, discovery, the workers and the report. See docs/sync.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from veiviser.errors import VeiviserError
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint.client import connect
from veiviser.sharepoint.errors import SharePointError
from veiviser.sharepoint.transport import RateLimiter, RequestCounter
from veiviser.sync.discovery import ProjectSite, joined_sites, register_sites
from veiviser.sync.lists import load_central_lists
from veiviser.sync.lock import RunLock
from veiviser.sync.options import SyncOptions
from veiviser.sync.quality import QualityFinding
from veiviser.sync.report import Interrupted, SiteOutcome, SyncReport, SyncRunError, describe
from veiviser.sync.schema import utcnow
from veiviser.sync.signals import Stop
from veiviser.sync.site import RunContext, SiteSync
from veiviser.sync.state import SiteRunResult, StateStore, TokenRecord
from veiviser.sync.write import PeopleCache

log = logging.getLogger(__name__)


def sync_portfolio(
    hub_url: str,
    *,
    settings: ConnectionSettings | None = None,
    state: StateStore | str | None = None,
    options: SyncOptions | None = None,
    counter: RequestCounter | None = None,
    limiter: RateLimiter | None = None,
    progress: Callable[[SiteOutcome, int, int], None] | None = None,
    stop: Stop | None = None,
) -> SyncReport:
    """Run one sync of every project site of the hub; returns the report (never raises for one site).

    Raises :class:`~veiviser.sync.report.SyncRunError` when the run cannot start (hub unreadable)
    and :class:`~veiviser.sync.lock.LockHeldError` when another run holds the lock. Setting
    ``stop`` (see :mod:`veiviser.sync.signals`) ends the run after the writes under way.
    """
    options = options or SyncOptions()
    stop = stop or Stop()
    store = state if isinstance(state, StateStore) else StateStore(state)
    counter = counter or RequestCounter()
    lock = store.acquire_lock(ttl=options.lock_ttl)
    lock.start_heartbeat()
    started = utcnow()
    run_id = store.start_run(hub_url, owner=lock.owner, at=started)
    report = SyncReport(run_id=run_id, hub_url=hub_url.rstrip("/"), started_at=started)
    before = counter.total
    try:
        hub = connect(hub_url, settings, counter=counter, limiter=limiter)
        try:
            central, project_fields = load_central_lists()
            registered, hub_info = register_sites(hub, options)
        except SharePointError as exc:
            raise SyncRunError(f"Cannot read the hub {hub_url}: {exc}", hint=exc.hint) from exc
        context = RunContext(
            hub, store, central, project_fields, PeopleCache(), options, run_id, lock.check, stop
        )
        tokens = store.all_tokens()  # one query for the run, not one per site
        workers = max(1, int(options.workers))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync") as pool:

            def submit(site: ProjectSite) -> Future[SiteOutcome]:
                return pool.submit(sync_one, context, site, tokens.get(site.url.rstrip("/").lower(), {}))

            futures = [submit(site) for site in registered]
            # The tenant's site list (one admin request) is read while the workers sync the register.
            extra, report.notes = joined_sites(hub, hub_info, options, {s.url.lower() for s in registered})
            futures += [submit(site) for site in extra]
            results = _ResultWriter(store, run_id)
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    outcome = future.result()
                    report.sites.append(outcome)
                    results.add(outcome)
                    if progress is not None:
                        progress(outcome, done, len(futures))
            finally:
                results.flush()
        report.sites.sort(key=lambda s: s.url)
        report.status = "partial" if report.failed_sites else "ok"
        if hub.limiter is not None:
            report.learned_ru_per_minute = hub.limiter.learned_ru_per_minute
            report.announced_ru_per_minute = hub.limiter.announced_ru_per_minute
        if stop.is_set():
            report.status, report.signal = "interrupted", stop.signum
            report.message = "stopped by a signal after the writes under way; run again to sync the rest"
    except VeiviserError as exc:
        report.status = "failed"
        report.message = str(exc)
        if not isinstance(exc, SyncRunError):
            raise
        return _finish(store, report, counter, before, lock)
    except BaseException:
        report.status = "failed"
        report.message = "interrupted"
        _finish(store, report, counter, before, lock)
        raise
    return _finish(store, report, counter, before, lock)


def _finish(
    store: StateStore, report: SyncReport, counter: RequestCounter, before: int, lock: RunLock
) -> SyncReport:
    report.finished_at = utcnow()
    report.requests = counter.total - before
    try:
        store.finish_run(
            report.run_id,
            report.status,
            counts={
                **report.totals(),
                "sites": len(report.sites),
                "failed_sites": len(report.failed_sites),
                "findings": len(report.findings),
                "requests": report.requests,
            },
            message=report.message,
            at=report.finished_at,
        )
    finally:
        lock.release()
    return report


class _ResultWriter:
    """Site outcomes to the run log in a few transactions (every 50 sites or 2 s), not two per site."""

    def __init__(self, store: StateStore, run_id: int, *, every: int = 50, seconds: float = 2.0) -> None:
        self.store, self.run_id, self.every, self.seconds = store, run_id, every, seconds
        self.pending: list[tuple[SiteRunResult, list[QualityFinding]]] = []
        self.flushed = time.monotonic()

    def add(self, o: SiteOutcome) -> None:
        result = SiteRunResult(
            o.url, o.status, o.site_id, o.title, o.error, o.counts, o.requests, o.started_at, o.finished_at
        )
        self.pending.append((result, list(o.findings)))
        if len(self.pending) >= self.every or time.monotonic() - self.flushed >= self.seconds:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        self.flushed = time.monotonic()
        self.store.record_site_results(self.run_id, pending)


def sync_one(
    context: RunContext, site: ProjectSite, tokens: dict[str, TokenRecord] | None = None
) -> SiteOutcome:
    """Sync one site in a worker; every failure becomes the outcome's status and error."""
    hub = context.hub
    outcome = SiteOutcome(url=site.url, title=site.title, source=site.source, started_at=utcnow())
    counter = hub.counter
    before = counter.total if counter else 0
    try:
        # 429/503 are retried by the gateway (envelopes and batch parts, after Retry-After); what
        # still fails here has outlasted the retry caps, and the site is reported as failed.
        context.check_lock()
        if context.stop.is_set():
            raise Interrupted("not started: the run was stopped")
        # Both clients send the hub's form digest: no contextinfo request per site.
        syncer = SiteSync(
            hub.for_site(site.url, share_digest=True),
            hub.for_site(hub.url, share_digest=True),
            site,
            context,
            tokens,
        )
        syncer.run(outcome)
    except Interrupted as exc:
        outcome.status = "skipped"
        outcome.error = f"{exc}; the next run syncs it"
    except VeiviserError as exc:
        outcome.status = "failed"
        outcome.error = describe(exc)
        log.warning("site %s failed: %s", site.url, outcome.error)
    except Exception as exc:  # one site's bug must not stop the others; the report names it
        outcome.status = "failed"
        outcome.error = f"unexpected {type(exc).__name__}: {exc}"
        log.exception("site %s failed unexpectedly", site.url)
    outcome.finished_at = utcnow()
    outcome.requests = (counter.total if counter else 0) - before  # approximate with several workers
    return outcome
