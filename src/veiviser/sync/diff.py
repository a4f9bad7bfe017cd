"""The pure diff of one site: source rows and central state in, typed actions out (no I/O).

The sync works out what to do before it does anything, the way provisioning plans before it
applies: :func:`new_rows` folds the reads into the site's new rows, :func:`central_rows` computes
each row's values on the hub, and :func:`diff` compares them with the central item map (which
hub item each source row was written to, and the hash of what was written) and returns the
actions :mod:`veiviser.sync.write` applies. Every function here is deterministic and unit-tested
directly (see docs/sync.md, "The diff").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from veiviser.sync.discovery import ProjectSite
from veiviser.sync.history import content_hash
from veiviser.sync.kinds import SOURCE_KINDS, source_key
from veiviser.sync.lists import KIND_ORDER, PROPERTY_FIELDS, CentralList
from veiviser.sync.read import ListState
from veiviser.sync.rows import central_values, json_safe, phase_label, resolve_lookups, source_row

#: ``{kind: {source_key: row}}``: a site's rows per kind.
Rows = dict[str, dict[str, dict[str, Any]]]
#: ``{kind: {source_key: (central item id, hash of what was written)}}``: the central item map.
CentralMap = Mapping[str, Mapping[str, tuple[int, str]]]


# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keep:
    """The hub item already holds these values."""

    kind: str
    key: str


@dataclass(frozen=True)
class Create:
    """Create the hub item of a source row."""

    kind: str
    key: str
    values: dict[str, Any]
    digest: str


@dataclass(frozen=True)
class Update:
    """Write changed values into the row's hub item."""

    kind: str
    key: str
    central_id: int
    values: dict[str, Any]
    digest: str


@dataclass(frozen=True)
class Delete:
    """The row is gone at its source: delete its hub item."""

    kind: str
    key: str
    central_id: int


@dataclass(frozen=True)
class RemoveDuplicate:
    """A second hub item for one source row (left by an earlier failure): delete it, keep one."""

    kind: str
    key: str
    central_id: int


@dataclass(frozen=True)
class Forget:
    """The row is gone at its source and has no hub item: drop it from the central item map."""

    kind: str
    key: str


Action = Keep | Create | Update | Delete | RemoveDuplicate | Forget
#: The actions that become a request to the hub.
Write = Create | Update | Delete | RemoveDuplicate


# --- the site's new rows -------------------------------------------------------------------------


def properties_item(st: ListState, before: Mapping[str, Any]) -> dict[str, Any] | None:
    """The project properties item (Prosjektegenskaper item 1) as read now, else as last stored."""
    items = st.items or []
    for item in items:
        if int(item.get("ID") or item.get("Id") or 0) == 1 or len(items) == 1:
            return {k: json_safe(v) for k, v in item.items() if k in ("Title", "ID", *PROPERTY_FIELDS)}
    if not st.full and 1 not in st.deleted_ids and before:
        return dict(next(iter(before.values())))
    return None


def project_facts(site_id: str, site: ProjectSite, prop_item: Mapping[str, Any] | None) -> dict[str, Any]:
    """``site_id``, ``url``, ``title`` and ``phase`` of the project: its properties, else the register."""
    props = prop_item or {}
    return {
        "site_id": site_id,
        "url": site.url,
        "title": props.get("Title") or site.title or site.register.get("Title") or "",
        "phase": phase_label(props.get("GtProjectPhase")) or site.register.get("GtProjectPhaseText"),
    }


