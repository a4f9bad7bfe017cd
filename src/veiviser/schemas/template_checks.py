"""The meaning checks of a :class:`~veiviser.schemas.template.Template`: cross references,
choices, defaults, lookups and formulas. :meth:`Template.problems` runs them; each problem comes
with its path in the template, so a loader can point at file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veiviser.schemas.template import (
    BUILTIN_CONTENT_TYPES,
    BUILTIN_FIELDS,
    CHOICE_TYPES,
    NUMERIC_TYPES,
    UNINDEXABLE_TYPES,
    FieldDef,
    FieldType,
    ListDef,
    Loc,
    Template,
    formula_identifiers,
    number_text,
)

_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$")
_CT_ID = re.compile(r"^0x[0-9A-Fa-f]+$")
_CALC_RESULT_TYPES = ("Number", "Text", "Currency", "DateTime", "Boolean")


def _dupes(values: list[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        seen.setdefault(v, []).append(i)
    return {v: idx for v, idx in seen.items() if len(idx) > 1}


def check_template(t: Template) -> Iterator[tuple[Loc, str]]:
    if not _VERSION.match(t.version):
        yield ("version",), f"version {t.version!r} is not of the form x.y.z (e.g. 1.2.0)"
    for attr, label in (("key", "key"), ("title", "title"), ("url", "URL")):
        for value, idx in _dupes([getattr(lst, attr).lower() for lst in t.lists]).items():
            for i in idx[1:]:
                yield ("lists", i, attr), f"duplicate list {label} {value!r} (also list #{idx[0] + 1})"
    ct_ids = {ct.id.upper() for ct in t.content_types} | {k.upper() for k in BUILTIN_CONTENT_TYPES}
    for value, idx in _dupes([ct.id.upper() for ct in t.content_types]).items():
        for i in idx[1:]:
            yield ("content_types", i, "id"), f"duplicate content type ID {value}"
    for i, ct in enumerate(t.content_types):
        if not _CT_ID.match(ct.id):
            yield ("content_types", i, "id"), f"content type ID {ct.id!r} is not hexadecimal 0x…"
        parent = t.parent_id_of(ct)
        for li, link in enumerate(ct.field_links):
            if link.name not in BUILTIN_FIELDS and not any(lst.has_field(link.name) for lst in t.lists):
                yield (
                    ("content_types", i, "field_links", li),
                    f"content type {ct.name!r}: field {link.name} is defined in no list",
                )
        if parent.upper() not in ct_ids:
            yield ("content_types", i, "parent"), f"content type {ct.name!r}: parent {parent} is not defined"
        elif not ct.id.upper().startswith(parent.upper()) or ct.id.upper() == parent.upper():
            yield (
                ("content_types", i, "id"),
                f"content type {ct.name!r}: ID does not extend its parent {parent}",
            )
        for value, idx in _dupes([link.name for link in ct.field_links]).items():
            yield (
                ("content_types", i, "field_links", idx[1]),
                f"content type {ct.name!r}: field {value} linked twice",
            )
    # One internal name means one column per site: the same type everywhere in the template.
    first_type: dict[str, tuple[FieldType, str]] = {}
    for li, lst in enumerate(t.lists):
        yield from _check_list(t, li, lst)
        for fi, f in enumerate(lst.fields):
            prev = first_type.setdefault(f.name, (f.type, lst.key))
            if prev[0] is not f.type:
                yield (
                    ("lists", li, "fields", fi, "type"),
                    f"field {f.name} is {f.type.value} here but {prev[0].value} in list {prev[1]!r}; "
                    "one internal name must have one type per site",
                )


def _check_list(t: Template, li: int, lst: ListDef) -> Iterator[tuple[Loc, str]]:
    base: Loc = ("lists", li)
    where = f"list {lst.key!r}"
    if not lst.url.isascii():
        yield (*base, "url"), f"{where}: URL {lst.url!r} must be ASCII (SharePoint drops å, ø, æ)"
    if lst.template_type == 100 and not lst.url.startswith("Lists/"):
        yield (*base, "url"), f"{where}: a list's URL must start with 'Lists/'"
    names = [f.name for f in lst.fields]
    for value, idx in _dupes(names).items():
        for i in idx[1:]:
            yield (*base, "fields", i, "name"), f"{where}: duplicate field internal name {value}"
    known = set(names) | BUILTIN_FIELDS
    for ci, ref in enumerate(lst.content_types):
        try:
            ct_links = t.content_type_field_links(ref)
        except KeyError:
            yield (
                (*base, "content_types", ci),
                f"{where}: content type {ref!r} is not defined in the template",
            )
            continue
        for link in ct_links:
            if link.name not in known:
                yield (
                    (*base, "content_types", ci),
                    f"{where}: content type {ref!r} links field {link.name}, which the list does not define",
                )
    for fi, f in enumerate(lst.fields):
        yield from _check_field(t, lst, (*base, "fields", fi), f, known)
    for value, idx in _dupes([v.title for v in lst.views]).items():
        for i in idx[1:]:
            yield (*base, "views", i, "title"), f"{where}: duplicate view title {value!r}"
    if sum(v.default for v in lst.views) > 1:
        yield (*base, "views"), f"{where}: more than one default view"
    for vi, v in enumerate(lst.views):
        vloc = (*base, "views", vi)
        for i, name in enumerate(v.fields):
            if name not in known:
                yield (*vloc, "fields", i), f"{where}, view {v.title!r}: unknown field {name}"
        for i, flt in enumerate(v.filters):
            if flt.field not in known:
                yield (
                    (*vloc, "filters", i, "field"),
                    f"{where}, view {v.title!r}: filter on unknown field {flt.field}",
                )
        for i, o in enumerate(v.order_by):
            if o.field not in known:
                yield (*vloc, "order_by", i), f"{where}, view {v.title!r}: order by unknown field {o.field}"
        for i, g in enumerate(v.group_by):
            if g not in known:
                yield (*vloc, "group_by", i), f"{where}, view {v.title!r}: group by unknown field {g}"
    for ki, name in enumerate(lst.key_fields):
        if name not in known:
            yield (*base, "key_fields", ki), f"{where}: key field {name} is not a field of the list"
    if lst.seed_items and not lst.key_fields and any(s.key is None for s in lst.seed_items):
        yield (*base, "key_fields"), f"{where}: seed items need key_fields or an explicit key each"
    seed_keys: dict[str, int] = {}
    for si, item in enumerate(lst.seed_items):
        sloc = (*base, "seed_items", si)
        for name, seed_value in item.values.items():
            if name not in known:
                yield (*sloc, "values", name), f"{where}, seed item #{si + 1}: unknown field {name}"
                continue
            fdef = next((f for f in lst.fields if f.name == name), None)
            if (
                fdef
                and fdef.type in CHOICE_TYPES
                and not fdef.fill_in
                and seed_value not in (None, *fdef.choices)
            ):
                yield (
                    (*sloc, "values", name),
                    f"{where}, seed item #{si + 1}: {seed_value!r} is not a choice of {name}",
                )
        missing = [k for k in lst.key_fields if item.values.get(k) is None]
        if item.key is None and missing:
            yield (
                (*sloc, "values"),
                f"{where}, seed item #{si + 1}: key field(s) {', '.join(missing)} missing",
            )
            continue
        key = lst.seed_key(item)
        if key in seed_keys:
            yield sloc, f"{where}: seed item #{si + 1} has the same key {key!r} as item #{seed_keys[key] + 1}"
        seed_keys.setdefault(key, si)


def _check_field(
    t: Template, lst: ListDef, loc: Loc, f: FieldDef, known: set[str]
) -> Iterator[tuple[Loc, str]]:
    where = f"list {lst.key!r}, field {f.name}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", f.name):
        yield (*loc, "name"), f"{where}: internal name must be ASCII letters, digits or _ (no spaces)"
    if f.min is not None and f.max is not None and f.min > f.max:
        yield (*loc, "min"), f"{where}: min {number_text(f.min)} is greater than max {number_text(f.max)}"
    if (f.min is not None or f.max is not None or f.decimals is not None) and f.type not in NUMERIC_TYPES:
        yield (
            (*loc, "type"),
            f"{where}: min/max/decimals only apply to Number or Currency, not {f.type.value}",
        )
    if f.type in CHOICE_TYPES:
        if not f.choices:
            yield (*loc, "choices"), f"{where}: a {f.type.value} field needs choices"
        for value, idx in _dupes(f.choices).items():
            yield (*loc, "choices", idx[1]), f"{where}: choice {value!r} listed twice"
        if f.default is not None and not f.fill_in:
            defaults = str(f.default).split(";#") if f.type is FieldType.MULTICHOICE else [str(f.default)]
            for d in defaults:
                if d and d not in f.choices:
                    yield (*loc, "default"), f"{where}: default {d!r} is not among the choices {f.choices}"
    elif f.choices:
        yield (*loc, "choices"), f"{where}: choices only apply to Choice or MultiChoice, not {f.type.value}"
    if f.default is not None and f.type in NUMERIC_TYPES:
        try:
            number = float(f.default)
        except (TypeError, ValueError):
            yield (*loc, "default"), f"{where}: default {f.default!r} is not a number"
        else:
            if (f.min is not None and number < f.min) or (f.max is not None and number > f.max):
                yield (*loc, "default"), f"{where}: default {f.default!r} is outside min/max"
    if f.unique and not f.indexed:
        yield (*loc, "unique"), f"{where}: unique values need indexed: true"
    if f.indexed and f.type in UNINDEXABLE_TYPES:
        yield (*loc, "indexed"), f"{where}: SharePoint cannot index a {f.type.value} field"
    if f.is_lookup:
        if not f.lookup_list:
            yield (*loc, "lookup_list"), f"{where}: a lookup needs lookup_list (the key of the target list)"
        elif not any(other.key == f.lookup_list for other in t.lists):
            yield (
                (*loc, "lookup_list"),
                f"{where}: lookup to list {f.lookup_list!r}, which the template does not define",
            )
        else:
            target = t.get_list(f.lookup_list)
            show = f.show_field or "Title"
            if show not in BUILTIN_FIELDS and not target.has_field(show):
                yield (
                    (*loc, "show_field"),
                    f"{where}: show field {show} is not a field of list {target.key!r}",
                )
        if f.projected_from is not None:
            parent = next((p for p in lst.fields if p.name == f.projected_from), None)
            if parent is None or not parent.is_lookup:
                yield (
                    (*loc, "projected_from"),
                    f"{where}: projected from {f.projected_from}, not a lookup of the list",
                )
            elif parent.lookup_list != f.lookup_list:
                yield (
                    (*loc, "lookup_list"),
                    f"{where}: projected field must look up the same list as {parent.name}",
                )
    elif f.lookup_list or f.show_field or f.projected_from:
        yield (
            (*loc, "type"),
            f"{where}: lookup_list/show_field/projected_from need type Lookup or LookupMulti",
        )
    if f.type is FieldType.CALCULATED:
        if not f.formula:
            yield (*loc, "formula"), f"{where}: a Calculated field needs a formula"
        elif not f.formula.startswith("="):
            yield (*loc, "formula"), f"{where}: formula must start with '='"
        if f.result_type is None:
            yield (
                (*loc, "result_type"),
                f"{where}: a Calculated field needs result_type ({', '.join(_CALC_RESULT_TYPES)})",
            )
        for name in f.formula_refs():
            if name == f.name:
                yield (*loc, "formula"), f"{where}: formula refers to the field itself"
            elif name not in known:
                yield (*loc, "formula"), f"{where}: formula refers to unknown field {name}"
        for name in formula_identifiers(f.formula or ""):
            if f.field_refs and name not in f.field_refs and name in known:
                yield (*loc, "field_refs"), f"{where}: formula uses {name}, missing from field_refs"
    elif f.formula or f.result_type:
        yield (*loc, "type"), f"{where}: formula/result_type need type Calculated"
    if f.type in (FieldType.TAXONOMY, FieldType.TAXONOMYMULTI) and not f.term_set_id:
        yield (*loc, "term_set_id"), f"{where}: a taxonomy field needs term_set_id"
