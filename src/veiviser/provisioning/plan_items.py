"""Planning items: seed items of template lists and site data (``DataItem``) matched on their keys.

Pure, like :mod:`veiviser.provisioning.plan`: rows as read from the site in, steps and drift out.
Seed items are matched on the list's key fields, so re-seeding never duplicates; a data item is
matched on ``match`` (or is the list's only item), created when missing and merged when its
values differ (docs/provisioning.md, "Idempotence").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veiviser.provisioning.state import ListState, SiteState, item_id
from veiviser.provisioning.steps import ROUND_CONTENT, ROUND_STAMP, DataItem, Drift, Plan, Step
from veiviser.schemas.template import ListDef, Template
from veiviser.sharepoint import LookupValue


def same_value(want: Any, have: Any) -> bool:
    """Loose equality for item values as SharePoint returns them (numbers as floats, empty as None)."""
    if isinstance(want, LookupValue):
        return isinstance(have, int | float | str) and str(have).isdigit() and int(have) == want.id
    if want in (None, "") and have in (None, ""):
        return True
    if isinstance(want, bool) or isinstance(have, bool):
        return bool(want) == bool(have) and want is not None and have is not None
    if isinstance(want, int | float) and isinstance(have, int | float | str):
        try:
            return float(want) == float(have)
        except ValueError:
            return False
    if isinstance(want, list | tuple):
        return isinstance(have, list | tuple) and [str(x) for x in want] == [str(x) for x in have]
    if isinstance(want, dict) and "Id" in want:
        return isinstance(have, int | float) and int(have) == int(want["Id"])
    return str(want) == str(have)


def key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value)


def plan_seed(lst: ListDef, existing: ListState, out: Plan) -> None:
    if not lst.seed_items:
        return
    if existing.items is None:
        out.notes.append(f"list {lst.title!r}: could not read its items; seed items not planned")
        return
    have = {"|".join(key_text(i.get(k)) for k in lst.key_fields) for i in existing.items}
    for item in lst.seed_items:
        key = lst.seed_key(item)
        if key in have:
            continue
        have.add(key)
        values = {k: v for k, v in item.values.items() if v is not None}
        out.steps.append(
            Step(
                "create_item",
                ROUND_CONTENT,
                lst.key,
                key,
                _short(values.get("Title") or key),
                {"values": values, "seed": True},
            )
        )


def _short(value: Any, n: int = 60) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def plan_data(template: Template, state: SiteState, items: list[DataItem], out: Plan) -> None:
    for data in items:
        lst = template.get_list(data.list_key)
        existing = state.lists.get(lst.key)
        rows = existing.items if existing is not None else []
        if rows is None:
            out.notes.append(
                f"list {lst.title!r}: could not read its items; {data.label or 'item'} not written"
            )
            continue
        if data.match is None:
            match = sorted(rows, key=lambda r: int(r.get("Id") or r.get("ID") or 0))[:1]
        else:
            match = [r for r in rows if all(same_value(v, r.get(k)) for k, v in data.match.items())]
        label = data.label or (", ".join(f"{k}={v}" for k, v in (data.match or {}).items()) or "the item")
        if not match:
            values = {**(data.match or {}), **data.create_only, **data.values}
            out.steps.append(Step("create_item", ROUND_CONTENT, lst.key, label, "new", {"values": values}))
            if data.stamp:
                out.steps.append(_stamp_step(lst.key, label, data.stamp, created=label))
            continue
        if len(match) > 1:
            out.drift.append(
                Drift(
                    lst.key,
                    label,
                    f"{len(match)} items match; the first (id {match[0].get('Id')}) is kept up to date",
                )
            )
        row = match[0]
        row_id = item_id(row)
        changed = {k: v for k, v in data.values.items() if not same_value(v, _item_value(row, k, v))}
        if changed:
            out.steps.append(
                Step(
                    "update_item",
                    ROUND_CONTENT,
                    lst.key,
                    label,
                    ", ".join(changed),
                    {"id": row_id, "values": changed},
                )
            )
        stamp = {k: v for k, v in data.stamp.items() if not same_value(v, row.get(k))}
        if stamp:
            out.steps.append(_stamp_step(lst.key, label, stamp, id=row_id))


def _item_value(row: Mapping[str, Any], name: str, want: Any) -> Any:
    """The current value; person/lookup values are compared on ``<Name>Id``."""
    if isinstance(want, LookupValue):
        return row.get(f"{name}Id")
    return row.get(name)


def _stamp_step(list_key: str, label: str, stamp: Mapping[str, Any], **target: Any) -> Step:
    """The round-3 version stamp of an item: by ``id``, or by the label of an item ``created`` in this apply."""
    return Step(
        "stamp_item", ROUND_STAMP, list_key, label, ", ".join(stamp), {**target, "values": dict(stamp)}
    )