def new_rows(
    states: Mapping[str, ListState],
    previous: Rows,
    cmap: CentralMap,
    site_id: str,
    gone_lists: Collection[str] = (),
) -> tuple[Rows, dict[str, set[str]]]:
    """The site's rows now (previous rows + changes, or a full read) and the keys gone at the source.

    After a full read, a key counts as gone if the history or the central map knows it (hub items
    nobody recorded are found by :func:`orphans`); after a change log, every deleted key. Lookups are resolved
    to source keys (``benefit_key``, ``indicator_key``) on the returned rows. A missing list keeps
    its previous rows, unless it is in ``gone_lists`` (missing for long enough, see
    :func:`missing_lists`): then all its rows are gone.
    """
    current: Rows = {}
    deleted: dict[str, set[str]] = {}
    for name in KIND_ORDER:
        st = states[name]
        kind = SOURCE_KINDS[name]
        before = previous.get(name, {})
        mapped = cmap.get(name, {})
        if st.missing:
            confirmed = name in gone_lists
            rows = {} if confirmed else {k: dict(v) for k, v in before.items()}
            deleted[name] = set(before) | set(mapped) if confirmed else set()
        elif st.full:
            rows = {
                r["source_key"]: r
                for r in (source_row(kind, i, site_id=site_id, list_id=st.list_id) for i in st.items or [])
            }
            deleted[name] = {k for k in set(before) | set(mapped) if k not in rows}
        else:
            rows = {k: dict(v) for k, v in before.items()}
            gone = {source_key(site_id, st.list_id, i) for i in st.deleted_ids}
            for key in gone:
                rows.pop(key, None)
            for item in st.items or []:
                row = source_row(kind, item, site_id=site_id, list_id=st.list_id)
                rows[row["source_key"]] = row
            # Every key the log says is gone, known or not: a killed run may have written its hub
            # item without recording it; unknown keys are looked up on the hub before the diff.
            deleted[name] = gone
        current[name] = rows
    list_ids = {name: st.list_id for name, st in states.items()}
    indicator_benefits = {int(r["item_id"]): r.get("GtGainLookupId") for r in current["indicators"].values()}
    for name in KIND_ORDER:
        for row in current[name].values():
            resolve_lookups(
                SOURCE_KINDS[name],
                row,
                site_id=site_id,
                list_ids=list_ids,
                indicator_benefits=indicator_benefits,
            )
    return current, deleted


#: The finding rule of a missing source list; its value counts the runs it has been missing.
LIST_MISSING = "list-missing"
#: The finding rule of a source value outside the hub field's choices (left out of the row).
CHOICE_OUTSIDE = "choice-outside"
#: The finding rule of a template column a source list lacks (its rows are read without it).
COLUMN_MISSING = "column-missing"


def missing_lists(
    states: Mapping[str, ListState], stored_findings: Iterable[Mapping[str, Any]], confirm_runs: int
) -> tuple[dict[str, int], set[str]]:
    """Per missing list, the runs it has been missing (this one included), and the lists confirmed
    gone (missing for ``confirm_runs`` runs or more). ``stored_findings`` are the site's findings
    from its last synced run (the :data:`LIST_MISSING` ones carry the count, by list title)."""
    before = {
        str(f.get("list") or "").lower(): int(f.get("value") or 0)
        for f in stored_findings
        if f.get("rule") == LIST_MISSING
    }
    runs = {name: before.get(st.title.lower(), 0) + 1 for name, st in states.items() if st.missing}
    return runs, {name for name, n in runs.items() if n >= confirm_runs}


# --- the mass-deletion guard ---------------------------------------------------------------------


@dataclass(frozen=True)
class MassDeletion:
    """A read that would delete too much of a site: ``deleting`` of its ``rows`` rows; ``emptied``
    names the kinds that would lose every row."""

    deleting: int
    rows: int
    emptied: tuple[str, ...]


def mass_deletion(
    previous: Rows, deleted: Mapping[str, set[str]], *, min_rows: int = 10, max_share: float = 0.5
) -> MassDeletion | None:
    """The mass deletion ``deleted`` would be, or None when it is within bounds.

    Too much is: every row of a list that had ``min_rows`` or more, or more than ``max_share`` of
    the site's rows when the site had ``min_rows`` or more (a small site's few deletions always
    pass). See docs/sync.md, "The mass-deletion guard".
    """
    had = {name: set(previous.get(name, {})) for name in KIND_ORDER}
    rows = sum(len(keys) for keys in had.values())
    # Only rows the site had count: a deleted key nothing recorded is no loss to guard against.
    deleting = sum(len(deleted.get(name, set()) & had[name]) for name in KIND_ORDER)
    emptied = tuple(
        name for name in KIND_ORDER if len(had[name]) >= min_rows and had[name] <= deleted.get(name, set())
    )
    if emptied or (rows >= min_rows and deleting > max_share * rows):
        return MassDeletion(deleting, rows, emptied)
    return None


