"""``plan(template, state) -> Plan``: the ordered, additive steps that bring a site to its template.

Pure: no SharePoint calls. Ensure semantics only — a list, field, view or item is never dropped
(the one removal is SharePoint's generic Item content type, and only while no item uses it),
a lookup is never re-created, and seed items are matched on their key so re-seeding never
duplicates (docs/provisioning.md, "Idempotence"). What the engine will not fix (a field of
another type, a lookup pointing to another list) becomes a :class:`Drift` entry, not a step.

Steps run in two dependency rounds: round 1 creates lists and site content types; round 2 (which
needs the new list ids) renames lists to their Norwegian titles, adds fields (plain, then
calculated after their operands, then lookups, then projected lookups after their parent),
binds content types, extends choices, sets indexes, adds views and view fields, and writes items.

The plan's types (:class:`Step`, :class:`Plan`, …) live in :mod:`veiviser.provisioning.steps`
and are importable from here too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from veiviser.provisioning.plan_items import key_text, plan_data, plan_seed, same_value
from veiviser.provisioning.state import FieldState, ListState, SiteState, url_leaf
from veiviser.provisioning.steps import (
    ROUND_CONTENT,
    ROUND_CREATE,
    ROUND_STAMP,
    DataItem,
    Drift,
    Plan,
    Step,
)
from veiviser.schemas.template import (
    BUILTIN_FIELDS,
    CHOICE_TYPES,
    ContentTypeDef,
    FieldDef,
    FieldType,
    ListDef,
    Template,
    render_view_query,
)
from veiviser.sharepoint.schema import is_generic_item_ct

#: ``TypeAsString`` SharePoint reports for each template field type.
SP_TYPES: dict[FieldType, tuple[str, ...]] = {
    FieldType.TEXT: ("Text",),
    FieldType.NOTE: ("Note",),
    FieldType.NUMBER: ("Number",),
    FieldType.CURRENCY: ("Currency",),
    FieldType.BOOLEAN: ("Boolean",),
    FieldType.DATETIME: ("DateTime",),
    FieldType.CHOICE: ("Choice",),
    FieldType.MULTICHOICE: ("MultiChoice",),
    FieldType.USER: ("User",),
    FieldType.USERMULTI: ("UserMulti",),
    FieldType.LOOKUP: ("Lookup",),
    FieldType.LOOKUPMULTI: ("LookupMulti",),
    FieldType.CALCULATED: ("Calculated",),
    FieldType.URL: ("URL",),
    FieldType.TAXONOMY: ("TaxonomyFieldType",),
    FieldType.TAXONOMYMULTI: ("TaxonomyFieldTypeMulti",),
}

#: The view SharePoint creates with every new list on a Norwegian (1044) site.
NEW_LIST_VIEW = {100: "Alle elementer", 101: "Alle dokumenter"}

# --- helpers ------------------------------------------------------------------------------------


def type_matches(fdef: FieldDef, existing: FieldState) -> bool:
    """True when the existing field's type is the template's (a PP365 taxonomy field stands in for a compat Choice)."""
    allowed = set(SP_TYPES[fdef.type])
    if fdef.taxonomy is not None:
        allowed |= {"TaxonomyFieldTypeMulti"} if fdef.taxonomy.multi else {"TaxonomyFieldType"}
    return existing.type in allowed


def list_create_values(lst: ListDef) -> dict[str, Any]:
    """A new list's properties: created under its ASCII URL leaf (renamed to the Norwegian title afterwards)."""
    body: dict[str, Any] = {
        "Title": url_leaf(lst),
        "BaseTemplate": lst.template_type,
        "Description": lst.description or "",
        "AllowContentTypes": True,
        "ContentTypesEnabled": lst.content_types_enabled,
    }
    if lst.hidden:
        body["Hidden"] = True
    if lst.versioning is not None:
        body["EnableVersioning"] = lst.versioning
    return body


def _field_order(lst: ListDef) -> list[FieldDef]:
    """Plain fields, then calculated (after their operands), lookups, projected lookups."""
    return _order_fields(lst.fields)


def _order_fields(fields: list[FieldDef]) -> list[FieldDef]:

    def rank(f: FieldDef) -> int:
        if f.is_projected:
            return 3
        if f.is_lookup:
            return 2
        if f.type is FieldType.CALCULATED:
            return 1
        return 0

    ordered = sorted(fields, key=rank)
    # Calculated fields may use other calculated fields: order them by dependency.
    calc = [f for f in ordered if f.type is FieldType.CALCULATED]
    done: list[FieldDef] = []
    names = {f.name for f in calc}
    while calc:
        progress = [
            f for f in calc if all(r not in names or r in {d.name for d in done} for r in f.formula_refs())
        ]
        if not progress:
            progress = calc[:1]
        for f in progress:
            done.append(f)
            calc.remove(f)
    return [f for f in ordered if rank(f) == 0] + done + [f for f in ordered if rank(f) >= 2]


