"""The nightly portfolio sync: every project site's lists into the hub's central lists and history.

Per site (in a worker thread; one failing site never stops the others):

1. **One ``$batch``** to the project site: the site id, each source list's id and current change
   token, and either ``getChanges`` since the stored token or, with no usable token (none, older
   than ``token_max_age``, list re-created, site re-created), the first page of all items. An
   unchanged site costs this one request.
2. One more ``$batch`` if needed: changed items fetched together (``$filter=ID eq … or …``) and
   the rest of any full read.
3. The site's new state = the history store's current rows + the changes. Central values are
   computed for every row and compared with the hash of what was last written to the hub, so
   derived values (project title/phase, looked-up titles) stay in step too.
4. Writes to the hub in ``$batch`` requests of ≤ 100 operations (create/update by source key, delete
   rows gone at source), then the history, then the change tokens. Each step is idempotent, so a
   run killed at any point and started again converges. A failed read never deletes anything.

Facts: shared/reference/sharepoint-rest-and-client.md sections 7 ($batch), 10 (paging), 11
(change tokens: SharePoint Online never reports an expired token, so its age is tracked here).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from veiviser.errors import VeiviserError
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint.batch import Operation, OperationResult
from veiviser.sharepoint.client import SiteClient, connect, query_string, title_segment
from veiviser.sharepoint.errors import AuthError, NotFoundError, SharePointError, ThrottledError
from veiviser.sharepoint.sites import hub_joined_site_urls
from veiviser.sharepoint.transport import RateLimiter, RequestCounter
from veiviser.sharepoint.values import normalise_item, odata_literal
from veiviser.sync.kinds import KINDS, PROJECTS_LIST_TITLE, PROPERTIES_LIST_TITLE, source_key
from veiviser.sync.quality import Finding, check_site
from veiviser.sync.rows import (
    central_values,
    json_safe,
    phase_label,
    resolve_lookups,
    select_clause,
    source_row,
)
from veiviser.sync.store import EXIT_LOCK_HELD as EXIT_LOCK_HELD  # re-exported with the other exit codes
from veiviser.sync.store import (
    RowSnapshot,
    SiteRunResult,
    StateStore,
    TokenRecord,
    content_hash,
    utcnow,
)

log = logging.getLogger(__name__)

#: Exit codes of ``veiviser sync run`` (documented in the README and ``veiviser sync run --help``):
#: 0 ok, 2 bad arguments, 3 run failed (hub unreadable), 4 some sites failed, 5 state store
#: unusable (StoreError), 75 another run holds the lock (LockHeldError, EXIT_LOCK_HELD).
EXIT_OK = 0
EXIT_SITES_FAILED = 4
EXIT_RUN_FAILED = 3

#: Kinds in dependency order (lookups point backwards).
KIND_ORDER = ("risks", "stakeholders", "benefits", "indicators", "measurements")
PROPERTIES = "properties"

#: Central list per kind in the hub template (``portfolio_<kind>``).
CENTRAL_LIST_KEYS = {name: f"portfolio_{name}" for name in KIND_ORDER}

#: Prosjektegenskaper fields copied to the hub's Prosjekter item (when both lists have them).
PROPERTY_FIELDS = (
    "GtProjectFinanceName",
    "GtProjectNumber",
    "GtArchiveReference",
    "GtProjectPhase",
    "GtProjectGoals",
    "GtStartDate",
    "GtEndDate",
    "GtProjectLifecycleStatus",
    "GtProjectServiceAreaText",
    "GtProjectTypeText",
)

CHANGE_TYPE_DELETE = 3

_ENTITY_LOCK = threading.Lock()


class SiteFailure(VeiviserError):
    """One site could not be synced; the run goes on with the others."""

    transient = False


class SyncRunError(VeiviserError):
    """The run as a whole could not start or finish (hub unreadable, lock held, …)."""

    exit_code = EXIT_RUN_FAILED


@dataclass(frozen=True)
class SyncOptions:
    """Tunables of a run."""

    workers: int = 4
    token_max_age: timedelta = timedelta(days=45)
    page_size: int = 5000
    ids_per_filter: int = 40
    keys_per_filter: int = 20
    lock_ttl: timedelta = timedelta(minutes=10)
    extra_sites: tuple[str, ...] = ()
    joined: bool = True  # also sync sites joined to the hub that the register misses


@dataclass
class CentralList:
    """A central list on the hub: title and field types (from the hub template)."""

    kind: str
    title: str
    fields: dict[str, str]
    entity_type: str = ""  # ListItemEntityTypeFullName, read once per run


@dataclass
class ProjectSite:
    """A project site to sync, as found in the hub register (or given explicitly)."""

    url: str
    title: str = ""
    register_id: int | None = None
    register: dict[str, Any] = field(default_factory=dict)
    source: str = "register"  # "register", "joined" (joined to the hub, not in the register), "explicit"


@dataclass
class SiteOutcome:
    url: str
    status: str = "ok"
    source: str = "register"
    site_id: str | None = None
    title: str | None = None
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "source": self.source,
            "site_id": self.site_id,
            "title": self.title,
            "error": self.error,
            "counts": self.counts,
            "findings": len(self.findings),
        }


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

    @property
    def joined_unregistered(self) -> list[SiteOutcome]:
        """Sites synced because they are joined to the hub, though missing from the register."""
        return [s for s in self.sites if s.source == "joined"]

    @property
    def failed_sites(self) -> list[SiteOutcome]:
        return [s for s in self.sites if s.status == "failed"]

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sites for f in s.findings]

    @property
    def exit_code(self) -> int:
        if self.status == "failed":
            return EXIT_RUN_FAILED
        return EXIT_SITES_FAILED if self.failed_sites else EXIT_OK

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
            "sites_total": len(self.sites),
            "sites_failed": len(self.failed_sites),
            "totals": self.totals(),
            "failed": [{"url": s.url, "error": s.error} for s in self.failed_sites],
            "joined_not_in_register": [s.url for s in self.joined_unregistered],
            "notes": self.notes,
            "sites": [s.to_dict() for s in self.sites],
            "findings": [f.to_dict() for f in self.findings],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, indent=2, default=str)


# --- the run -------------------------------------------------------------------------------------


def load_central_lists() -> tuple[dict[str, CentralList], dict[str, str]]:
    """Central lists per kind and the Prosjekter field types, from the standard hub template."""
    from veiviser.schemas.template_loader import load_bundle

    hub = load_bundle().hub
    central = {}
    for kind, key in CENTRAL_LIST_KEYS.items():
        ldef = hub.get_list(key)
        central[kind] = CentralList(kind, ldef.title, _writable_fields(ldef))
    projects = hub.get_list("projects")
    return central, _writable_fields(projects)


def _writable_fields(ldef: Any) -> dict[str, str]:
    out = {"Title": "Text"}
    for f in ldef.fields:
        ftype = getattr(f.type, "value", str(f.type))
        if ftype == "Calculated" or f.read_only or f.is_projected:
            continue
        out[f.name] = ftype
    return out


def sync_portfolio(
    hub_url: str,
    *,
    settings: ConnectionSettings | None = None,
    state: StateStore | str | None = None,
    options: SyncOptions | None = None,
    counter: RequestCounter | None = None,
    limiter: RateLimiter | None = None,
    progress: Callable[[SiteOutcome, int, int], None] | None = None,
) -> SyncReport:
    """Run one sync of every project site of the hub; returns the report (never raises for one site).

    Raises :class:`SyncRunError` when the run cannot start (hub unreadable) and
    :class:`~veiviser.sync.store.LockHeldError` when another run holds the lock.
    """
    options = options or SyncOptions()
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
        people = PeopleCache()
        tokens = store.all_tokens()  # one query for the run, not one per site
        workers = max(1, int(options.workers))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync") as pool:

            def submit(site: ProjectSite) -> Future[SiteOutcome]:
                return pool.submit(
                    _sync_one,
                    hub,
                    site,
                    store,
                    central,
                    project_fields,
                    people,
                    options,
                    run_id,
                    lock.check,
                    tokens.get(site.url.rstrip("/").lower(), {}),
                )

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
    store: StateStore, report: SyncReport, counter: RequestCounter, before: int, lock: Any
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
        self.pending: list[tuple[SiteRunResult, list[Finding]]] = []
        self.flushed = time.monotonic()

    def add(self, o: SiteOutcome) -> None:
        self.pending.append(
            (
                SiteRunResult(
                    site_url=o.url,
                    status=o.status,
                    site_id=o.site_id,
                    title=o.title,
                    error=o.error,
                    counts=o.counts,
                    requests=o.requests,
                    started_at=o.started_at,
                    finished_at=o.finished_at,
                ),
                list(o.findings),
            )
        )
        if len(self.pending) >= self.every or time.monotonic() - self.flushed >= self.seconds:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        self.flushed = time.monotonic()
        self.store.record_site_results(self.run_id, pending)


def discover_sites(hub: SiteClient, options: SyncOptions) -> tuple[list[ProjectSite], list[str]]:
    """Project sites to sync (register, then joined sites, then ``extra_sites``) and notes for the report."""
    registered, hub_info = register_sites(hub, options)
    extra, notes = joined_sites(hub, hub_info, options, {s.url.lower() for s in registered})
    return sorted([*registered, *extra], key=lambda s: s.url.lower()), notes


def register_sites(hub: SiteClient, options: SyncOptions) -> tuple[list[ProjectSite], dict[str, Any]]:
    """Project sites of the hub register ``Prosjekter`` (``GtSiteUrl``) and the hub's ``Site`` facts.

    The register's first page and ``Site?$select=Id,IsHubSite,HubSiteId`` come in one ``$batch``.
    """
    sites: dict[str, ProjectSite] = {}
    select = ["ID", "Title", "GtSiteUrl", "GtSiteId", "GtProjectPhaseText", *PROPERTY_FIELDS]
    register_path = f"Web/lists/GetByTitle({title_segment(PROJECTS_LIST_TITLE)})/items" + query_string(
        {"$select": ",".join(dict.fromkeys(select)), "$top": 5000}
    )
    first, site = hub.batch(
        [
            Operation("GET", register_path, key="register", list=PROJECTS_LIST_TITLE),
            Operation("GET", "Site?$select=Id,IsHubSite,HubSiteId", key="site"),
        ]
    )
    for res in (first, site):
        if not res.ok:
            raise res.error or SharePointError(f"HTTP {res.status}", site=hub.url, list=res.key)
    page = first.value if isinstance(first.value, list) else []
    raw_items = [*page, *(hub.rest_of_pages(first, list=PROJECTS_LIST_TITLE) if first.next_url else [])]
    for raw in raw_items:
        item = normalise_item(raw)
        url = str(item.get("GtSiteUrl") or "").strip().rstrip("/")
        if not url:
            continue
        sites.setdefault(
            url.lower(), ProjectSite(url, str(item.get("Title") or ""), int(item["ID"]), dict(item))
        )
    return sorted(sites.values(), key=lambda s: s.url.lower()), site.value if isinstance(
        site.value, dict
    ) else {}


def joined_sites(
    hub: SiteClient, hub_info: dict[str, Any], options: SyncOptions, known: set[str]
) -> tuple[list[ProjectSite], list[str]]:
    """Sites the tenant reports as joined to the hub that ``known`` (lower-case URLs) lacks
    (``source="joined"``; the sync adds them to the register), then ``options.extra_sites``
    (``source="explicit"``); and notes for the run report. Never raises: a listing that fails
    is a note, and the register alone is used.
    """
    notes: list[str] = []
    out: dict[str, ProjectSite] = {}
    if options.joined:
        hub_id = str(hub_info.get("HubSiteId") or hub_info.get("Id") or "").strip("{}").lower()
        joined: list[str] = []
        if not hub_info.get("IsHubSite"):
            notes.append(f"{hub.url} is not a hub site; only the register was used")
        elif not hub.settings.admin_url:
            notes.append(
                "VEIVISER_ADMIN_URL is not set, so sites joined to the hub but missing from the register "
                "could not be listed; only the register was used"
            )
        else:
            try:
                admin = hub.for_site(hub.settings.admin_url, share_digest=True)
                joined = hub_joined_site_urls(admin, hub_id, exclude=hub.url)
            except VeiviserError as exc:
                notes.append(
                    f"could not list the sites joined to the hub ({exc}); only the register was used"
                )
        for url in joined:
            if url.lower() not in known:
                out.setdefault(url.lower(), ProjectSite(url, source="joined"))
    for url in options.extra_sites:
        key = url.rstrip("/").lower()
        if key not in known:
            out.setdefault(key, ProjectSite(url.rstrip("/"), source="explicit"))
    return sorted(out.values(), key=lambda s: s.url.lower()), notes


class PeopleCache:
    """E-mail -> hub user id, shared by the workers (person ids are per site collection)."""

    def __init__(self) -> None:
        self._ids: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def resolve(self, hub: SiteClient, emails: Iterable[str]) -> dict[str, int | None]:
        wanted = {e.lower() for e in emails if e}
        with self._lock:
            missing = sorted(e for e in wanted if e not in self._ids)
        if missing:
            ops = [
                Operation("POST", f"Web/EnsureUser({title_segment(e)})", key=e, idempotent=True)
                for e in missing
            ]
            for result in hub.batch(ops):
                value = result.value if result.ok and isinstance(result.value, dict) else None
                with self._lock:
                    self._ids[result.key] = int(value["Id"]) if value and "Id" in value else None
        with self._lock:
            return {e: self._ids.get(e) for e in wanted}


def _sync_one(
    hub: SiteClient,
    site: ProjectSite,
    store: StateStore,
    central: dict[str, CentralList],
    project_fields: dict[str, str],
    people: PeopleCache,
    options: SyncOptions,
    run_id: int,
    check_lock: Callable[[], None],
    tokens: dict[str, TokenRecord] | None = None,
) -> SiteOutcome:
    outcome = SiteOutcome(url=site.url, title=site.title, source=site.source, started_at=utcnow())
    counter = hub.counter
    before = counter.total if counter else 0
    try:
        # 429/503 are retried by the gateway (envelopes and batch parts, after Retry-After); what
        # still fails here has outlasted the retry caps, and the site is reported as failed.
        check_lock()
        # Both clients send the hub's form digest: no contextinfo request per site.
        syncer = SiteSync(
            hub.for_site(site.url, share_digest=True),
            hub.for_site(hub.url, share_digest=True),
            site,
            store,
            central,
            project_fields,
            people,
            options,
            run_id,
        )
        syncer.tokens = tokens
        syncer.run(outcome)
    except VeiviserError as exc:
        outcome.status = "failed"
        outcome.error = _describe(exc)
        log.warning("site %s failed: %s", site.url, outcome.error)
    except Exception as exc:  # one site's bug must not stop the others; the report names it
        outcome.status = "failed"
        outcome.error = f"unexpected {type(exc).__name__}: {exc}"
        log.exception("site %s failed unexpectedly", site.url)
    outcome.finished_at = utcnow()
    outcome.requests = (counter.total if counter else 0) - before  # approximate with several workers
    return outcome


def _describe(exc: VeiviserError) -> str:
    text = str(exc)
    if isinstance(exc, NotFoundError):
        return f"not found: {text}"
    if isinstance(exc, AuthError):
        return f"access denied: {text}"
    return text


# --- one site ------------------------------------------------------------------------------------


@dataclass
class ListState:
    """What round one told us about one source list."""

    name: str
    title: str
    list_id: str = ""
    current_token: str = ""
    token: TokenRecord | None = None
    full: bool = False  # a full read is needed / was done
    items: list[dict[str, Any]] | None = None  # full read result
    next_url: str | None = None  # the full read's second page, when the first did not hold all
    changed_ids: set[int] = field(default_factory=set)
    deleted_ids: set[int] = field(default_factory=set)
    new_token: str | None = None


class SiteSync:
    """Sync of one project site (see the module docstring for the steps)."""

    def __init__(
        self,
        site: SiteClient,
        hub: SiteClient,
        project: ProjectSite,
        store: StateStore,
        central: dict[str, CentralList],
        project_fields: dict[str, str],
        people: PeopleCache,
        options: SyncOptions,
        run_id: int,
    ) -> None:
        self.site = site
        self.hub = hub
        self.project = project
        self.store = store
        self.central = central
        self.project_fields = project_fields
        self.people = people
        self.options = options
        self.run_id = run_id
        self.now = utcnow()
        self.tokens: dict[str, TokenRecord] | None = None  # preloaded for the whole run, else read here

    # -- reading --

    def _items_path(self, title: str, params: str) -> str:
        return f"Web/lists/GetByTitle({title_segment(title)})/items?{params}"

    def _select(self, name: str) -> tuple[list[str], list[str]]:
        if name == PROPERTIES:
            return ["ID", "Title", "Modified", *PROPERTY_FIELDS], []
        return select_clause(KINDS[name])

    def _query(self, name: str, extra: str = "") -> str:
        select, expand = self._select(name)
        params = f"$select={','.join(select)}"
        if expand:
            params += f"&$expand={','.join(expand)}"
        if extra:
            params += f"&{extra}"
        return params

    def round_one(self) -> tuple[str, dict[str, ListState]]:
        tokens = self.tokens if self.tokens is not None else self.store.tokens_for_url(self.project.url)
        names = [*KIND_ORDER, PROPERTIES]
        states: dict[str, ListState] = {}
        # Every list's id and current token in one operation: the list collection read with
        # $select=CurrentChangeToken carries each list's token (a GET per list would cost six).
        ops = [
            Operation("GET", "Site?$select=Id,Url", key="site"),
            Operation("GET", "Web/lists?$select=Id,Title,CurrentChangeToken", key="lists"),
        ]
        for name in names:
            title = PROPERTIES_LIST_TITLE if name == PROPERTIES else KINDS[name].list_title
            st = ListState(name, title, token=tokens.get(name))
            states[name] = st
            path = f"Web/lists/GetByTitle({title_segment(title)})"
            tok = st.token
            if tok is not None and self.now - tok.issued_at <= self.options.token_max_age:
                body = {
                    "query": {
                        "__metadata": {"type": "SP.ChangeQuery"},
                        "Item": True,
                        "Add": True,
                        "Update": True,
                        "SystemUpdate": True,
                        "DeleteObject": True,
                        "Restore": True,
                        "ChangeTokenStart": {
                            "__metadata": {"type": "SP.ChangeToken"},
                            "StringValue": tok.token,
                        },
                    }
                }
                ops.append(
                    Operation(
                        "POST", f"{path}/getChanges", body, key=("changes", name), list=title, idempotent=True
                    )
                )
            else:
                st.full = True
                ops.append(
                    Operation(
                        "GET",
                        self._items_path(title, self._query(name, f"$top={self.options.page_size}")),
                        key=("items", name),
                        list=title,
                    )
                )
        results = {r.key: r for r in self.site.batch(ops)}
        site_res = results["site"]
        if not site_res.ok:
            raise _site_error(site_res, self.project.url, "read the site")
        site_id = str(site_res.value["Id"]).strip("{}").lower()
        lists_res = results["lists"]
        if not lists_res.ok:
            raise _site_error(lists_res, self.project.url, "read the site's lists")
        rows = lists_res.value if isinstance(lists_res.value, list) else []
        by_title = {str(row.get("Title") or "").lower(): row for row in rows}  # GetByTitle ignores case
        for name, st in states.items():
            meta = by_title.get(st.title.lower())
            if meta is None:
                raise SiteFailure(
                    f"could not read list {st.title!r} at {self.project.url}: not found "
                    "(the site has no list with this title)",
                    hint="The site or list is missing; check the project register entry.",
                )
            st.list_id = str(meta["Id"]).strip("{}").lower()
            ctok = meta.get("CurrentChangeToken")
            st.current_token = str(ctok.get("StringValue") if isinstance(ctok, dict) else ctok or "")
            tok = st.token
            if not st.full and tok is not None and (tok.list_id != st.list_id or tok.site_id != site_id):
                st.full = True  # list (or site) re-created: the old token means nothing here
                st.items = None
                continue
            if st.full:
                res = results.get(("items", name))
                if res is not None:
                    if not res.ok:
                        raise _site_error(res, self.project.url, f"read items of {st.title!r}")
                    page = res.value if isinstance(res.value, list) else []
                    st.items = [normalise_item(i) for i in page]
                    st.next_url = res.next_url
                continue
            res = results[("changes", name)]
            if not res.ok:
                raise _site_error(res, self.project.url, f"read changes of {st.title!r}")
            changes = res.value if isinstance(res.value, list) else []
            for change in changes:
                item_id = change.get("ItemId")
                if item_id is None:
                    continue
                if int(change.get("ChangeType", 0)) == CHANGE_TYPE_DELETE:
                    st.deleted_ids.add(int(item_id))
                    st.changed_ids.discard(int(item_id))
                else:
                    st.changed_ids.add(int(item_id))
                    st.deleted_ids.discard(int(item_id))
            if changes:
                last = changes[-1].get("ChangeToken")
                st.new_token = str(last.get("StringValue") if isinstance(last, dict) else last or "") or None
        return site_id, states

    def round_two(self, states: dict[str, ListState]) -> None:
        """Fetch changed items together; finish full reads that did not fit one page."""
        ops: list[Operation] = []
        for name, st in states.items():
            if st.full:
                continue
            ids = sorted(st.changed_ids)
            for i in range(0, len(ids), self.options.ids_per_filter):
                chunk = ids[i : i + self.options.ids_per_filter]
                flt = " or ".join(f"ID eq {n}" for n in chunk)
                ops.append(
                    Operation(
                        "GET",
                        self._items_path(st.title, self._query(name, f"$filter={flt}&$top={len(chunk)}")),
                        key=(name, i),
                        list=st.title,
                    )
                )
        fetched: dict[str, dict[int, dict[str, Any]]] = {}
        if ops:
            for res in self.site.batch(ops):
                name = res.key[0]
                if not res.ok:
                    raise _site_error(res, self.project.url, f"read changed items of {states[name].title!r}")
                for raw in res.value if isinstance(res.value, list) else []:
                    item = normalise_item(raw)
                    fetched.setdefault(name, {})[int(item.get("ID") or item.get("Id"))] = item
        for name, st in states.items():
            if st.full:
                if st.items is None:  # list re-created: its token is void, read it all
                    select, expand = self._select(name)
                    st.items = list(
                        self.site.iter_items(
                            st.title,
                            select=select,
                            expand=expand or None,
                            page_size=min(self.options.page_size, 5000),
                        )
                    )
                elif st.next_url:  # only the pages after the batched first one
                    st.items += self.site.rest_of_pages(
                        OperationResult(key=name, status=200, next_url=st.next_url), list=st.title
                    )
                continue
            got = fetched.get(name, {})
            # A changed item that is gone by now was deleted after the change was logged.
            st.deleted_ids |= {i for i in st.changed_ids if i not in got}
            st.items = list(got.values()) if not st.full else st.items

    # -- the whole site --

    def run(self, outcome: SiteOutcome) -> None:
        site_id, states = self.round_one()
        outcome.site_id = site_id
        self.round_two(states)
        list_ids = {name: st.list_id for name, st in states.items()}
        if not any(st.full or st.changed_ids or st.deleted_ids for st in states.values()):
            # Nothing changed since the stored tokens, and tokens are stored only after the hub
            # and the history were written: the hub is in step. No more requests for this site.
            self._quiet(outcome, site_id)
            return
        previous = self.store.current_rows(site_id)
        cmap = self.store.central_map(site_id)

        # Project facts: Prosjektegenskaper item 1 (else the register entry).
        props_state = states[PROPERTIES]
        prop_item = self._properties_item(props_state, previous.get(PROPERTIES, {}))
        project = {
            "site_id": site_id,
            "url": self.project.url,
            "title": (prop_item or {}).get("Title")
            or self.project.title
            or self.project.register.get("Title")
            or "",
            "phase": phase_label((prop_item or {}).get("GtProjectPhase"))
            or self.project.register.get("GtProjectPhaseText"),
        }
        outcome.title = project["title"]

        # New state per kind.
        current: dict[str, dict[str, dict[str, Any]]] = {}
        deleted: dict[str, set[str]] = {}
        for name in KIND_ORDER:
            st = states[name]
            kind = KINDS[name]
            before = previous.get(name, {})
            if st.full:
                rows = {
                    r["source_key"]: r
                    for r in (
                        source_row(kind, i, site_id=site_id, list_id=st.list_id) for i in st.items or []
                    )
                }
                known = set(before) | set(cmap.get(name, {}))
                deleted[name] = {k for k in known if k not in rows}
                current[name] = rows
            else:
                rows = dict(before)
                gone = {source_key(site_id, st.list_id, i) for i in st.deleted_ids}
                for key in gone:
                    rows.pop(key, None)
                for item in st.items or []:
                    row = source_row(kind, item, site_id=site_id, list_id=st.list_id)
                    rows[row["source_key"]] = row
                deleted[name] = {k for k in gone if k in before or k in cmap.get(name, {})}
                current[name] = rows
        indicator_benefits = {
            int(r["item_id"]): r.get("GtGainLookupId") for r in current["indicators"].values()
        }
        for name in KIND_ORDER:
            for row in current[name].values():
                resolve_lookups(
                    KINDS[name],
                    row,
                    site_id=site_id,
                    list_ids=list_ids,
                    indicator_benefits=indicator_benefits,
                )

        # Central values and the diff against what the hub has.
        emails = {
            p["EMail"]
            for name in KIND_ORDER
            for row in current[name].values()
            for f in KINDS[name].people
            if isinstance(p := row.get(f), dict)
            and p.get("EMail")
            and self.central[name].fields.get(f) in ("User", "UserMulti")
        }
        people = self.people.resolve(self.hub, emails) if emails else {}
        titles = {name: {k: r.get("Title") for k, r in current[name].items()} for name in KIND_ORDER}
        planned: dict[str, dict[str, dict[str, Any]]] = {}
        for name in KIND_ORDER:
            clist = self.central[name]
            planned[name] = {}
            for key, row in current[name].items():
                values = central_values(name, row, project, clist.fields, people=people)
                _add_titles(name, row, values, clist.fields, titles)
                if clist.fields.get("GtUncertaintyType") and "GtUncertaintyType" not in values:
                    values["GtUncertaintyType"] = row.get("ContentType")
                planned[name][key] = values

        counts = self.write_central(site_id, planned, deleted, cmap, outcome)

        # History (after the hub write), then tokens (last).
        snapshots = [
            RowSnapshot(name, key, site_id, row, project_url=self.project.url, project_title=project["title"])
            for name in KIND_ORDER
            for key, row in current[name].items()
        ]
        if prop_item is not None:
            snapshots.append(
                RowSnapshot(
                    PROPERTIES,
                    f"{site_id}:properties",
                    site_id,
                    prop_item,
                    project_url=self.project.url,
                    project_title=project["title"],
                )
            )
        self.store.record_versions(snapshots, run_id=self.run_id, at=self.now)
        for name in KIND_ORDER:
            if deleted[name]:
                self.store.record_deletions(name, deleted[name], run_id=self.run_id, at=self.now)
        self._reconcile_project(prop_item, project, counts)
        tokens = []
        for name, st in states.items():
            token = st.current_token if st.full else st.new_token
            if token is None:
                continue  # unchanged since the stored token: keep it (and its age)
            tokens.append(TokenRecord(site_id, name, st.list_id, token, self.now, self.project.url))
        outcome.findings = check_site(
            self.project.url, {name: list(current[name].values()) for name in KIND_ORDER}
        )
        # The summary an unchanged site's next run reports from: written before the tokens, so a
        # run killed in between re-reads the changes and writes it again.
        self.store.set_site_summary(
            site_id,
            site_url=self.project.url,
            title=project["title"],
            rows=sum(len(current[name]) for name in KIND_ORDER),
            findings=[f.to_dict() for f in outcome.findings],
        )
        self.store.set_tokens(tokens, run_id=self.run_id)
        outcome.counts = counts
        outcome.counts["full_reads"] = sum(1 for st in states.values() if st.full)

    def _quiet(self, outcome: SiteOutcome, site_id: str) -> None:
        """Outcome of an unchanged site: counts and findings from its stored summary (one small read;
        from the history store's current rows when a store from an older version has none)."""
        summary = self.store.site_summary(site_id)
        if summary is None:
            previous = self.store.current_rows(site_id)
            props = next(iter(previous.get(PROPERTIES, {}).values()), {})
            findings = check_site(
                self.project.url, {name: list(previous.get(name, {}).values()) for name in KIND_ORDER}
            )
            summary = {
                "title": props.get("Title"),
                "rows": sum(len(previous.get(name, {})) for name in KIND_ORDER),
                "findings": [f.to_dict() for f in findings],
            }
            self.store.set_site_summary(site_id, site_url=self.project.url, **summary)
        outcome.title = summary["title"] or self.project.title or outcome.title
        outcome.counts = {
            "created": 0,
            "updated": 0,
            "deleted": 0,
            "unchanged": summary["rows"],
            "full_reads": 0,
        }
        outcome.findings = [
            Finding(
                self.project.url,
                f.get("list") or "",
                f.get("item_id"),
                f.get("field"),
                f.get("value"),
                f.get("rule") or "",
                f.get("message") or "",
            )
            for f in summary["findings"]
        ]

    def _properties_item(self, st: ListState, before: Mapping[str, Any]) -> dict[str, Any] | None:
        items = st.items or []
        for item in items:
            if int(item.get("ID") or item.get("Id") or 0) == 1 or len(items) == 1:
                return {k: json_safe(v) for k, v in item.items() if k in ("Title", "ID", *PROPERTY_FIELDS)}
        if not st.full and 1 not in st.deleted_ids and before:
            return dict(next(iter(before.values()))) if before else None
        return None

    # -- writing --

    def write_central(
        self,
        site_id: str,
        planned: dict[str, dict[str, dict[str, Any]]],
        deleted: dict[str, set[str]],
        cmap: dict[str, dict[str, tuple[int, str]]],
        outcome: SiteOutcome,
    ) -> dict[str, Any]:
        counts: dict[str, Any] = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
        # Keys the map does not know: look them up on the hub by the indexed key (a killed run may
        # have created them without recording it), or read the site's rows when the map is empty.
        lookups: list[Operation] = []
        for name in KIND_ORDER:
            known = cmap.get(name, {})
            unknown = sorted(k for k in [*planned[name], *deleted[name]] if k not in known)
            if not unknown:
                continue
            title = self.central[name].title
            if not known:
                flt = f"GtSiteId eq {odata_literal(site_id)}"
                lookups.append(
                    Operation(
                        "GET",
                        f"Web/lists/GetByTitle({title_segment(title)})/items?"
                        f"$select=ID,GtSourceKey&$filter={flt}&$top=5000",
                        key=(name, "site"),
                        list=title,
                    )
                )
                continue
            for i in range(0, len(unknown), self.options.keys_per_filter):
                chunk = unknown[i : i + self.options.keys_per_filter]
                flt = " or ".join(f"GtSourceKey eq {odata_literal(k)}" for k in chunk)
                lookups.append(
                    Operation(
                        "GET",
                        f"Web/lists/GetByTitle({title_segment(title)})/items?"
                        f"$select=ID,GtSourceKey&$filter={flt}&$top=5000",
                        key=(name, i),
                        list=title,
                    )
                )
        found: dict[str, dict[str, list[int]]] = {}
        if lookups:
            for res in self.hub.batch(lookups):
                name = res.key[0]
                if not res.ok:
                    raise _site_error(
                        res, self.hub.url, f"look up central rows in {self.central[name].title!r}"
                    )
                page = res.value if isinstance(res.value, list) else []
                if res.key[1] == "site" and len(page) >= 5000:
                    page = list(
                        self.hub.iter_items(
                            self.central[name].title,
                            select=["ID", "GtSourceKey"],
                            filter=f"GtSiteId eq {odata_literal(site_id)}",
                        )
                    )
                for raw in page:
                    found.setdefault(name, {}).setdefault(str(raw.get("GtSourceKey")), []).append(
                        int(raw["ID"])
                    )

        ops: list[Operation] = []
        for name in KIND_ORDER:
            title = self.central[name].title
            known = cmap.get(name, {})
            path = f"Web/lists/GetByTitle({title_segment(title)})"
            extra_ids = found.get(name, {})
            for key, values in planned[name].items():
                digest = content_hash(json_safe(values))
                ids = [known[key][0]] if key in known else sorted(extra_ids.get(key, []))
                if key in known and known[key][1] == digest:
                    counts["unchanged"] += 1
                    continue
                if ids:
                    ops.append(
                        Operation(
                            "MERGE",
                            f"{path}/items({ids[0]})",
                            values,
                            key=("update", name, key, ids[0], digest),
                            list=title,
                            item=ids[0],
                        )
                    )
                    for dup in ids[1:]:  # duplicates from an older failure: keep one
                        ops.append(
                            Operation(
                                "DELETE",
                                f"{path}/items({dup})",
                                key=("dedupe", name, key, dup, ""),
                                list=title,
                                item=dup,
                            )
                        )
                else:
                    ops.append(
                        Operation(
                            "POST", f"{path}/items", values, key=("create", name, key, 0, digest), list=title
                        )
                    )
            for key in deleted[name]:
                ids = [known[key][0]] if key in known else sorted(extra_ids.get(key, []))
                for cid in ids:
                    ops.append(
                        Operation(
                            "DELETE",
                            f"{path}/items({cid})",
                            key=("delete", name, key, cid, ""),
                            list=title,
                            item=cid,
                        )
                    )
                if not ids:
                    self.store.drop_central(name, [key])
        if not ops:
            return counts
        # Item bodies need the central lists' entity type names.
        entity = self._entity_types()
        ops = [_with_type(op, entity) for op in ops]
        failures: list[str] = []
        retry_creates: list[Operation] = []
        for attempt in range(2):
            mapped: dict[str, list[tuple[str, str, int, str]]] = {}
            dropped: dict[str, list[str]] = {}
            for res in self.hub.batch(ops):
                action, name, key, cid, digest = res.key
                if res.ok:
                    if action == "create":
                        new_id = int((res.value or {}).get("Id") or (res.value or {}).get("ID"))
                        mapped.setdefault(name, []).append((key, site_id, new_id, digest))
                        counts["created"] += 1
                    elif action == "update":
                        mapped.setdefault(name, []).append((key, site_id, cid, digest))
                        counts["updated"] += 1
                    elif action == "delete":
                        dropped.setdefault(name, []).append(key)
                        counts["deleted"] += 1
                elif isinstance(res.error, NotFoundError) and action in ("delete", "dedupe"):
                    if action == "delete":
                        dropped.setdefault(name, []).append(key)
                elif isinstance(res.error, NotFoundError) and action == "update" and attempt == 0:
                    # Someone removed the central item: create it again.
                    dropped.setdefault(name, []).append(key)
                    body = next(op.body for op in ops if op.key == res.key)
                    title = self.central[name].title
                    retry_creates.append(
                        _with_type(
                            Operation(
                                "POST",
                                f"Web/lists/GetByTitle({title_segment(title)})/items",
                                body,
                                key=("create", name, key, 0, digest),
                                list=title,
                            ),
                            entity,
                        )
                    )
                else:
                    failures.append(str(res.error) if res.error else f"HTTP {res.status}")
            for name, entries in mapped.items():
                self.store.set_central(name, entries)
            for name, keys in dropped.items():
                self.store.drop_central(name, keys)
            if not retry_creates:
                break
            ops, retry_creates = retry_creates, []
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise SiteFailure(
                f"writing to the hub failed: {failures[0]}{more}",
                hint="The next run retries; nothing was lost at the source.",
            )
        return counts

    def _entity_types(self) -> dict[str, str]:
        """Item entity type names of the central lists: one ``$batch`` per run, shared by the workers."""
        with _ENTITY_LOCK:
            missing = [c for c in self.central.values() if not c.entity_type]
            if missing:
                ops = [
                    Operation(
                        "GET",
                        f"Web/lists/GetByTitle({title_segment(c.title)})?$select=ListItemEntityTypeFullName",
                        key=c.kind,
                        list=c.title,
                    )
                    for c in missing
                ]
                for res in self.hub.batch(ops):
                    if not res.ok or not isinstance(res.value, dict):
                        raise _site_error(
                            res, self.hub.url, f"read the central list {self.central[res.key].title!r}"
                        )
                    self.central[res.key].entity_type = str(res.value.get("ListItemEntityTypeFullName") or "")
            return {c.title: c.entity_type for c in self.central.values()}

    def _reconcile_project(
        self, prop_item: dict[str, Any] | None, project: dict[str, Any], counts: dict[str, Any]
    ) -> None:
        """Bring the hub's Prosjekter item in step with Prosjektegenskaper (write only on difference)."""
        wanted: dict[str, Any] = {"GtSiteId": project["site_id"], "GtSiteUrl": self.project.url}
        if prop_item:
            for name in ("Title", *PROPERTY_FIELDS):
                if name not in prop_item or name not in self.project_fields:
                    continue
                value = prop_item[name]
                if name == "GtProjectPhase":
                    value = phase_label(value)
                    if "GtProjectPhaseText" in self.project_fields:
                        wanted["GtProjectPhaseText"] = value
                if self.project_fields.get(name) in (
                    "Text",
                    "Note",
                    "Choice",
                    "Number",
                    "DateTime",
                    "Boolean",
                ):
                    wanted[name] = value
        reg = self.project.register
        diff = {k: v for k, v in wanted.items() if not _same(reg.get(k), v)}
        if not diff:
            return
        typed: dict[str, Any] = {}
        for k, v in diff.items():
            typed.update(central_values_typed(k, self.project_fields.get(k, "Text"), v))
        info = self.hub.resolve_list(PROJECTS_LIST_TITLE)
        if self.project.register_id:
            results = self.hub.update_items(info, {self.project.register_id: typed})
        else:
            typed.setdefault("Title", project["title"] or self.project.url)
            results = self.hub.create_items(info, [typed])
        for res in results:
            if not res.ok:
                raise SiteFailure(f"updating the project register failed: {res.error}")
        counts["register_updated" if self.project.register_id else "register_created"] = 1


def central_values_typed(name: str, ftype: str, value: Any) -> dict[str, Any]:
    from veiviser.sync.rows import _typed

    return _typed(name, ftype, value, {})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime):
        a = a.isoformat()
    if isinstance(b, datetime):
        b = b.isoformat()
    if isinstance(a, str) and isinstance(b, str) and a[:10] == b[:10] and len(a) >= 19 and len(b) >= 19:
        return a.replace("Z", "+00:00")[:19] == b.replace("Z", "+00:00")[:19]
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


