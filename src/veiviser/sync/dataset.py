"""The report dataset from the sync: history store + hub register and rating lists.

:func:`load_dataset` is what ``veiviser report --hub`` and ``veiviser demo`` use to turn a synced
portfolio into a :class:`~veiviser.portfolio.dataset.PortfolioDataset`:

- ``risks`` … ``measurements``: the rows as they were at ``as_of``, from the history store
  (every figure is reproducible from the store);
- ``history``: every version of every row, for "changes since";
- ``projects``: the hub register ``Prosjekter`` (title, URL, phase, owner, project leader, unit,
  service area, ITPOSMO ratings as ``itposmo_<dimension>``) plus ``priority_<criterion>`` columns
  from ``Prioriteringsvurderinger``; projects that were synced but are not in the register (sites
  only joined to the hub) get a row from their synced Prosjektegenskaper.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.dataset import ITPOSMO_PREFIX, PRIORITY_PREFIX, PortfolioDataset
from veiviser.portfolio.itposmo import DIMENSION_KEYS
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint.client import SiteClient, connect
from veiviser.sharepoint.errors import SharePointError
from veiviser.sharepoint.transport import RateLimiter
from veiviser.sync.kinds import PROJECTS_LIST_TITLE
from veiviser.sync.lists import KIND_ORDER, PROPERTIES
from veiviser.sync.rows import phase_label
from veiviser.sync.state import StateStore

RATINGS_LIST_TITLE = "Prioriteringsvurderinger"

#: Register fields, in ITPOSMO dimension order (DIMENSION_KEYS).
ITPOSMO_FIELDS = (
    "GtItposmoInformation",
    "GtItposmoTechnology",
    "GtItposmoProcesses",
    "GtItposmoObjectives",
    "GtItposmoStaffing",
    "GtItposmoManagement",
    "GtItposmoOtherResources",
)
#: Plain register fields copied to the projects frame.
REGISTER_FIELDS = (
    "GtSiteUrl",
    "GtSiteId",
    "GtProjectNumber",
    "GtProjectLifecycleStatus",
    "GtProjectUnit",
    "GtStartYear",
    "GtProjectServiceAreaText",
    "GtProjectTypeText",
    "GtProjectPhaseText",
    "GtStartDate",
    "GtEndDate",
    "GtLastSyncTime",
    "GtGroupId",
)
#: Person fields of the register (owner, project leader, benefits responsible).
REGISTER_PEOPLE = ("GtProjectOwner", "GtProjectManager", "GtGainsResponsible")


class DatasetLoadError(VeiviserError):
    """The hub's register or rating lists could not be read for the report."""

    exit_code = 2


def load_dataset(
    state: StateStore | str | None,
    hub: SiteClient | str,
    *,
    as_of: datetime | pd.Timestamp | str | None = None,
    settings: ConnectionSettings | None = None,
    limiter: RateLimiter | None = None,
    title: str = "Porteføljerapport",
) -> PortfolioDataset:
    """The portfolio as synced: history store rows at ``as_of`` (default now) + the hub's lists.

    ``state`` is a :class:`StateStore` or its SQLAlchemy URL (None: the default store); ``hub`` a
    connected :class:`SiteClient` or the hub URL (connected with ``settings``, default from the
    environment). Costs two or three requests to the hub.
    """
    at = _as_of(as_of)
    if isinstance(state, StateStore):
        return _load(state, hub, at, settings, limiter, title)
    with StateStore(state) as store:
        return _load(store, hub, at, settings, limiter, title)


def _as_of(value: datetime | pd.Timestamp | str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp(datetime.now(UTC))
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DatasetLoadError(
            f"as_of {value!r} is not a date", hint="Use YYYY-MM-DD or an ISO timestamp."
        ) from exc
    return ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)


def _load(
    store: StateStore,
    hub: SiteClient | str,
    at: pd.Timestamp,
    settings: ConnectionSettings | None,
    limiter: RateLimiter | None,
    title: str,
) -> PortfolioDataset:
    client = connect(hub, settings, limiter=limiter) if isinstance(hub, str) else hub
    when = at.to_pydatetime()
    frames = {kind: store.history_frame(kind, when) for kind in KIND_ORDER}
    properties = store.history_frame(PROPERTIES, when)
    register, ratings = _read_hub(client)
    projects = projects_frame(register, ratings, properties)
    return PortfolioDataset(
        as_of=at,
        projects=projects,
        history=store.versions_frame(),
        title=title,
        source=client.url,
        risks=frames["risks"],
        stakeholders=frames["stakeholders"],
        benefits=frames["benefits"],
        indicators=frames["indicators"],
        measurements=frames["measurements"],
    )