def hold_deletions(
    current: Rows, deleted: Mapping[str, set[str]], previous: Rows
) -> tuple[Rows, dict[str, set[str]]]:
    """``current`` with every deleted row kept as it was, and no deletions (the guard held them)."""
    held: Rows = {}
    for name in KIND_ORDER:
        rows = dict(current.get(name, {}))
        before = previous.get(name, {})
        rows.update({k: dict(before[k]) for k in deleted.get(name, set()) if k in before})
        held[name] = rows
    return held, {name: set() for name in KIND_ORDER}


def people_to_resolve(current: Rows, central: Mapping[str, CentralList]) -> set[str]:
    """E-mails of the people in person fields that the central lists store as people."""
    return {
        p["EMail"]
        for name in KIND_ORDER
        for row in current[name].values()
        for f in SOURCE_KINDS[name].people
        if isinstance(p := row.get(f), dict)
        and p.get("EMail")
        and central[name].fields.get(f) in ("User", "UserMulti")
    }


@dataclass(frozen=True)
class UnknownPerson:
    """A person in a source row whom the hub could not resolve: the row is written without them."""

    kind: str
    key: str
    item_id: int | None
    field: str
    login: str


def unknown_people(
    current: Rows, central: Mapping[str, CentralList], people: Mapping[str, int | None]
) -> list[UnknownPerson]:
    """The people of :func:`people_to_resolve` whom ``people`` (e-mail → hub user id) left without an id."""
    out: list[UnknownPerson] = []
    for name in KIND_ORDER:
        for key, row in current[name].items():
            for f in SOURCE_KINDS[name].people:
                p = row.get(f)
                if not (isinstance(p, dict) and p.get("EMail")):
                    continue
                if (
                    central[name].fields.get(f) in ("User", "UserMulti")
                    and people.get(p["EMail"].lower()) is None
                ):
                    item = row.get("item_id")
                    out.append(
                        UnknownPerson(name, key, int(item) if item is not None else None, f, p["EMail"])
                    )
    return out


@dataclass(frozen=True)
class OutsideChoice:
    """A source value that is not one of the hub field's choices: the row is written without it."""

    kind: str
    key: str
    item_id: int | None
    field: str
    value: str
    choices: tuple[str, ...]


def drop_outside_choices(
    planned: Rows, current: Rows, central: Mapping[str, CentralList]
) -> tuple[Rows, list[OutsideChoice]]:
    """``planned`` without the values the hub's closed choice fields would refuse (a PP365 site's own
    column may hold any text), and what was taken out (docs/sync.md, "Values the hub refuses")."""
    out: Rows = {}
    dropped: list[OutsideChoice] = []
    for name, rows in planned.items():
        closed = central[name].choices if name in central else {}
        out[name] = {}
        for key, values in rows.items():
            fixed = dict(values)
            for fname, allowed in closed.items():
                value = fixed.get(fname)
                if value is None or value == "":
                    continue
                many = isinstance(value, (list, tuple))
                given = [str(v) for v in value] if many else [str(value)]
                bad = [v for v in given if v not in allowed]
                if not bad:
                    continue
                kept = [v for v in given if v in allowed]
                fixed[fname] = kept if many else None
                item = current.get(name, {}).get(key, {}).get("item_id")
                for v in bad:
                    dropped.append(
                        OutsideChoice(
                            name,
                            key,
                            int(item) if item is not None else None,
                            fname,
                            v,
                            tuple(sorted(allowed)),
                        )
                    )
            out[name][key] = fixed
    return out, dropped


def central_rows(
    current: Rows,
    project: Mapping[str, Any],
    central: Mapping[str, CentralList],
    people: Mapping[str, int | None],
) -> Rows:
    """Each row's values on its central list (``people``: e-mail → the hub's user id)."""
    titles = {name: {k: r.get("Title") for k, r in current[name].items()} for name in KIND_ORDER}
    planned: Rows = {}
    for name in KIND_ORDER:
        clist = central[name]
        planned[name] = {}
        for key, row in current[name].items():
            values = central_values(name, row, project, clist.fields, people=people)
            _add_titles(row, values, clist.fields, titles)
            if clist.fields.get("GtUncertaintyType") and "GtUncertaintyType" not in values:
                values["GtUncertaintyType"] = row.get("ContentType")
            planned[name][key] = values
    return planned