# --- the planner --------------------------------------------------------------------------------


def plan(template: Template, state: SiteState, *, data: Iterable[DataItem] = ()) -> Plan:
    """Compare ``state`` to ``template`` (plus site ``data`` items) and return the steps to apply."""
    out = Plan(site=state.url, template=f"{template.name} {template.stamp}")
    _plan_content_types(template, state, out)
    for lst in template.lists:
        existing = state.lists.get(lst.key)
        if existing is None:
            if lst.existing:
                out.drift.append(
                    Drift(
                        lst.key,
                        lst.url,
                        f"{(lst.template_type == 101 and 'library') or 'list'} "
                        f"{lst.title!r} should come with the site but is missing; not created",
                    )
                )
                continue
            out.steps.append(
                Step(
                    "create_list",
                    ROUND_CREATE,
                    lst.key,
                    lst.url,
                    f"create {lst.url!r}" + (f", title {lst.title!r}" if url_leaf(lst) != lst.title else ""),
                    {"values": list_create_values(lst)},
                )
            )
            existing = ListState(id="", title=url_leaf(lst), entity_type="", details=True, items=[])
            if url_leaf(lst) != lst.title:
                out.steps.append(
                    Step(
                        "update_list",
                        ROUND_CONTENT,
                        lst.key,
                        lst.title,
                        f"title {lst.title!r}",
                        {"values": {"Title": lst.title}},
                    )
                )
        else:
            if existing.base_template != lst.template_type:
                out.drift.append(
                    Drift(
                        lst.key,
                        lst.url,
                        f"list {existing.title!r} has template {existing.base_template}, "
                        f"not {lst.template_type}; left as it is",
                    )
                )
                continue
            changes: dict[str, Any] = {}
            if existing.title != lst.title and not lst.existing:
                changes["Title"] = lst.title
            if lst.content_types_enabled and not existing.content_types_enabled and lst.content_types:
                changes["ContentTypesEnabled"] = True
            if changes:
                out.steps.append(
                    Step(
                        "update_list",
                        ROUND_CONTENT,
                        lst.key,
                        lst.title,
                        ", ".join(f"{k} {v!r}" for k, v in changes.items()),
                        {"values": changes},
                    )
                )
            if not existing.details:
                out.notes.append(f"list {lst.title!r}: could not read its fields; re-run after fixing access")
                continue
        _plan_list(template, lst, existing, state, out, new=not existing.id)
    plan_data(template, state, list(data), out)
    out.steps.sort(key=lambda s: s.round)  # stable: keeps the dependency order inside a round
    return out


def _site_columns(template: Template) -> list[FieldDef]:
    """Fields linked by content types, as site columns: plain first, calculated after their operands."""
    return _order_fields([f for f in template.site_columns() if not f.is_lookup])


def _linkable(template: Template, ref: str) -> list[str]:
    """A content type's field links (inherited first) that can live on a site content type."""
    names: list[str] = []
    for link in template.content_type_field_links(ref):
        try:
            if template.field_def(link.name).is_lookup:
                continue
        except KeyError:
            if link.name not in BUILTIN_FIELDS:
                continue
        names.append(link.name)
    return names


def _plan_content_types(template: Template, state: SiteState, out: Plan) -> None:
    """Site columns, content types with fixed IDs and their field links, in order (docs/provisioning.md, "Template facts the plan relies on").

    A new child content type inherits the links its parent has at that moment; the parent's are
    added first. A list content type copies its site content type's links when it is bound, so
    only list content types bound before the site content type was complete get links here.
    """
    if not template.content_types:
        return
    if state.site_fields is not None:
        for fdef in _site_columns(template):
            if fdef.name not in state.site_fields:
                out.steps.append(
                    Step(
                        "create_site_field",
                        ROUND_CREATE,
                        None,
                        fdef.name,
                        fdef.type.value,
                        {"schema_xml": fdef.schema_xml()},
                    )
                )
    expected: dict[str, list[str]] = {}
    for ct in sorted(template.content_types, key=lambda c: len(c.id)):  # parents first
        want = _linkable(template, ct.id)
        expected[ct.id.upper()] = want
        exists = ct.id.upper() in state.site_content_types
        if exists and ct.id.upper() not in state.ct_links:
            out.notes.append(f"content type {ct.name!r}: could not read its field links; not checked")
            continue
        if exists:
            have = state.ct_links[ct.id.upper()]
        else:
            parent = template.parent_id_of(ct).upper()
            have = ["Title", *expected.get(parent, [])]
            _plan_create_content_type(ct, out)
        # Every content type inherits Title from Item (0x01); it is never added as a link.
        missing = [name for name in want if name not in have and name != "Title"]
        for name in missing:
            out.steps.append(
                Step("add_field_link", ROUND_CREATE, None, ct.name, name, {"ct": ct.id, "field": name})
            )
        if not exists or not missing:
            continue
        for key, ls in state.lists.items():  # list content types bound before the links were complete
            for sid, _name in ls.content_types:
                if sid.upper().startswith(ct.id.upper()) and _derived_directly(sid, ct.id, template):
                    for name in missing:
                        if name in ls.fields or name in BUILTIN_FIELDS:
                            out.steps.append(
                                Step(
                                    "add_field_link",
                                    ROUND_CONTENT,
                                    key,
                                    ct.name,
                                    name,
                                    {"ct": sid, "field": name},
                                )
                            )


