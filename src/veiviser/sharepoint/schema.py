"""Typed request builders for a site's schema: lists, fields, content types and views.

Every builder returns an :class:`~veiviser.sharepoint.batch.Operation` for
:meth:`SiteClient.batch <veiviser.sharepoint.client.SiteClient.batch>` (or
:meth:`SiteClient.send <veiviser.sharepoint.client.SiteClient.send>` for one call). Callers speak
in list titles or ids, template values and field names; the REST dialect (URL paths, ``__metadata``
entity types, collection wrappers) stays here; item requests are in
:mod:`~veiviser.sharepoint.items`, list addressing (:class:`ListTarget`) in
:mod:`~veiviser.sharepoint.paths`. The facts behind each builder are in ``docs/sharepoint.md``,
"Schema requests".

Keyword arguments ``key``, ``list`` and ``item`` are passed through to the operation (result key
and error context).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

from veiviser.sharepoint.batch import Operation
from veiviser.sharepoint.paths import ListTarget, title_segment

#: SPO's AddFieldInternalNameHint: keep the SchemaXml ``Name`` as the internal name.
ADD_FIELD_INTERNAL_NAME_HINT = 8

_GENERIC_ITEM_CT = re.compile(r"^0x0100[0-9a-f]{32}$", re.IGNORECASE)


class Where(TypedDict, total=False):
    """Result key and error context carried by an :class:`Operation`."""

    key: Any
    list: str | None
    item: int | str | None


def _collection(values: Sequence[str]) -> dict[str, Any]:
    return {"__metadata": {"type": "Collection(Edm.String)"}, "results": list(values)}


# --- naming -------------------------------------------------------------------------------------


def encode_leaf(leaf: str) -> str:
    """SharePoint's ``_xHHHH_`` encoding of a URL leaf: ASCII letters and digits stay, the rest is UTF-16 hex."""
    out = []
    for ch in leaf:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        else:
            data = ch.encode("utf-16-be")
            out.extend(f"_x{int.from_bytes(data[i : i + 2], 'big'):04x}_" for i in range(0, len(data), 2))
    return "".join(out)


def item_entity_type(url_leaf: str, base_template: int) -> str:
    """The item entity type SharePoint gives a list created at ``url_leaf`` (``SP.Data.<leaf>ListItem``)."""
    enc = encode_leaf(url_leaf)
    return f"SP.Data.{enc}ListItem" if base_template == 100 else f"SP.Data.{enc}Item"


def is_generic_item_ct(list_ct_id: str) -> bool:
    """True for the list copy of the generic «Element»/Item content type (``0x01`` + ``00`` + GUID).

    A list content type bound from a template content type is longer (its site ID, ``00``, a GUID).
    """
    return bool(_GENERIC_ITEM_CT.match(list_ct_id))


# --- site-level reads ---------------------------------------------------------------------------


def read_site(fields: str = "Id,IsHubSite,HubSiteId,Url", **where: Unpack[Where]) -> Operation:
    return Operation("GET", f"Site?$select={fields}", **where)


def read_web(fields: str = "Id,Title,Url", **where: Unpack[Where]) -> Operation:
    return Operation("GET", f"Web?$select={fields}", **where)


def read_lists(
    fields: str = "Id,Title,BaseTemplate,Hidden,ListItemEntityTypeFullName,ContentTypesEnabled",
    **where: Unpack[Where],
) -> Operation:
    return Operation("GET", f"Web/lists?$select={fields}", **where)


def read_site_content_types(**where: Unpack[Where]) -> Operation:
    return Operation("GET", "Web/ContentTypes?$select=StringId,Name", **where)


def read_hub_sites(**where: Unpack[Where]) -> Operation:
    return Operation("GET", "hubSites", **where)


def read_site_fields(**where: Unpack[Where]) -> Operation:
    return Operation("GET", "Web/Fields?$select=InternalName", **where)


def read_field_links(ct_id: str, **where: Unpack[Where]) -> Operation:
    """The field links (by ``Name``) of a site content type."""
    return Operation("GET", f"Web/ContentTypes('{ct_id}')/FieldLinks?$select=Name", **where)


def register_hub_site(**where: Unpack[Where]) -> Operation:
    """Make the site a hub; the answer carries the hub's ``ID``."""
    return Operation("POST", "Site/RegisterHubSite", **where)


def join_hub_site(hub_id: str, **where: Unpack[Where]) -> Operation:
    """Associate the site with hub ``hub_id`` (the zero GUID leaves the hub)."""
    return Operation("POST", f"Site/JoinHubSite('{hub_id}')", **where)


# --- list-level reads ---------------------------------------------------------------------------


def read_list_fields(lst: ListTarget, **where: Unpack[Where]) -> Operation:
    return Operation("GET", f"{lst.path}/Fields", **where)


def read_list_content_types(lst: ListTarget, **where: Unpack[Where]) -> Operation:
    return Operation("GET", f"{lst.path}/ContentTypes?$select=StringId,Name", **where)


