"""Change over time from the history frame (one row per version of a row; see frames.py).

- :func:`changes_since`: per row key, what happened between ``since`` and ``as_of``: ``new``
  (first version after ``since``), ``deleted``, ``closed`` (a risk whose ``GtRiskStatus`` became
  «Ikke lenger aktuell»), or ``changed`` (value columns differ; the fields are listed).
- :func:`value_series`: how one field of each row moved, e.g. each indicator's target
  ``GtDesiredValue``; one row per version where the value changed.
- :func:`target_moves`: first and latest target per indicator, with the benefit it belongs to —
  benefits have no numeric estimate field in the model, so a benefit's estimate is read from the
  targets of its indicators.

``kind`` values are matched case-insensitively and singular/plural alike (``risk`` = ``risks``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from veiviser.portfolio.frames import is_missing, prepare, to_timestamp
from veiviser.portfolio.risks import CLOSED_STATUS
from veiviser.schemas.names import F
from veiviser.schemas.parsing import to_number

META_COLUMNS = {
    "source_key",
    "kind",
    "valid_from",
    "valid_to",
    "deleted",
    "project_key",
    "project_title",
    "item_id",
    "Modified",
    "Created",
    "Editor",
    "Author",
    "version",
    "_version",
    "etag",
}
CHANGE_COLUMNS = [
    "kind",
    "change",
    "project_key",
    "project_title",
    "source_key",
    "Title",
    "at",
    "changed_fields",
    "before",
    "after",
]


def _kind(value: Any) -> str:
    text = str(value).strip().casefold()
    return text[:-1] if text.endswith("s") else text


def _same(a: Any, b: Any) -> bool:
    if is_missing(a) and is_missing(b):
        return True
    if is_missing(a) or is_missing(b):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _is_true(value: Any) -> bool:
    return not is_missing(value) and bool(value)


def _version_at(versions: pd.DataFrame, when: pd.Timestamp) -> pd.Series | None:
    live = versions[
        (versions["valid_from"] <= when) & (versions["valid_to"].isna() | (versions["valid_to"] > when))
    ]
    return None if live.empty else live.iloc[-1]


def changes_since(
    history: pd.DataFrame | None,
    since: object,
    *,
    as_of: object | None = None,
    kinds: Iterable[str] = ("risks", "benefits"),
) -> pd.DataFrame:
    """New, deleted, closed and changed rows of ``kinds`` between ``since`` and ``as_of`` (default: latest)."""
    df = prepare("history", history)
    since_ts = to_timestamp(since, "since")
    wanted = {_kind(k) for k in kinds}
    df = df[df["kind"].map(_kind).isin(wanted)]
    if as_of is not None:
        as_of_ts = to_timestamp(as_of)
        df = df[df["valid_from"] <= as_of_ts]
    else:
        as_of_ts = df["valid_from"].max() if len(df) else since_ts
    value_cols = [c for c in df.columns if c not in META_COLUMNS]
    rows = []
    for key, versions in df.sort_values(["source_key", "valid_from"], kind="stable").groupby(
        "source_key", sort=True
    ):
        before = _version_at(versions, since_ts)
        if before is not None and _is_true(before["deleted"]):
            before = None
        after = versions.iloc[-1]
        if after["valid_from"] <= since_ts and before is not None:
            continue  # nothing since
        deleted = _is_true(after["deleted"])
        base = {
            "kind": after["kind"],
            "project_key": after.get("project_key"),
            "project_title": after.get("project_title"),
            "source_key": key,
            "Title": after.get("Title")
            if not is_missing(after.get("Title"))
            else (before.get("Title") if before is not None else None),
            "at": after["valid_from"],
        }
        if before is None:
            if versions.iloc[0]["valid_from"] <= since_ts and deleted:
                continue  # deleted before since
            if deleted:
                rows.append({**base, "change": "new", "changed_fields": [], "before": None, "after": None})
                rows.append(
                    {**base, "change": "deleted", "changed_fields": [], "before": None, "after": None}
                )
            else:
                rows.append(
                    {
                        **base,
                        "change": "new",
                        "changed_fields": [],
                        "before": None,
                        "after": {c: after[c] for c in value_cols if not is_missing(after[c])},
                    }
                )
            continue
        if deleted:
            rows.append({**base, "change": "deleted", "changed_fields": [], "before": None, "after": None})
            continue
        changed = [c for c in value_cols if not _same(before[c], after[c])]
        if not changed:
            continue
        was_closed = str(before.get(F.RISK_STATUS) or "").strip() == CLOSED_STATUS
        is_closed = str(after.get(F.RISK_STATUS) or "").strip() == CLOSED_STATUS
        change = "closed" if is_closed and not was_closed else "changed"
        rows.append(
            {
                **base,
                "change": change,
                "changed_fields": changed,
                "before": {c: before[c] for c in changed},
                "after": {c: after[c] for c in changed},
            }
        )
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    return out.sort_values(["kind", "change", "source_key"], kind="stable").reset_index(drop=True)


def value_series(history: pd.DataFrame | None, *, kind: str, field: str) -> pd.DataFrame:
    """Versions where ``field`` of rows of ``kind`` took a new value: source_key, valid_from, value
    (the first version always counts; deleted versions are left out)."""
    df = prepare("history", history)
    columns = ["source_key", "project_key", "Title", "benefit_key", "valid_from", "value"]
    df = df[df["kind"].map(_kind) == _kind(kind)]
    if field not in df.columns or df.empty:
        return pd.DataFrame(columns=columns)
    df = df[~df["deleted"].fillna(False).astype(bool)].sort_values(
        ["source_key", "valid_from"], kind="stable"
    )
    if "benefit_key" not in df.columns:
        df = df.assign(benefit_key=None)
    keep = []
    last: dict[str, Any] = {}
    for idx, key, value in zip(df.index, df["source_key"], df[field], strict=True):
        if key not in last or not _same(last[key], value):
            keep.append(idx)
        last[key] = value
    out = df.loc[keep, ["source_key", "project_key", "Title", "benefit_key", "valid_from", field]].rename(
        columns={field: "value"}
    )
    return out.reset_index(drop=True)


def target_moves(history: pd.DataFrame | None) -> pd.DataFrame:
    """Per indicator: first and latest ``GtDesiredValue``, the change, and how many times it moved."""
    s = value_series(history, kind="indicators", field=F.DESIRED_VALUE)
    columns = [
        "source_key",
        "project_key",
        "Title",
        "benefit_key",
        "first_target",
        "latest_target",
        "change",
        "moves",
        "last_moved",
    ]
    if s.empty:
        return pd.DataFrame(columns=columns)
    s["value"] = s["value"].map(to_number).astype("float64")
    g = s.groupby("source_key", sort=True)
    out = pd.DataFrame(
        {
            "project_key": g["project_key"].last(),
            "Title": g["Title"].last(),
            "benefit_key": g["benefit_key"].last(),
            "first_target": g["value"].first(),
            "latest_target": g["value"].last(),
            "moves": g.size() - 1,
            "last_moved": g["valid_from"].last(),
        }
    ).reset_index()
    out["change"] = out["latest_target"] - out["first_target"]
    out.loc[out["moves"] == 0, "last_moved"] = pd.NaT
    return out[columns]