def _derived_directly(list_ct: str, site_ct: str, template: Template) -> bool:
    """True when ``list_ct`` is bound from ``site_ct`` itself, not from one of its template children."""
    longer = [
        c.id
        for c in template.content_types
        if len(c.id) > len(site_ct) and list_ct.upper().startswith(c.id.upper())
    ]
    return not longer


def _plan_create_content_type(ct: ContentTypeDef, out: Plan) -> None:
    values = {
        "id": ct.id,
        "name": ct.name,
        "description": ct.description or "",
        "group": ct.group or "Prosjektportalen",
    }
    out.steps.append(Step("create_content_type", ROUND_CREATE, None, ct.name, ct.id, values))


def same_formatter(have: str | None, want: Mapping[str, Any]) -> bool:
    """Whether a field's stored ``CustomFormatter`` text says what the template's mapping says."""
    if not have:
        return False
    try:
        return bool(json.loads(have) == want)
    except ValueError:
        return False


def _plan_formatter(fdef: FieldDef, have: str | None, lst: ListDef, out: Plan) -> None:
    """Column formatting: set with a new field, and again only when the stored JSON differs."""
    if fdef.formatter is None or same_formatter(have, fdef.formatter):
        return
    detail = "column formatting" if have is None else "update the column formatting"
    out.steps.append(
        Step("set_formatter", ROUND_CONTENT, lst.key, fdef.name, detail, {"json": fdef.formatter_json})
    )


def _plan_list(
    template: Template, lst: ListDef, existing: ListState, state: SiteState, out: Plan, *, new: bool
) -> None:
    list_ids = state.list_ids()
    blocked: set[str] = set()  # fields in drift: nothing that depends on them is planned
    for fdef in _field_order(lst):
        if fdef.name in BUILTIN_FIELDS:
            continue
        have = existing.fields.get(fdef.name)
        if have is None:
            parent_id = None
            if fdef.projected_from:
                if fdef.projected_from in blocked:
                    blocked.add(fdef.name)
                    continue
                parent = existing.fields.get(fdef.projected_from)
                parent_id = parent.id if parent else str(lst.field(fdef.projected_from).field_id)
            if fdef.type is FieldType.CALCULATED and any(r in blocked for r in fdef.formula_refs()):
                blocked.add(fdef.name)
                out.drift.append(
                    Drift(lst.key, fdef.name, "calculated field not added: an operand is in drift")
                )
                continue
            xml = fdef.schema_xml(parent_id=_uuid(parent_id) if parent_id else None)
            detail = fdef.type.value
            if fdef.lookup_list:
                detail += f" → {template.get_list(fdef.lookup_list).title}"
            out.steps.append(
                Step(
                    "create_field",
                    ROUND_CONTENT,
                    lst.key,
                    fdef.name,
                    detail,
                    {"schema_xml": xml, "lookup_list": fdef.lookup_list},
                )
            )
            _plan_formatter(fdef, None, lst, out)
            continue
        if not type_matches(fdef, have):
            blocked.add(fdef.name)
            out.drift.append(
                Drift(
                    lst.key,
                    fdef.name,
                    f"field is {have.type}, template says {fdef.type.value}; left as it is",
                )
            )
            continue
        if fdef.is_lookup and not fdef.is_projected:
            target = list_ids.get(fdef.lookup_list or "")
            if target and have.lookup_list and have.lookup_list != target.lower():
                blocked.add(fdef.name)
                out.drift.append(
                    Drift(
                        lst.key,
                        fdef.name,
                        f"lookup points to list {have.lookup_list}, not "
                        f"{template.get_list(fdef.lookup_list or '').title!r}; never re-created",
                    )
                )
                continue
        if fdef.type in CHOICE_TYPES and have.type in ("Choice", "MultiChoice"):
            missing = [c for c in fdef.choices if c not in have.choices]
            if missing:
                out.steps.append(
                    Step(
                        "extend_choices",
                        ROUND_CONTENT,
                        lst.key,
                        fdef.name,
                        "add " + ", ".join(missing),
                        {"choices": [*have.choices, *missing], "multi": have.type == "MultiChoice"},
                    )
                )
        if fdef.indexed and not have.indexed:
            out.steps.append(Step("set_indexed", ROUND_CONTENT, lst.key, fdef.name, "index the column", {}))
        _plan_formatter(fdef, have.formatter, lst, out)
    for ref in lst.content_types:
        ct = template.content_type(ref)
        if not existing.has_content_type(ct.id, ct.name):
            out.steps.append(Step("bind_content_type", ROUND_CONTENT, lst.key, ct.name, ct.id, {"id": ct.id}))
    _plan_default_content_type(template, lst, existing, out, new=new)
    for view in lst.views:
        have_view = existing.views.get(view.title)
        fields = [f for f in view.fields if f not in blocked]
        if have_view is None and new and view.title == NEW_LIST_VIEW.get(lst.template_type):
            # SharePoint gives a new list this view (with LinkTitle only): complete it, never duplicate it.
            out.steps.append(
                Step(
                    "update_view",
                    ROUND_CONTENT,
                    lst.key,
                    view.title,
                    "query and row limit",
                    {"values": {"ViewQuery": render_view_query(view, lst), "RowLimit": view.row_limit}},
                )
            )
            for name in fields:
                if name != "LinkTitle":
                    out.steps.append(
                        Step("add_view_field", ROUND_CONTENT, lst.key, view.title, name, {"field": name})
                    )
        elif have_view is None:
            out.steps.append(
                Step(
                    "create_view",
                    ROUND_CONTENT,
                    lst.key,
                    view.title,
                    f"{len(fields)} fields",
                    {
                        "fields": fields,
                        "query": render_view_query(view, lst),
                        "row_limit": view.row_limit,
                        "paged": view.paged,
                        "default": view.default,
                    },
                )
            )
        elif have_view.fields is not None:
            for name in fields:
                if name not in have_view.fields and not (
                    name == "LinkTitle" and "LinkTitleNoMenu" in have_view.fields
                ):
                    out.steps.append(
                        Step("add_view_field", ROUND_CONTENT, lst.key, view.title, name, {"field": name})
                    )
    plan_seed(lst, existing, out)


