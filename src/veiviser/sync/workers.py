"""One run over several hubs, worked by one process or by several sharing the store.

:func:`sync_hubs` discovers the project sites of every hub, then starts or joins the run and works
its site queue (:mod:`veiviser.sync.claims`): each thread claims a site, syncs it with
:func:`veiviser.sync.run.sync_one`, records the outcome and marks the claim done, until the queue
is empty. With ``shared=True`` other processes (``veiviser sync run --worker``, on this machine or
others) work the same queue; a worker that dies leaves claims that expire and are taken by the
others. See docs/sync.md, "Several workers, several hubs".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint.client import SiteClient, connect
from veiviser.sharepoint.errors import SharePointError
from veiviser.sharepoint.transport import RateLimiter, RequestCounter
from veiviser.sync.claims import QueuedSite, SharedRun, hubs_key
from veiviser.sync.discovery import ProjectSite, joined_sites, register_sites
from veiviser.sync.lists import load_central_lists
from veiviser.sync.lock import LockLostError
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import SiteOutcome, SyncReport, SyncRunError
from veiviser.sync.run import sync_one
from veiviser.sync.schema import utcnow
from veiviser.sync.signals import Stop
from veiviser.sync.site import RunContext
from veiviser.sync.state import SiteRunResult, StateStore
from veiviser.sync.write import PeopleCache

log = logging.getLogger(__name__)


def sync_hubs(
    hubs: Sequence[str],
    *,
    settings: ConnectionSettings | None = None,
    state: StateStore | str | None = None,
    options: SyncOptions | None = None,
    shared: bool = False,
    counter: RequestCounter | None = None,
    limiter: RateLimiter | None = None,
    progress: Callable[[SiteOutcome, int, int], None] | None = None,
    poll_seconds: float = 0.5,
    stop: Stop | None = None,
) -> SyncReport:
    """Sync every project site of every hub in ``hubs`` (a plain list of URLs) in one run.

    ``shared``: join the live run of the same hubs that other worker processes work on (or start
    it), instead of refusing while it runs. The report lists the sites this process synced; the
    run log holds the whole run. A hub whose register cannot be read is a failed outcome (source
    ``hub``) while the other hubs are synced. Raises :class:`~veiviser.sync.report.SyncRunError`
    when no hub can be read and :class:`~veiviser.sync.lock.LockHeldError` when another kind of run (or a
    shared run of other hubs) holds the lock.
    """
    stop = stop or Stop()  # set by SIGINT/SIGTERM: claim no more sites (veiviser.sync.signals)
    urls = list(dict.fromkeys(h.rstrip("/") for h in hubs))
    if not urls:
        raise SyncRunError("No hub to sync.", hint="Give at least one --hub URL.")
    options = options or SyncOptions()
    store = state if isinstance(state, StateStore) else StateStore(state)
    counter = counter or RequestCounter()
    before = counter.total
    clients: dict[str, SiteClient] = {}
    found: dict[str, ProjectSite] = {}
    queue: list[QueuedSite] = []
    notes: list[str] = []
    unreadable: list[tuple[SiteOutcome, SharePointError]] = []
    for url in urls:  # every worker reads the registers itself: a few requests per hub
        hub = clients[url] = connect(url, settings, counter=counter, limiter=limiter)
        try:
            registered, hub_info = register_sites(hub, options)
        except SharePointError as exc:  # one unreadable hub fails as a "site"; the others go on
            error = f"Cannot read the hub {url}: {exc}"
            unreadable.append((SiteOutcome(url=url, status="failed", source="hub", error=error), exc))
            continue
        extra, hub_notes = joined_sites(hub, hub_info, options, {s.url.lower() for s in registered})
        notes += hub_notes
        for site in [*registered, *extra]:
            key = site.url.rstrip("/").lower()
            if key not in found:
                found[key] = site
                queue.append(QueuedSite(site.url, url, site.title, site.source, site.register_id))
    if len(unreadable) == len(urls):
        first, cause = unreadable[0]
        raise SyncRunError(str(first.error), hint=cause.hint) from cause
    run = store.start_or_join_run(urls, queue, ttl=options.lock_ttl, shared=shared)
    report = SyncReport(run_id=run.run_id, hub_url=hubs_key(urls), started_at=utcnow(), notes=notes)
    if unreadable:
        report.sites += [outcome for outcome, _exc in unreadable]
        store.record_site_results(
            run.run_id,
            [(SiteRunResult(o.url, "failed", error=o.error, finished_at=utcnow()), []) for o in report.sites],
        )
    if run.lock.takeover_message:
        report.notes.append(run.lock.takeover_message)
    worker = _Worker(store, run, clients, found, options, report, progress, poll_seconds, stop)
    try:
        worker.work(max(1, int(options.workers)))
        report.sites.sort(key=lambda s: s.url)
        report.status = "partial" if report.failed_sites else "ok"
        if stop.is_set():
            report.status, report.signal = "interrupted", stop.signum
            report.message = "stopped by a signal after the writes under way; run again to sync the rest"
            if not shared:  # a shared run goes on in the other workers
                store.finish_run(run.run_id, "interrupted", message=report.message)
            finished = None
        else:
            finished = store.finish_shared_run(run.run_id, run.lock.owner)
            if run.lock.lost:
                # Lost while sites were left: another run took over. Lost after the queue emptied (the
                # worker that finished the run removed the row before our heartbeat came): harmless.
                left = store.queue_counts(run.run_id)
                if left["pending"] or left["claimed"]:
                    run.lock.check()
        if finished is None and shared and not stop.is_set():
            report.notes.append(f"run {run.run_id} goes on in other workers")
    except LockLostError as exc:
        report.status, report.message = "failed", str(exc)
    except BaseException:
        if not shared:  # a shared run goes on in the other workers; its claims here expire
            store.finish_run(run.run_id, "failed", message="interrupted")
        raise
    finally:
        run.lock.release()
    report.finished_at = utcnow()
    report.requests = counter.total - before
    limiters = [c.limiter for c in clients.values() if c.limiter is not None]
    if limiters:  # one per tenant; several hubs of one tenant share it
        slowest = min(limiters, key=lambda x: x.learned_ru_per_minute)
        report.learned_ru_per_minute = slowest.learned_ru_per_minute
        report.announced_ru_per_minute = slowest.announced_ru_per_minute
    return report


class _Worker:
    """The threads of one worker process: claim, sync, record, until the run's queue is empty."""

    def __init__(
        self,
        store: StateStore,
        run: SharedRun,
        clients: dict[str, SiteClient],
        found: dict[str, ProjectSite],
        options: SyncOptions,
        report: SyncReport,
        progress: Callable[[SiteOutcome, int, int], None] | None,
        poll_seconds: float,
        stop: Stop,
    ) -> None:
        self.store, self.run, self.clients, self.found, self.stop = store, run, clients, found, stop
        self.options, self.report, self.progress, self.poll = options, report, progress, poll_seconds
        self.central, self.project_fields = load_central_lists()
        self.people = {url: PeopleCache() for url in clients}  # user ids are per site collection
        self.tokens = store.all_tokens()
        self.mutex = threading.Lock()
        self.total = len(found)
        ttl = options.lock_ttl
        run.lock.on_beat = lambda: store.renew_claims(run.run_id, run.worker, ttl)
        run.lock.start_heartbeat()

    def work(self, threads: int) -> None:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sync-worker") as pool:
            for future in [pool.submit(self._loop) for _ in range(threads)]:
                future.result()

    def _loop(self) -> None:
        run_id, worker, ttl = self.run.run_id, self.run.worker, self.options.lock_ttl
        while not self.run.lock.lost and not self.stop.is_set():
            queued = self.store.claim_site(run_id, worker, ttl)
            if queued is None:
                left = self.store.queue_counts(run_id)
                if not left["pending"] and not left["claimed"]:
                    return
                if self.store.expire_dead_claims(run_id):  # a worker on this host died: take its sites
                    continue
                time.sleep(self.poll)  # others are working: wait for them, or for a claim to expire
                continue
            outcome = self._sync(queued)
            result = SiteRunResult(
                outcome.url,
                outcome.status,
                outcome.site_id,
                outcome.title,
                outcome.error,
                outcome.counts,
                outcome.requests,
                outcome.started_at,
                outcome.finished_at,
            )
            self.store.record_site_results(run_id, [(result, list(outcome.findings))])
            if not self.store.finish_claim(run_id, queued.url, worker, outcome.status):
                log.warning("site %s was claimed by another worker while this one synced it", queued.url)
            with self.mutex:
                self.report.sites.append(outcome)
                if self.progress is not None:
                    self.progress(outcome, len(self.report.sites), self.total)

    def _sync(self, queued: QueuedSite) -> SiteOutcome:
        site = self.found.get(queued.url.rstrip("/").lower()) or ProjectSite(
            queued.url, queued.title, queued.register_id, source=queued.source
        )
        hub = self.clients.get(queued.hub_url)
        if hub is None:  # cannot happen for workers given the same hubs; a clear outcome if it does
            return SiteOutcome(
                url=queued.url, status="failed", error=f"this worker was not given the hub {queued.hub_url}"
            )
        context = RunContext(
            hub,
            self.store,
            self.central,
            self.project_fields,
            self.people[queued.hub_url],
            self.options,
            self.run.run_id,
            self.run.lock.check,
            self.stop,
        )
        return sync_one(context, site, self.tokens.get(site.url.rstrip("/").lower(), {}))