def _add_titles(
    name: str,
    row: Mapping[str, Any],
    values: dict[str, Any],
    fields: Mapping[str, str],
    titles: Mapping[str, Mapping[str, Any]],
) -> None:
    """Looked-up titles and keys the central lists carry (GtGainKey/Title, GtIndicatorKey/Title, …)."""
    bkey, ikey = row.get("benefit_key"), row.get("indicator_key")
    extra = {
        "GtGainKey": bkey,
        "GtGainTitle": titles["benefits"].get(bkey) if bkey else None,
        "GtIndicatorKey": ikey,
        "GtIndicatorTitle": titles["indicators"].get(ikey) if ikey else None,
    }
    for k, v in extra.items():
        if k in fields:
            values[k] = v


def _with_type(op: Operation, entity: Mapping[str, str]) -> Operation:
    if op.verb not in ("POST", "MERGE") or not isinstance(op.body, dict):
        return op
    from veiviser.sharepoint.values import row_to_sharepoint

    body = row_to_sharepoint(op.body, where=f"list {op.list!r}")
    body["__metadata"] = {"type": entity.get(op.list or "", "")}
    return Operation(op.method, op.path, body, key=op.key, list=op.list, item=op.item)


def _site_error(res: OperationResult, site_url: str, what: str) -> SharePointError | SiteFailure:
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
