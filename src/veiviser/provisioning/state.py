"""A site's current state as the plan engine needs it, read in one or two ``$batch`` requests.

Everything is addressed from the template, so one batch of GETs reads the site, the web, every
list (with its fields, content types, views, view fields and the key values of seeded items), the
site content types and the hubs. Lists are matched by title, by the entity type name that follows
their URL leaf (docs/sharepoint.md, "List names") or by their ASCII creation
title, so a list created by an interrupted run before its Norwegian rename is found again; such
lists get a second batch that reads their details by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from veiviser.schemas.template import ListDef, Template
from veiviser.sharepoint import ListTarget, Operation, OperationResult, SiteClient, normalise_item
from veiviser.sharepoint import items as rest
from veiviser.sharepoint import schema as sp
from veiviser.sharepoint.schema import is_generic_item_ct

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass
class FieldState:
    """A field that exists on a list."""

    id: str
    name: str
    type: str
    choices: list[str] = field(default_factory=list)
    lookup_list: str | None = None
    indexed: bool = False
    formula: str | None = None


@dataclass
class ViewState:
    id: str
    title: str
    fields: list[str] | None = None


@dataclass
class ListState:
    """A list that exists on the site; ``details`` is False until fields/views were read."""

    id: str
    title: str
    entity_type: str
    base_template: int = 100
    hidden: bool = False
    content_types_enabled: bool = False
    fields: dict[str, FieldState] = field(default_factory=dict)
    views: dict[str, ViewState] = field(default_factory=dict)
    content_types: list[tuple[str, str]] = field(default_factory=list)
    items: list[dict[str, Any]] | None = None
    details: bool = False
    generic_ct_in_use: dict[str, bool | None] = field(default_factory=dict)
    """Generic Item list content type ID → whether any item uses it (None: could not be read)."""

    def has_content_type(self, ct_id: str, name: str) -> bool:
        """Bound already: a list content type derived from ``ct_id`` (or with the same name)."""
        up = ct_id.upper()
        return any(sid.upper().startswith(up) or n == name for sid, n in self.content_types)


@dataclass
class SiteState:
    """What the engine knows about one site."""

    url: str
    site_id: str = ""
    web_id: str = ""
    title: str = ""
    is_hub: bool = False
    hub_site_id: str | None = None
    lists: dict[str, ListState] = field(default_factory=dict)
    """Template list key → the matching list."""
    other_lists: list[ListState] = field(default_factory=list)
    site_content_types: dict[str, str] = field(default_factory=dict)
    """Content type ID (upper case) → name."""
    site_fields: set[str] | None = None
    """Internal names of the web's site columns (None when they could not be read)."""
    ct_links: dict[str, list[str]] = field(default_factory=dict)
    """Template site content type ID (upper case) → its field links' internal names, in order."""
    hubs: dict[str, str] = field(default_factory=dict)
    """Hub site URL (lower case, no trailing slash) → hub id, when the site could list hubs."""

    def list_ids(self) -> dict[str, str]:
        return {key: lst.id for key, lst in self.lists.items()}


def item_id(row: Mapping[str, Any]) -> int:
    """An item's id from a row as read (``Id``, or ``ID`` in some answers)."""
    return int(row.get("Id") or row["ID"])


def url_leaf(lst: ListDef) -> str:
    """The last segment of a template list's URL (``Lists/Mleindikatorer`` → ``Mleindikatorer``)."""
    return lst.url.rstrip("/").rsplit("/", 1)[-1]


def expected_entity_type(lst: ListDef) -> str:
    """The entity type name SharePoint gives a list created at the template's URL."""
    return sp.item_entity_type(url_leaf(lst), lst.template_type)


# --- parsing ------------------------------------------------------------------------------------


