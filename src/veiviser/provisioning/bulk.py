"""Bulk provisioning from a municipality's project file, and upgrading every project site of a hub.

``provision_bulk`` reads rows with :func:`~veiviser.provisioning.bulk_input.read_projects`, runs
valid rows on a thread pool (one SiteClient per call, a shared rate limiter) and keeps a progress
journal (``<file>.veiviser-journal.json``) keyed by alias: an interrupted run is re-run with the
same command; finished rows are verified cheaply (their register entry and template version, one
query for all) instead of being provisioned again. Invalid rows are reported and never stop the
valid ones.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veiviser.errors import VeiviserError
from veiviser.provisioning.bulk_input import BulkInput, read_projects
from veiviser.provisioning.engine import ProjectRequest, Provisioner, SiteResult
from veiviser.provisioning.register import REGISTER_LIST
from veiviser.sharepoint import ListTarget
from veiviser.sharepoint import items as rest
from veiviser.sharepoint import schema as sp
from veiviser.sharepoint.sites import hub_joined_site_urls

Progress = Callable[[SiteResult], None]


@dataclass
class BulkResult:
    """Per-row results plus the rows that were invalid."""

    input: BulkInput
    results: list[SiteResult] = field(default_factory=list)
    journal: Path | None = None
    file: str = ""
    """The input file as given."""
    learned_ru_per_minute: int | None = None
    """The pace the tenant allowed, as the shared limiter learned it (docs/sharepoint.md, "Pacing")."""
    announced_ru_per_minute: int | None = None
    """The budget the tenant announced in ``RateLimit-Limit``, if it did."""

    @property
    def ok(self) -> bool:
        return not self.input.problems and all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The run (or plan) as plain data: counts, invalid rows and one entry per row."""
        return {
            "file": self.file,
            "counts": self.counts(),
            "learned_ru_per_minute": self.learned_ru_per_minute,
            "announced_ru_per_minute": self.announced_ru_per_minute,
            "problems": [str(p) for p in self.input.problems],
            "results": [r.to_dict() for r in self.results],
        }

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.outcome] = out.get(r.outcome, 0) + 1
        if self.input.problems:
            out["invalid"] = out.get("invalid", 0) + len(self.input.rejected_lines)
        return out


