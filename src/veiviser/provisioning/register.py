"""The hub's project register (``Prosjekter``) and yearly operating costs (``Driftskostnader``).

Every project site has one register item on the hub, keyed by its site id (``GtSiteId``); it is
claimed before a new site gets its template, so an interrupted run is recognised as ours, and
stamped with the template version afterwards (docs/provisioning.md, "Idempotence"). Costs are one
item per year, keyed ``<site id>:<year>``, in kroner.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from veiviser.provisioning.apply import ProvisionError
from veiviser.provisioning.plan import same_value
from veiviser.provisioning.state import SiteState, item_id
from veiviser.sharepoint import (
    ListTarget,
    LookupValue,
    OperationResult,
    SiteClient,
    normalise_item,
    odata_literal,
)
from veiviser.sharepoint import items as rest

REGISTER_LIST = "Prosjekter"
COSTS_LIST = "Driftskostnader"


def read_register(
    hub: SiteClient, hub_url: str, url: str, site_id: str, *, costs: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Register items for ``url`` and (if ``costs``) cost items for ``site_id``, in one ``$batch``."""
    ops = [
        rest.get_items(
            ListTarget.by_title(REGISTER_LIST),
            filter=f"GtSiteUrl eq {odata_literal(url)}",
            top=50,
            key="register",
            list=REGISTER_LIST,
        )
    ]
    if costs:
        ops.append(
            rest.get_items(
                ListTarget.by_title(COSTS_LIST),
                filter=f"GtSiteId eq {odata_literal(site_id)}",
                top=500,
                key="costs",
                list=COSTS_LIST,
            )
        )
    out: dict[str, list[dict[str, Any]]] = {"register": [], "costs": []}
    for r in hub.batch(ops):
        if not r.ok:
            assert r.error is not None
            raise r.error.located(site=hub_url)
        out[r.key] = [normalise_item(row) for row in (r.value or [])]
    return out["register"], out["costs"]


def write_register_item(
    hub: SiteClient,
    hub_url: str,
    site_url: str,
    values: dict[str, Any],
    row: Mapping[str, Any] | None,
    *,
    leader: str | None = None,
    owner: str | None = None,
) -> bool:
    """Create the register item (``row`` None) or merge what changed; returns True if it wrote.

    ``leader``/``owner`` e-mails are resolved on the hub and written as person fields.
    """
    for name, email in (("GtProjectManager", leader), ("GtProjectOwner", owner)):
        if email:
            values[name] = LookupValue(hub.ensure_user(email))
    if row is None:
        results = hub.create_items(REGISTER_LIST, [values])
    else:
        changed = {
            k: v
            for k, v in values.items()
            if not same_value(v, row.get(f"{k}Id") if isinstance(v, LookupValue) else row.get(k))
        }
        if not changed:
            return False
        results = hub.update_items(REGISTER_LIST, {item_id(row): changed})
    _raise_failed(
        results, f"[{hub_url}, list {REGISTER_LIST!r}] could not write the register item for {site_url}"
    )
    return True


def write_costs(
    hub: SiteClient,
    hub_url: str,
    state: SiteState,
    title: str,
    costs: Mapping[int, Decimal],
    rows: list[dict[str, Any]],
) -> bool:
    """Upsert one Driftskostnader item per year, keyed ``<site id>:<year>`` (amounts in kroner)."""
    by_key = {str(r.get("GtCostKey")): r for r in rows}
    creates: list[dict[str, Any]] = []
    updates: dict[int, dict[str, Any]] = {}
    for year, amount in sorted(costs.items()):
        values: dict[str, Any] = {
            "GtSiteId": state.site_id,
            "GtProjectTitle": title,
            "GtCostYear": year,
            "GtOperatingCost": float(Decimal(amount) * 1000),
            "GtCostKey": f"{state.site_id}:{year}",
            "Title": f"{title[:200]} {year}",
        }
        row = by_key.get(values["GtCostKey"])
        if row is None:
            creates.append(values)
            continue
        changed = {k: v for k, v in values.items() if not same_value(v, row.get(k))}
        if changed:
            updates[item_id(row)] = changed
    results: list[OperationResult] = []
    if creates:
        results += hub.create_items(COSTS_LIST, creates)
    if updates:
        results += hub.update_items(COSTS_LIST, updates)
    _raise_failed(
        results, f"[{hub_url}, list {COSTS_LIST!r}] could not write operating costs for {state.url}"
    )
    return bool(results)


def _raise_failed(results: list[OperationResult], message: str) -> None:
    failed = [r for r in results if not r.ok]
    if failed:
        raise ProvisionError(f"{message}: {failed[0].error}")