def _results(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        inner = value.get("results")
        if isinstance(inner, list):
            return inner
        if isinstance(inner, dict):  # the client's {0: …, 1: …} shape
            return list(inner.values())
    return []


def _choices(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        return [str(c) for c in _results(raw)]
    if isinstance(raw, list):
        return [str(c) for c in raw]
    return []


def parse_field(d: dict[str, Any]) -> FieldState:
    lookup = d.get("LookupList")
    return FieldState(
        id=str(d.get("Id") or "").strip("{}").lower(),
        name=str(d.get("InternalName") or d.get("StaticName") or ""),
        type=str(d.get("TypeAsString") or ""),
        choices=_choices(d.get("Choices")),
        lookup_list=str(lookup).strip("{}").lower() if lookup else None,
        indexed=bool(d.get("Indexed")),
        formula=d.get("Formula"),
    )


def parse_list(d: dict[str, Any]) -> ListState:
    return ListState(
        id=str(d.get("Id") or "").strip("{}").lower(),
        title=str(d.get("Title") or ""),
        entity_type=str(d.get("ListItemEntityTypeFullName") or ""),
        base_template=int(d.get("BaseTemplate") or 100),
        hidden=bool(d.get("Hidden")),
        content_types_enabled=bool(d.get("ContentTypesEnabled")),
    )


def _view_fields(value: Any) -> list[str] | None:
    if not isinstance(value, dict):
        return None
    items = value.get("Items")
    if items is None:
        return None
    return [str(x) for x in _results(items)]


# --- reading ------------------------------------------------------------------------------------


def _detail_ops(lst: ListDef, target: ListTarget, prefix: str, read_items: bool) -> list[Operation]:
    ops = [
        sp.read_list_fields(target, key=(prefix, lst.key, "fields"), list=lst.title),
        sp.read_list_content_types(target, key=(prefix, lst.key, "cts"), list=lst.title),
        sp.read_views(target, key=(prefix, lst.key, "views"), list=lst.title),
    ]
    for view in lst.views:
        ops.append(
            sp.read_view_fields(
                target, view.title, key=(prefix, lst.key, "viewfields", view.title), list=lst.title
            )
        )
    # No $select: a key field that an interrupted run did not create yet must not fail the read.
    if lst.seed_items or read_items:
        ops.append(rest.get_items(target, top=5000, key=(prefix, lst.key, "items"), list=lst.title))
    return ops


_DEFAULT_LIBRARY_TITLES = ("Documents", "Dokumenter", "Delte dokumenter")


def _matchers(lst: ListDef) -> list[Callable[[ListState], bool]]:
    """Tests that pair an existing list with ``lst``, strongest first."""
    want_type, title, leaf = expected_entity_type(lst).lower(), lst.title, url_leaf(lst)

    def by_title(e: ListState) -> bool:
        return e.title == title

    def by_entity_type(e: ListState) -> bool:
        return e.entity_type.lower() == want_type

    def by_creation_title(e: ListState) -> bool:
        return e.title == leaf

    def the_site_library(e: ListState) -> bool:
        return e.base_template == 101 and e.title in _DEFAULT_LIBRARY_TITLES

    tests: list[Callable[[ListState], bool]] = [by_title, by_entity_type, by_creation_title]
    if lst.existing and lst.template_type == 101:
        tests.append(the_site_library)
    return tests


def match_lists(
    template: Template, existing: list[ListState]
) -> tuple[dict[str, ListState], list[ListState]]:
    """Pair template lists with existing lists: by title, entity type (URL leaf) or ASCII creation title."""
    matched: dict[str, ListState] = {}
    used: set[str] = set()
    for lst in template.lists:
        for test in _matchers(lst):
            hit = next((e for e in existing if e.id not in used and test(e)), None)
            if hit is not None:
                matched[lst.key] = hit
                used.add(hit.id)
                break
    return matched, [e for e in existing if e.id not in used]


def read_state(
    site: SiteClient,
    template: Template,
    *,
    read_items: Iterable[str] = (),
    extra_ops: Iterable[Operation] = (),
    new_site: bool = False,
) -> tuple[SiteState, dict[Any, OperationResult]]:
    """Read everything the plan needs in one ``$batch`` (two if a list is found only by URL).

    Items are read for seeded lists and for the list keys in ``read_items`` (e.g. the singleton
    item of ``Prosjektegenskaper``). ``extra_ops`` ride along in the same batch; their results are returned
    by key so callers avoid extra round trips. ``new_site=True`` (a site just created, holding few
    of the template's lists) reads the list overview first and details only for the lists that
    exist, instead of one detail read per template list that would almost all answer 404.
    """
    want_items = set(read_items)
    ops = [
        sp.read_site(key="site"),
        sp.read_web(key="web"),
        sp.read_lists(key="lists"),
        sp.read_site_content_types(key="site_cts"),
        sp.read_hub_sites(key="hubs"),
        sp.read_site_fields(key="site_fields"),
        *extra_ops,
    ]
    if not new_site:  # a new site has none of the template's content types yet: nothing to read
        for ct in template.content_types:
            ops.append(sp.read_field_links(ct.id, key=("ctlinks", ct.id.upper())))
    if not new_site:
        for lst in template.lists:
            ops.extend(_detail_ops(lst, ListTarget.by_title(lst.title), "t", lst.key in want_items))
    results = {r.key: r for r in site.batch(ops)}
    for key in ("site", "web", "lists"):
        if not results[key].ok:
            raise results[key].error  # type: ignore[misc]
    s, w = results["site"].value, results["web"].value
    hub = s.get("HubSiteId")
    state = SiteState(
        url=site.url,
        site_id=str(s.get("Id") or "").lower(),
        web_id=str(w.get("Id") or "").lower(),
        title=str(w.get("Title") or ""),
        is_hub=bool(s.get("IsHubSite")),
        hub_site_id=None if not hub or str(hub) == ZERO_GUID else str(hub).lower(),
    )
    if results["site_cts"].ok:
        state.site_content_types = {
            str(c.get("StringId", "")).upper(): str(c.get("Name", ""))
            for c in _results(results["site_cts"].value)
        }
    if results["site_fields"].ok:
        state.site_fields = {str(f.get("InternalName") or "") for f in _results(results["site_fields"].value)}
    for ct in template.content_types:
        links = results.get(("ctlinks", ct.id.upper()))
        if links is not None and links.ok:
            state.ct_links[ct.id.upper()] = [str(x.get("Name") or "") for x in _results(links.value)]
    if results["hubs"].ok:
        for h in _results(results["hubs"].value):
            url = str(h.get("SiteUrl") or "").rstrip("/").lower()
            hub_id = h.get("ID") or h.get("Id") or h.get("SiteId")
            if url and hub_id:
                state.hubs[url] = str(hub_id).lower()
    existing = [parse_list(d) for d in _results(results["lists"].value)]
    state.lists, state.other_lists = match_lists(template, existing)
    for key, ls in state.lists.items():
        if ls.title == template.get_list(key).title and not new_site:
            _fill_details(ls, template.get_list(key), results, "t")
    missing = [(template.get_list(k), ls) for k, ls in state.lists.items() if not ls.details]
    if missing:
        more: list[Operation] = []
        for lst, ls in missing:
            more.extend(_detail_ops(lst, ListTarget.by_id(ls.id), "i", lst.key in want_items))
        results2 = {r.key: r for r in site.batch(more)}
        for lst, ls in missing:
            _fill_details(ls, lst, results2, "i")
        results.update(results2)
    _read_generic_ct_use(site, template, state)
    return state, results


def _read_generic_ct_use(site: SiteClient, template: Template, state: SiteState) -> None:
    """Whether items use the generic Item content type, on lists whose template gives them their own
    content types (only there is it removed; one small read per such list, none once it is gone)."""
    ops: list[Operation] = []
    for key, ls in state.lists.items():
        lst = template.get_list(key)
        if not (lst.content_types_enabled and lst.content_types):
            continue
        for sid, _name in ls.content_types:
            if is_generic_item_ct(sid):
                ops.append(
                    rest.items_with_content_type(ListTarget.by_id(ls.id), sid, key=(key, sid), list=ls.title)
                )
    if not ops:
        return
    for r in site.batch(ops):
        key, sid = r.key
        state.lists[key].generic_ct_in_use[sid] = bool(_results(r.value)) if r.ok else None


def _fill_details(ls: ListState, lst: ListDef, results: dict[Any, OperationResult], prefix: str) -> None:
    fields = results.get((prefix, lst.key, "fields"))
    if fields is None or not fields.ok:
        return
    ls.fields = {f.name: f for f in (parse_field(d) for d in _results(fields.value)) if f.name}
    cts = results.get((prefix, lst.key, "cts"))
    if cts is not None and cts.ok:
        ls.content_types = [(str(c.get("StringId", "")), str(c.get("Name", ""))) for c in _results(cts.value)]
    views = results.get((prefix, lst.key, "views"))
    if views is not None and views.ok:
        for v in _results(views.value):
            ls.views[str(v.get("Title") or "")] = ViewState(
                str(v.get("Id") or "").lower(), str(v.get("Title") or "")
            )
    for title, vs in ls.views.items():
        vf = results.get((prefix, lst.key, "viewfields", title))
        if vf is not None and vf.ok:
            vs.fields = _view_fields(vf.value)
    items = results.get((prefix, lst.key, "items"))
    if items is not None:
        ls.items = [normalise_item(i) for i in _results(items.value)] if items.ok else None
    ls.details = True