class Journal:
    """A JSON progress file keyed by alias; written atomically after every finished row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.rows: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                self.rows = json.loads(path.read_text(encoding="utf-8")).get("rows", {})
            except (OSError, ValueError) as exc:
                raise VeiviserError(
                    f"{path}: the progress journal cannot be read ({exc})",
                    hint="Delete it to start over; finished sites are recognised again.",
                ) from None

    def done(self, alias: str) -> dict[str, Any] | None:
        row = self.rows.get(alias)
        return row if row and row.get("status") == "done" else None

    def record(self, alias: str, **values: Any) -> None:
        with self._lock:
            self.rows[alias] = values
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            tmp.write_text(json.dumps({"rows": self.rows}, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(self.path)


def journal_path(file: str | Path, state_dir: str | Path | None = None) -> Path:
    file = Path(file)
    base = Path(state_dir) if state_dir else file.parent
    return base / f"{file.name}.veiviser-journal.json"


def _verify_done(prov: Provisioner, journal: Journal, aliases: list[str]) -> set[str]:
    """Aliases whose journal entry still matches the hub register (site id and template version)."""
    done = {a: d for a in aliases if (d := journal.done(a))}
    if not done:
        return set()
    hub = prov.client(prov.hub_url)
    register = ListTarget.by_title(REGISTER_LIST)
    rows = hub.run(rest.get_items(register, select="Id,GtSiteId,GtSiteUrl,GtTemplateVersion", top=5000)) or []
    by_id = {str(r.get("GtSiteId") or "").lower(): r for r in rows}
    stamp = prov.project_template.stamp
    return {
        a
        for a, d in done.items()
        if (r := by_id.get(str(d.get("site_id") or "").lower())) and r.get("GtTemplateVersion") == stamp
    }


def provision_bulk(
    prov: Provisioner,
    file: str | Path,
    *,
    workers: int = 4,
    dry_run: bool = False,
    state_dir: str | Path | None = None,
    progress: Progress | None = None,
    on_input: Callable[[BulkInput], None] | None = None,
) -> BulkResult:
    """Provision one project per valid row of ``file``; see the module docstring."""
    phases = prov.project_template.get_list("properties").field("GtProjectPhase").choices
    data = read_projects(file, phases=phases)
    if on_input is not None:
        on_input(data)
    result = BulkResult(data, journal=None if dry_run else journal_path(file, state_dir), file=str(file))
    journal = Journal(result.journal) if result.journal else None
    if not dry_run:
        _require_owners(prov, data, journal)
    verified = _verify_done(prov, journal, [s.alias for s in data.projects]) if journal else set()
    refused = {} if dry_run else _unknown_people(prov, data.projects, verified)

    def run(spec: Any) -> SiteResult:
        request = ProjectRequest.from_spec(spec)
        url = prov.project_url(spec.alias)
        if spec.alias in refused:
            res = SiteResult(url, "invalid", spec.title, spec.alias, error=refused[spec.alias])
        elif spec.alias in verified and journal is not None:
            res = SiteResult(
                url,
                "up to date",
                spec.title,
                spec.alias,
                site_id=journal.rows[spec.alias].get("site_id", ""),
                notes=["verified from the journal"],
            )
        else:
            # A row an earlier run started but did not finish: the site there is our own work.
            started = journal is not None and journal.rows.get(spec.alias, {}).get("status") == "started"
            if journal is not None and not dry_run:
                journal.record(spec.alias, status="started", url=url)
            try:
                res = prov.project(request, dry_run=dry_run, resume=started)
            except VeiviserError as exc:
                res = SiteResult(url, "failed", spec.title, spec.alias, error=str(exc))
            except Exception as exc:  # one row must never stop the others
                res = SiteResult(url, "failed", spec.title, spec.alias, error=f"unexpected error: {exc!r}")
            if journal is not None:
                journal.record(
                    spec.alias,
                    status="done" if res.ok else "failed",
                    site_id=res.site_id,
                    url=url,
                    outcome=res.outcome,
                    error=res.error,
                )
        if progress is not None:
            progress(res)
        return res

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="provision") as pool:
        result.results = list(pool.map(run, data.projects))
    result.learned_ru_per_minute, result.announced_ru_per_minute = prov.pace()
    return result


def _people_of(spec: Any, default_owner: str | None) -> dict[str, str]:
    """A row's people by column: the owner (also the site owner; ``--owner`` when the row has none) and leader."""
    people = {"owner": spec.owner or default_owner, "leader": spec.leader}
    return {column: email for column, email in people.items() if email}


def _require_owners(prov: Provisioner, data: BulkInput, journal: Journal | None) -> None:
    """Refuse once, before the first request, when rows without an owner may need a new site."""
    lacking = [s for s in data.projects if not s.owner and not (journal and journal.done(s.alias))]
    if lacking:
        lines = ", ".join(str(s.source) if s.source else s.alias for s in lacking[:5])
        more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        prov.require_owner(f"a project site of a row without an owner ({lines}{more})")


def _unknown_people(prov: Provisioner, specs: list[Any], verified: set[str]) -> dict[str, str]:
    """Rows whose people the tenant does not know, with what to say; one ``$batch`` on the hub for
    every distinct person of the file (docs/provisioning.md, "People")."""
    todo = [s for s in specs if s.alias not in verified]
    emails = [e for s in todo for e in _people_of(s, prov.owner).values()]
    if not emails:
        return {}
    unknown = prov.check_people(prov.client(prov.hub_url), emails)
    refused: dict[str, str] = {}
    for s in todo:
        problems = [
            f"{column} {email} is not a user in the tenant"
            for column, email in _people_of(s, prov.owner).items()
            if email.strip().lower() in unknown
        ]
        if problems:
            where = f"{s.source}: " if s.source else ""
            refused[s.alias] = where + "; ".join(problems) + "; nothing was created for this row"
    return refused