def _plan_default_content_type(
    template: Template, lst: ListDef, existing: ListState, out: Plan, *, new: bool
) -> None:
    """PP365's arrangement on lists with content types enabled: the template's content types only, in
    template order, so the first (Usikkerhet: «Risiko») is the default for new items.

    SharePoint gives every new list the generic «Element» (Item) content type, first, so it would stay
    the default. It is removed right after the bindings, before seed items are written (docs/provisioning.md,
    "Template facts the plan relies on"), but never while an
    item uses it: that is reported as drift. On a list created in this run its ID is unknown until
    apply time (``id`` None).
    """
    if not (lst.content_types_enabled and lst.content_types):
        return
    if new:
        out.steps.append(
            Step(
                "remove_content_type",
                ROUND_CONTENT,
                lst.key,
                "Element",
                "generic Item content type",
                {"id": None},
            )
        )
        return
    for sid, name in existing.content_types:
        if not is_generic_item_ct(sid):
            continue
        in_use = existing.generic_ct_in_use.get(sid)
        if in_use is None:
            out.notes.append(
                f"list {lst.title!r}: could not check whether items use content type {name!r}; not removed"
            )
        elif in_use:
            out.drift.append(
                Drift(
                    lst.key,
                    name,
                    f"items use the generic content type {name!r}, so it stays (and stays "
                    "the default for new items); give them a template content type, then run again",
                )
            )
        else:
            out.steps.append(
                Step(
                    "remove_content_type",
                    ROUND_CONTENT,
                    lst.key,
                    name,
                    "generic Item content type",
                    {"id": sid},
                )
            )
    wanted = [template.content_type(ref) for ref in lst.content_types]
    order = []  # template content types in the list's order
    for sid, name in existing.content_types:
        hit = next((ct for ct in wanted if sid.upper().startswith(ct.id.upper()) or name == ct.name), None)
        if hit is not None and hit not in order:
            order.append(hit)
    if len(order) > 1 and [ct.name for ct in order] != [ct.name for ct in wanted if ct in order]:
        out.drift.append(
            Drift(
                lst.key,
                "content type order",
                f"content types are in the order "
                f"{', '.join(ct.name for ct in order)}, not the template's; the default for new items "
                f"is {order[0].name!r}: change the order in the list settings",
            )
        )


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text.strip("{}"))


__all__ = [
    "NEW_LIST_VIEW",
    "ROUND_CONTENT",
    "ROUND_CREATE",
    "ROUND_STAMP",
    "SP_TYPES",
    "DataItem",
    "Drift",
    "Plan",
    "Step",
    "key_text",
    "list_create_values",
    "plan",
    "same_value",
    "type_matches",
]
