"""List items: create, update, validate form values, navigation from an item, versions."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from .. import fields as F
from ..api import ApiResponse, RestError
from ..naming import list_item_entity_type_full_name
from ..odata import bad_query
from ..paths import Segment
from ..values import convert, parse_taxonomy_text
from .common import (
    APP_LOGIN,
    ARGUMENT,
    ETAG_MISMATCH,
    ITEM_MISSING,
    NOT_SUPPORTED,
    SP_EXCEPTION,
    Ctx,
    check_meta,
    iso_z,
    json_light_body,
    norm_guid,
    results_of,
    unwrap,
    utc_now,
)
from .core import ModelCore
from .state import Node, NodeKind, Step


def item_etag(item: dict[str, Any]) -> str:
    """An item's ETag as SPO writes it: its version in double quotes (docs/emulator.md, "ETags")."""
    return f'"{int(item.get("Version", 1))}"'


def with_etag(response: ApiResponse, item: dict[str, Any]) -> ApiResponse:
    response.headers["ETag"] = item_etag(item)
    return response


def check_if_match(ctx: Ctx, item: dict[str, Any]) -> None:
    """Refuse a write whose ``IF-MATCH`` names another version of the item (``*`` matches any)."""
    wanted = (ctx.request.headers.get("if-match") or "").strip()
    if not wanted or wanted == "*":
        return
    current = item_etag(item)
    tags = [t.strip().removeprefix("W/") for t in wanted.split(",")]
    if current not in tags and "*" not in tags:
        raise RestError(
            412,
            ETAG_MISMATCH,
            f"The request ETag value '{wanted}' does not match the object's ETag value '{current}'.",
        )