@dataclass
class UpgradeResult:
    results: list[SiteResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    learned_ru_per_minute: int | None = None
    announced_ru_per_minute: int | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def hub_joined_sites(prov: Provisioner) -> tuple[list[str], str | None]:
    """URLs of the sites joined to the hub, from the tenant's site list; ``(urls, None)`` or ``([], why not)``."""
    try:
        admin = prov.client(prov.hub_url).admin()
        return hub_joined_site_urls(admin, prov.hub_id(), exclude=prov.hub_url), None
    except VeiviserError as exc:
        return [], f"could not list the sites joined to the hub ({exc}); only the register was used"


def _request_from_site(prov: Provisioner, url: str) -> ProjectRequest:
    """A request for a joined site that the register does not know: title from its project properties."""
    alias = url.rstrip("/").rsplit("/", 1)[-1]
    site = prov.client(url)
    title = alias
    try:
        rows = (
            site.run(
                rest.get_items(
                    ListTarget.by_title("Prosjektegenskaper"), top=1, orderby="Id", order=("top", "orderby")
                )
            )
            or []
        )
        title = str((rows[0] if rows else {}).get("Title") or "") or str(
            site.run(sp.read_web("Title")).get("Title") or alias
        )
    except VeiviserError:
        pass
    return ProjectRequest(title=title, alias=alias)


def upgrade(
    prov: Provisioner,
    *,
    workers: int = 4,
    dry_run: bool = False,
    progress: Progress | None = None,
    sites: Iterable[str] = (),
    joined: bool = True,
) -> UpgradeResult:
    """Bring every project site of the hub to the current template (additive only).

    Sites come from the hub register, plus (``joined=True``) the sites the tenant reports as joined
    to the hub, plus explicit ``sites`` URLs that are joined to the hub. A joined site that is not
    in the register is upgraded only if it is a veiviser project site (its own ``Prosjektegenskaper``;
    it is then registered again) and is reported as "not in the register".
    """
    notes: list[str] = []
    if joined and not prov.connection_settings().admin_url:
        # Preflight: say what is skipped before the first request (docs/provisioning.md, "Preflights").
        notes.append(
            "VEIVISER_ADMIN_URL is not set: sites joined to the hub that the register misses were not "
            "looked for (only the register and --site were used)"
        )
        joined = False
    hub = prov.client(prov.hub_url)
    rows = hub.run(rest.get_items(ListTarget.by_title(REGISTER_LIST), top=5000)) or []
    registered: dict[str, dict[str, Any]] = {}
    for r in rows:
        url = str(r.get("GtSiteUrl") or "").rstrip("/")
        if url:
            registered.setdefault(url.lower(), r)
    extra: list[str] = []
    if joined:
        found, why = hub_joined_sites(prov)
        extra += found
        if why:
            notes.append(why)
    hub_id = prov.hub_id() if sites else ""
    for url in sites:
        d = prov.client(url).run(sp.read_site("HubSiteId"))
        if str(d.get("HubSiteId") or "").lower() != hub_id:
            notes.append(f"{url} is not joined to the hub {prov.hub_url}; left out")
        else:
            extra.append(url.rstrip("/"))
    unregistered = list(dict.fromkeys(u for u in extra if u.lower() not in registered))

    def run_registered(row: dict[str, Any]) -> SiteResult:
        url = str(row["GtSiteUrl"]).rstrip("/")
        alias = url.rsplit("/", 1)[-1]
        request = ProjectRequest(
            title=str(row.get("Title") or alias),
            alias=alias,
            unit=row.get("GtProjectUnit"),
            phase=row.get("GtProjectPhase") or None,
            start_year=int(row["GtStartYear"]) if row.get("GtStartYear") else None,
            lifecycle_status=row.get("GtProjectLifecycleStatus") or None,
            service_area=row.get("GtProjectServiceAreaText") or None,
        )
        return _upgrade_one(prov, request, url, dry_run, progress)

    def run_unregistered(url: str) -> SiteResult:
        res = _upgrade_one(prov, _request_from_site(prov, url), url, dry_run, progress, unregistered=True)
        return res

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="upgrade") as pool:
        results = list(pool.map(run_registered, registered.values())) + list(
            pool.map(run_unregistered, unregistered)
        )
    return UpgradeResult(results, notes, *prov.pace())


def _upgrade_one(
    prov: Provisioner,
    request: ProjectRequest,
    url: str,
    dry_run: bool,
    progress: Progress | None,
    *,
    unregistered: bool = False,
) -> SiteResult:
    try:
        res = prov.upgrade_site(request, dry_run=dry_run)
    except VeiviserError as exc:
        res = SiteResult(url, "failed", request.title, request.alias, error=str(exc))
    if unregistered:
        res.notes.insert(
            0,
            "joined to the hub but not in the register"
            + ("" if not res.ok or dry_run else "; registered again"),
        )
    if progress is not None:
        progress(res)
    return res