def _read_hub(hub: SiteClient) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    select = ["ID", "Title", "GtProjectPhase", *REGISTER_FIELDS, *ITPOSMO_FIELDS]
    select += [f"{p}/{a}" for p in REGISTER_PEOPLE for a in ("Title", "EMail")]
    try:
        register = list(
            hub.iter_items(PROJECTS_LIST_TITLE, select=select, expand=list(REGISTER_PEOPLE), page_size=5000)
        )
    except SharePointError as exc:
        raise DatasetLoadError(
            f"Cannot read the project register {PROJECTS_LIST_TITLE!r} on the hub {hub.url}: {exc}",
            hint=exc.hint or "Check the hub URL and that the hub was provisioned (veiviser provision hub).",
        ) from exc
    try:
        ratings = list(
            hub.iter_items(
                RATINGS_LIST_TITLE, select=["GtSiteId", "GtCriterionKey", "GtPriorityRating"], page_size=5000
            )
        )
    except SharePointError as exc:
        if exc.status != 404:
            raise DatasetLoadError(
                f"Cannot read the prioritisation ratings {RATINGS_LIST_TITLE!r} on the hub {hub.url}: {exc}",
                hint=exc.hint or "Check the sync account's read access to the hub.",
            ) from exc
        ratings = []  # a hub without the ratings list: the report says "no data" for prioritisation
    return register, ratings


def projects_frame(
    register: list[dict[str, Any]], ratings: list[dict[str, Any]], properties: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per project: the register, the ratings and synced projects missing from the register.

    ``project_key`` is the site id (``GtSiteId``), the key the synced rows carry.
    """
    by_site: dict[str, dict[str, Any]] = {}
    for r in ratings:
        site_id = str(r.get("GtSiteId") or "").strip("{}").lower()
        key = r.get("GtCriterionKey")
        if site_id and key:
            by_site.setdefault(site_id, {})[f"{PRIORITY_PREFIX}{key}"] = r.get("GtPriorityRating")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in register:
        site_id = str(item.get("GtSiteId") or "").strip("{}").lower()
        row: dict[str, Any] = {"project_key": site_id or None, "project_title": item.get("Title")}
        for name in REGISTER_FIELDS:
            row[name] = item.get(name)
        row["GtProjectPhase"] = phase_label(item.get("GtProjectPhase")) or item.get("GtProjectPhaseText")
        for name in REGISTER_PEOPLE:
            row[name] = item.get(name)
        for key, fname in zip(DIMENSION_KEYS, ITPOSMO_FIELDS, strict=True):
            row[f"{ITPOSMO_PREFIX}{key}"] = item.get(fname)
        row.update(by_site.get(site_id, {}))
        row["in_register"] = True
        rows.append(row)
        if site_id:
            seen.add(site_id)
    if properties is not None and not properties.empty:
        for rec in properties.to_dict("records"):
            site_id = str(rec.get("site_id") or "").lower()
            if not site_id or site_id in seen or rec.get("deleted"):
                continue
            seen.add(site_id)
            rows.append(
                {
                    "project_key": site_id,
                    "project_title": rec.get("Title") or rec.get("project_title"),
                    "GtSiteUrl": rec.get("project_url"),
                    "GtSiteId": site_id,
                    "GtProjectNumber": rec.get("GtProjectNumber"),
                    "GtProjectLifecycleStatus": rec.get("GtProjectLifecycleStatus"),
                    "GtProjectServiceAreaText": rec.get("GtProjectServiceAreaText"),
                    "GtProjectTypeText": rec.get("GtProjectTypeText"),
                    "GtProjectPhase": phase_label(rec.get("GtProjectPhase")),
                    "GtStartDate": rec.get("GtStartDate"),
                    "GtEndDate": rec.get("GtEndDate"),
                    **by_site.get(site_id, {}),
                    "in_register": False,
                }
            )
    return pd.DataFrame(rows)


__all__ = ["DatasetLoadError", "load_dataset", "projects_frame"]