def read_views(lst: ListTarget, **where: Unpack[Where]) -> Operation:
    return Operation("GET", f"{lst.path}/Views?$select=Id,Title", **where)


def read_view_fields(lst: ListTarget, view: str, **where: Unpack[Where]) -> Operation:
    return Operation("GET", f"{lst.path}/Views/GetByTitle({title_segment(view)})/ViewFields", **where)


# --- writes: lists, content types, fields -------------------------------------------------------


def create_list(values: Mapping[str, Any], **where: Unpack[Where]) -> Operation:
    """Create a list from ``SP.List`` properties (``Title``, ``BaseTemplate``, ``Description`` …)."""
    return Operation("POST", "Web/lists", {**values, "__metadata": {"type": "SP.List"}}, **where)


def update_list(lst: ListTarget, values: Mapping[str, Any], **where: Unpack[Where]) -> Operation:
    return Operation("MERGE", lst.path, {**values, "__metadata": {"type": "SP.List"}}, **where)


def create_content_type(
    ct_id: str, name: str, description: str, group: str, **where: Unpack[Where]
) -> Operation:
    """A site content type with a fixed id (``SP.ContentTypeId``), so every site gets the same one."""
    body = {
        "Id": {"StringValue": ct_id, "__metadata": {"type": "SP.ContentTypeId"}},
        "Name": name,
        "Description": description,
        "Group": group,
        "__metadata": {"type": "SP.ContentType"},
    }
    return Operation("POST", "Web/ContentTypes", body, **where)


def add_field_link(
    ct_id: str, field: str, lst: ListTarget | None = None, **where: Unpack[Where]
) -> Operation:
    """Link a field to a content type of the web (``lst=None``) or of a list."""
    owner = lst.path if lst is not None else "Web"
    body = {"FieldInternalName": field, "__metadata": {"type": "SP.FieldLink"}}
    return Operation("POST", f"{owner}/ContentTypes('{ct_id}')/FieldLinks", body, **where)


def bind_content_type(lst: ListTarget, ct_id: str, **where: Unpack[Where]) -> Operation:
    """Add a site content type to a list (the list gets a derived copy)."""
    return Operation("POST", f"{lst.path}/ContentTypes/AddAvailableContentType('{ct_id}')", **where)


def remove_content_type(lst: ListTarget, ct_id: str, **where: Unpack[Where]) -> Operation:
    return Operation("DELETE", f"{lst.path}/ContentTypes('{ct_id}')", **where)


def create_field_as_xml(schema_xml: str, lst: ListTarget | None = None, **where: Unpack[Where]) -> Operation:
    """``CreateFieldAsXml`` on the web (a site column, ``lst=None``) or a list; the XML ``Name`` is kept."""
    body = {
        "parameters": {
            "SchemaXml": schema_xml,
            "Options": ADD_FIELD_INTERNAL_NAME_HINT,
            "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
        }
    }
    owner = lst.path if lst is not None else "Web"
    return Operation("POST", f"{owner}/Fields/CreateFieldAsXml", body, **where)


def _field_path(lst: ListTarget, field: str) -> str:
    return f"{lst.path}/Fields/getByInternalNameOrTitle({title_segment(field)})"


def set_choices(
    lst: ListTarget, field: str, choices: Sequence[str], *, multi: bool = False, **where: Unpack[Where]
) -> Operation:
    """Replace a choice field's ``Choices`` (the caller passes the full list)."""
    body = {
        "Choices": _collection(choices),
        "__metadata": {"type": "SP.FieldMultiChoice" if multi else "SP.FieldChoice"},
    }
    return Operation("MERGE", _field_path(lst, field), body, **where)


def set_indexed(lst: ListTarget, field: str, **where: Unpack[Where]) -> Operation:
    return Operation(
        "MERGE", _field_path(lst, field), {"Indexed": True, "__metadata": {"type": "SP.Field"}}, **where
    )


# --- writes: views ------------------------------------------------------------------------------


def _view_path(lst: ListTarget, view: str) -> str:
    return f"{lst.path}/Views/GetByTitle({title_segment(view)})"


def create_view(
    lst: ListTarget,
    title: str,
    *,
    fields: Sequence[str],
    row_limit: int,
    query: str,
    default: bool,
    **where: Unpack[Where],
) -> Operation:
    params = {
        "Title": title,
        "ViewFields": _collection(fields),
        "RowLimit": row_limit,
        "Query": query,
        "SetAsDefaultView": default,
        "__metadata": {"type": "SP.ViewCreationInformation"},
    }
    return Operation("POST", f"{lst.path}/Views/Add", {"parameters": params}, **where)


def update_view(lst: ListTarget, view: str, values: Mapping[str, Any], **where: Unpack[Where]) -> Operation:
    return Operation("MERGE", _view_path(lst, view), {**values, "__metadata": {"type": "SP.View"}}, **where)


def add_view_field(lst: ListTarget, view: str, field: str, **where: Unpack[Where]) -> Operation:
    return Operation(
        "POST", f"{_view_path(lst, view)}/ViewFields/AddViewField({title_segment(field)})", **where
    )