class Items(ModelCore):
    """Creates, updates and validates list items, and the verbs addressed to one item."""

    def _step_items(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst = node.site, node.lst
        if name == "getbyid":
            return Node(NodeKind.ITEM, site, lst, self._item(ctx, lst, seg.args[0] if seg.args else None))
        return None

    def _step_item(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst, item = node.site, node.lst, node.obj
        if name == "parentlist":
            return Node(NodeKind.LIST, site, lst)
        if name == "recycle" and method == "POST":
            return ApiResponse.json({"d": {"Recycle": self._recycle_item(site, lst, item)}})
        if name == "validateupdatelistitem" and method == "POST":
            return self._validate_update(ctx, lst, item)
        if name == "contenttype":
            ct_id = item.get("ContentTypeId")
            return Node(NodeKind.CONTENT_TYPE, site, lst, self._ctype(site, lst, ct_id))
        if name == "fieldvaluesastext" or name == "fieldvalues":
            return ApiResponse.json(
                {
                    "d": {
                        "__metadata": {"type": "SP.FieldStringValues"},
                        **{k: ("" if v is None else str(v)) for k, v in item.items()},
                    }
                }
            )
        if name in ("systemupdate", "updateoverwriteversion") and method == "POST":
            return ApiResponse.empty(200)
        if name == "attachmentfiles":
            return Node(NodeKind.ATTACHMENTS, site, lst, item)
        if name == "getcomments":
            return ApiResponse.json({"d": {"results": []}})
        if name == "setcommentsdisabled" and method == "POST":
            disabled = seg.args[0] if seg.args else unwrap(ctx.request.json()).get("value")
            item["CommentsDisabled"] = bool(disabled)
            self.store.put_item(lst["Id"], item)
            return ApiResponse.empty(200)
        if name == "versions" and method == "GET":
            return self._versions_json(ctx, lst, item)
        # navigation to a lookup/user value: items(1)/Author
        fld = self._field_by_entity(lst, seg.name)
        if fld is not None and F.is_user(fld) and not F.is_multi(fld) and item.get(fld["InternalName"]):
            return Node(NodeKind.USER, site, target=self._user_by_id(site, item[fld["InternalName"]]))
        return None

    def _finish_items(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        lst = node.lst
        if method == "GET":
            return self._query_items(ctx, lst)
        if method == "POST":
            item = self._create_item(ctx, lst, ctx.request.json())
            return with_etag(ApiResponse.json({"d": self._item_json(ctx, lst, item)}, 201), item)
        return None

    def _finish_item(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, item = node.site, node.lst, node.obj
        if method == "GET":
            return with_etag(ApiResponse.json({"d": self._item_json(ctx, lst, item, ctx.opts)}), item)
        if method in ("MERGE", "PATCH", "PUT"):
            check_if_match(ctx, item)
            updated = self._update_item(ctx, lst, item, ctx.request.json())
            return with_etag(ApiResponse.empty(204), updated)
        if method == "DELETE":
            check_if_match(ctx, item)
            self.store.delete_item(lst["Id"], item["ID"])
            self._touch_list(lst)
            self._log(site, lst, item["ID"], 3, "Item")
            return ApiResponse.empty(200)
        return None

    def _item(self, ctx: Ctx, lst: dict[str, Any], item_id: Any) -> dict[str, Any]:
        try:
            key = int(item_id)
        except (TypeError, ValueError) as exc:
            raise bad_query(f"Invalid item id '{item_id}'.") from exc
        item = self.store.items(lst["Id"]).get(key)
        if item is None:
            raise RestError(
                404, ITEM_MISSING, "Item does not exist. It may have been deleted by another user."
            )
        return item

    def _apply_values(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], body: dict[str, Any], entity: str
    ) -> None:
        """Validate and apply written properties to ``item`` (in place)."""
        site = ctx.site
        emap = self._entity_map(lst)
        note_to_tax = {f["TextField"]: f for f in emap.values() if f.get("TextField")}
        for key, value in body.items():
            if key == "__metadata":
                continue
            fld = emap.get(key)
            if key == "ContentTypeId":
                item["ContentTypeId"] = self._list_ctype_for(site, lst, value)
                continue
            if key in (
                "Id",
                "ID",
                "Created",
                "Modified",
                "AuthorId",
                "EditorId",
                "GUID",
                "Attachments",
                "FileSystemObjectType",
                "OData__UIVersionString",
                "ServerRedirectedEmbedUri",
                "ServerRedirectedEmbedUrl",
                "ContentType",
            ):
                continue  # read-only system properties are ignored like SPO does
            if fld is None and key.endswith("Id"):
                lk = emap.get(key[:-2])
                if lk is not None and F.is_lookup(lk):
                    if lk.get("IsDependentLookup") or lk.get("ReadOnlyField"):
                        raise bad_query(f"The property '{key}' is read-only (dependent lookup).")
                    converted = convert(lk, value, key)
                    self._check_lookup_values(ctx, lk, converted, key, (lst["Id"], item.get("ID")))
                    item[lk["InternalName"]] = converted
                    continue
            if fld is None and key.endswith("StringId"):
                lk = emap.get(key[:-8])
                if lk is not None and F.is_user(lk):
                    if isinstance(value, dict):
                        value = {"results": [int(v) for v in results_of(value)]}
                    elif value is not None:
                        value = int(value)
                    converted = convert(lk, value, key)
                    self._check_lookup_values(ctx, lk, converted, key, (lst["Id"], item.get("ID")))
                    item[lk["InternalName"]] = converted
                    continue
            if fld is None:
                raise bad_query(
                    f"The property '{key}' does not exist on type '{entity}'. Make sure to only use "
                    "property names that are defined by the type."
                )
            if fld["Id"] in note_to_tax:
                tax = note_to_tax[fld["Id"]]
                terms = parse_taxonomy_text(str(value or ""))
                if not F.is_multi(tax) and len(terms) > 1:
                    raise RestError(400, F.VALIDATION, f"Field '{tax['Title']}' takes a single term.")
                item[tax["InternalName"]] = (
                    (terms or None) if F.is_multi(tax) else (terms[0] if terms else None)
                )
                continue
            if F.is_lookup(fld):
                raise bad_query(
                    f"A primitive value was specified for navigation property '{key}'; write lookup and "
                    f"person values as '{key}Id'."
                )
            if fld.get("ReadOnlyField") or fld["TypeAsString"] in ("Calculated", "Computed", "Counter"):
                raise bad_query(f"The property '{key}' cannot be set; it is read-only.")
            item[fld["InternalName"]] = convert(fld, value, key)

    def _check_lookup_values(
        self, ctx: Ctx, fld: dict[str, Any], value: Any, key: str, own: tuple[str, Any] = ("", None)
    ) -> None:
        """Each lookup id must name an item of the target list; ``own`` (list id, item id) is the item
        being written, which a lookup on its own list may name even while it is being created (SPO
        takes it: docs/emulator.md, "ValidateUpdateListItem")."""
        ids = value if isinstance(value, list) else ([value] if value is not None else [])
        if not ids:
            return
        if F.is_user(fld):
            for uid in ids:
                if self.store.get("user", f"{ctx.site['Id']}:{uid}") is None:
                    raise RestError(
                        400,
                        SP_EXCEPTION,
                        f"The user with ID {uid} in '{key}' does not exist on "
                        "this site; resolve people with EnsureUser first.",
                    )
            return
        target = norm_guid(fld.get("LookupList"))
        if not target or self.store.get("list", target) is None:
            return
        items = self.store.items(target)
        for lid in ids:
            if lid not in items and (target, lid) != own:
                raise RestError(
                    400, SP_EXCEPTION, f"The lookup value {lid} in '{key}' does not exist in the target list."
                )

    def _finalize(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], creating: bool, require: bool = True
    ) -> None:
        """Defaults, required checks (unless ``require`` is False) and calculated values."""
        flds = self.store.under("field", lst["Id"])
        for fld in flds:
            name = fld["InternalName"]
            if fld.get("FromBaseType") and name != "Title":
                continue
            if creating and item.get(name) is None and fld.get("DefaultValue") not in (None, ""):
                item[name] = self._default_value(fld)
            if (
                require
                and fld.get("Required")
                and item.get(name) in (None, "", [])
                and fld["TypeAsString"] not in ("Calculated", "Computed")
            ):
                raise RestError(
                    400,
                    F.VALIDATION,
                    f"Field '{fld['Title']}' ({name}) is required on list '{lst['Title']}'; give it a value.",
                )
        for fld in flds:
            if fld["TypeAsString"] == "Calculated":
                item[fld["InternalName"]] = F.evaluate_formula(fld.get("Formula") or "", item)

    def _default_value(self, fld: dict[str, Any]) -> Any:
        raw = fld.get("DefaultValue")
        t = fld["TypeAsString"]
        if t == "Boolean":
            return str(raw) in ("1", "true", "True", "TRUE")
        if t in ("Number", "Currency", "Integer"):
            try:
                v = float(raw)  # type: ignore[arg-type]  # None and other non-numbers: TypeError below
                return int(v) if v.is_integer() else v
            except (TypeError, ValueError):
                return None
        if t == "DateTime":
            if str(raw).lower() == "[today]":
                return utc_now().strftime("%Y-%m-%dT00:00:00Z")
            return None
        if t == "MultiChoice":
            return [c for c in str(raw).split(";#") if c]
        if t in ("Text", "Note", "Choice"):
            return str(raw)
        return None

    def _create_item(self, ctx: Ctx, lst: dict[str, Any], body: Any, require: bool = True) -> dict[str, Any]:
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        if not isinstance(body, dict):
            raise bad_query("The request body must be a JSON object describing the item.")
        mtype = (
            (body.get("__metadata") or {}).get("type") if isinstance(body.get("__metadata"), dict) else None
        )
        if mtype is None and json_light_body(ctx):
            mtype = entity  # a JSON light body names no type: the list does (docs/emulator.md, "Dialects")
        if mtype != entity:
            raise bad_query(
                f"A type named '{mtype}' could not be resolved by the model. When a model is available, "
                f"each type name must resolve to a valid type. List '{lst['Title']}' expects "
                f"__metadata.type '{entity}' (read ListItemEntityTypeFullName)."
            )
        site = ctx.site
        user = self._ensure_user(site, APP_LOGIN, title="SharePoint App")
        item_id = int(lst["NextItemId"])
        now = iso_z(utc_now())
        item: dict[str, Any] = {
            "ID": item_id,
            "Created": now,
            "Modified": now,
            "Author": user["Id"],
            "Editor": user["Id"],
            "GUID": str(uuid.uuid4()),
            "Version": 1,
            "ContentTypeId": self._list_ctype_for(site, lst, None),
        }
        self._apply_values(ctx, lst, item, body, entity)
        self._finalize(ctx, lst, item, creating=True, require=require)
        lst["NextItemId"] = item_id + 1
        lst["LastItemModifiedDate"] = now
        self.store.put("list", lst)
        self.store.put_item(lst["Id"], item)
        self._log(site, lst, item_id, 1, "Item")
        return item

    def _update_item(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], body: Any, system: bool = False
    ) -> dict[str, Any]:
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        if not isinstance(body, dict):
            raise bad_query("The request body must be a JSON object.")
        check_meta(body)
        meta = body.get("__metadata")
        if isinstance(meta, dict) and meta.get("type") not in (None, entity):
            raise bad_query(
                f"A type named '{meta.get('type')}' could not be resolved by the model. List "
                f"'{lst['Title']}' expects __metadata.type '{entity}'."
            )
        updated = dict(item)
        self._apply_values(ctx, lst, updated, body, entity)
        self._finalize(ctx, lst, updated, creating=False)
        if not system:
            user = self._ensure_user(ctx.site, APP_LOGIN, title="SharePoint App")
            now = utc_now()
            stamp = iso_z(now)
            if stamp <= item["Modified"]:  # keep Modified strictly increasing within a second
                stamp = item["Modified"]
            updated["Modified"] = iso_z(now) if iso_z(now) > item["Modified"] else stamp
            updated["Editor"] = user["Id"]
            updated["Version"] = int(item.get("Version", 1)) + 1
        self.store.put_item(lst["Id"], updated)
        self._touch_list(lst)
        self._log(ctx.site, lst, item["ID"], 15 if system else 2, "Item")
        return updated

    def _wss_id(self, site: dict[str, Any], term_guid: str) -> int:
        wss = site.setdefault("Wss", {})
        if term_guid not in wss:
            wss[term_guid] = site.get("NextWss", 1)
            site["NextWss"] = wss[term_guid] + 1
            self.store.put("site", site)
        return int(wss[term_guid])

    def _tax_value(self, site: dict[str, Any], term: dict[str, str], label: bool = False) -> dict[str, Any]:
        wss = self._wss_id(site, term["TermGuid"])
        # SPO's REST payload of a single-value term carries the WssId (as text) in Label, a multi-value
        # field's terms their labels (``label``); docs/emulator.md, "Item values".
        return {
            "__metadata": {"type": "SP.Taxonomy.TaxonomyFieldValue"},
            "Label": term.get("Label", "") if label else str(wss),
            "TermGuid": term["TermGuid"],
            "WssId": wss,
        }

    def _finish_attachments(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            return ApiResponse.json({"d": {"results": []}})
        return None

    def _add_item_with_info(self, ctx: Ctx, site: dict[str, Any], lst: dict[str, Any]) -> ApiResponse:
        """``<list>/addItem`` with SP.ListItemCreationInformation: an empty item in the list's root folder.

        ``FolderUrl`` may be empty, server-relative or absolute but must name the list's root folder;
        the client's ``add_item(ListItemCreationInformation)`` sends ``base_url + ServerRelativeUrl``,
        i.e. ``/sites/x`` twice, which names no folder and is refused (docs/emulator.md, "Client quirks").
        """
        info = unwrap(ctx.request.json(), "parameters")
        if int(info.get("UnderlyingObjectType") or 0) != 0:
            raise RestError(
                400,
                NOT_SUPPORTED,
                "The emulator creates list folders through "
                "RootFolder/Folders/add only; addItem supports UnderlyingObjectType 0 (a file/item).",
            )
        self._check_root_folder(site, lst, str(info.get("FolderUrl") or ""), "addItem")
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        item = self._create_item(ctx, lst, {"__metadata": {"type": entity}}, require=False)
        return ApiResponse.json({"d": self._item_json(ctx, lst, item)})

    def _check_root_folder(
        self, site: dict[str, Any], lst: dict[str, Any], folder: str, operation: str
    ) -> None:
        """A new item's folder (empty, server-relative or absolute) must be the list's root folder."""
        path = urlsplit(folder).path if "://" in folder else folder
        root = self._list_server_url(site, lst)
        if path and path.rstrip("/").lower() != root.lower():
            raise RestError(
                400,
                ARGUMENT,
                f"Value does not fall within the expected range. {operation}: folder "
                f"'{folder}' is not the root folder of list '{lst['Title']}' ({root}); the emulator "
                "adds items to the root folder only. The office365 client doubles the site path in "
                "addItem (see docs/emulator.md, 'Client quirks'): POST to <list>/items.",
            )

    def _versions_json(self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any]) -> ApiResponse:
        """``items(n)/versions``: the emulator keeps no history, so only the current version is listed."""
        version = int(item.get("Version", 1))
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Items({item['ID']})/Versions({512 * version})"
        return ApiResponse.json(
            {
                "d": {
                    "results": [
                        {
                            "__metadata": {"id": uri, "uri": uri, "type": "SP.ListItemVersion"},
                            "Created": item["Modified"],
                            "IsCurrentVersion": True,
                            "VersionId": 512 * version,
                            "VersionLabel": f"{version}.0",
                        }
                    ]
                }
            }
        )