def _add_titles(
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


# --- the diff ------------------------------------------------------------------------------------


def orphans(
    found: Mapping[str, Mapping[str, list[int]]],
    planned: Rows,
    deleted: Mapping[str, set[str]],
    whole: Collection[str],
) -> dict[str, set[str]]:
    """Per kind in ``whole`` (read in full, and looked up on the hub by site), the keys the hub holds
    that the source no longer has and nothing recorded: a killed run wrote them, then the source
    item went. They are deletions too."""
    return {
        name: {k for k in found.get(name, {}) if k not in planned[name] and k not in deleted[name]}
        for name in whole
    }


def unknown_keys(planned: Rows, deleted: Mapping[str, set[str]], cmap: CentralMap) -> dict[str, list[str]]:
    """Per kind, the keys to write or delete that the central map does not know (sorted).

    Their hub items must be looked up first: a killed run may have created them without
    recording it.
    """
    out: dict[str, list[str]] = {}
    for name in KIND_ORDER:
        known = cmap.get(name, {})
        unknown = sorted(k for k in [*planned[name], *deleted[name]] if k not in known)
        if unknown:
            out[name] = unknown
    return out


def diff(
    planned: Rows,
    deleted: Mapping[str, set[str]],
    cmap: CentralMap,
    found: Mapping[str, Mapping[str, list[int]]] | None = None,
) -> list[Action]:
    """The actions that bring the hub's central lists in step with ``planned``, kind by kind.

    ``cmap`` is the central item map; ``found`` the hub item ids looked up for keys the map does
    not know (``{kind: {source_key: [ids]}}``; more than one id is a duplicate to remove).
    """
    actions: list[Action] = []
    found = found or {}
    for name in KIND_ORDER:
        known = cmap.get(name, {})
        extra_ids = found.get(name, {})
        for key, values in planned[name].items():
            digest = content_hash(json_safe(values))
            if key in known and known[key][1] == digest:
                actions.append(Keep(name, key))
                continue
            ids = [known[key][0]] if key in known else sorted(extra_ids.get(key, []))
            if not ids:
                actions.append(Create(name, key, values, digest))
                continue
            actions.append(Update(name, key, ids[0], values, digest))
            actions += [RemoveDuplicate(name, key, dup) for dup in ids[1:]]
        for key in deleted[name]:
            ids = [known[key][0]] if key in known else sorted(extra_ids.get(key, []))
            actions += [Delete(name, key, cid) for cid in ids]
            if not ids:
                actions.append(Forget(name, key))
    return actions


# --- the project register ------------------------------------------------------------------------


def register_changes(
    prop_item: Mapping[str, Any] | None,
    project: Mapping[str, Any],
    site: ProjectSite,
    project_fields: Mapping[str, str],
) -> dict[str, Any]:
    """Typed values that bring the hub's Prosjekter item in step with Prosjektegenskaper ({} if none)."""
    wanted: dict[str, Any] = {"GtSiteId": project["site_id"], "GtSiteUrl": site.url}
    if prop_item:
        for name in ("Title", *PROPERTY_FIELDS):
            if name not in prop_item or name not in project_fields:
                continue
            value = prop_item[name]
            if name == "GtProjectPhase":
                value = phase_label(value)
                if "GtProjectPhaseText" in project_fields:
                    wanted["GtProjectPhaseText"] = value
            if project_fields.get(name) in ("Text", "Note", "Choice", "Number", "DateTime", "Boolean"):
                wanted[name] = value
    changed = {k: v for k, v in wanted.items() if not same_value(site.register.get(k), v)}
    typed: dict[str, Any] = {}
    for k, v in changed.items():
        typed.update(_typed_value(k, project_fields.get(k, "Text"), v))
    return typed


def _typed_value(name: str, ftype: str, value: Any) -> dict[str, Any]:
    from veiviser.sync.rows import _typed

    result: dict[str, Any] = _typed(name, ftype, value, {})
    return result


def same_value(a: Any, b: Any) -> bool:
    """Register value ``a`` equals ``b`` (dates to the second, empty equals empty, 1 equals 1.0)."""
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
    return bool(a == b)
