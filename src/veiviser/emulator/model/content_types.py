"""Content types: site and list content types, field links and the resource properties."""

from __future__ import annotations

import uuid
from typing import Any

from ..api import ApiResponse, RestError
from ..odata import bad_query
from ..paths import Segment
from .common import ARGUMENT, DUPLICATE, SP_EXCEPTION, Ctx, norm_guid, strip_meta, unwrap
from .core import ModelCore
from .state import Node, NodeKind, Step

# The properties of SP.ContentType a MERGE may change.
WRITABLE_CONTENT_TYPE_PROPERTIES = frozenset(
    "Name Description Group Hidden ReadOnly Sealed JSLink NewFormUrl EditFormUrl "  # noqa: SIM905 (names read better as words)
    "DisplayFormUrl DocumentTemplate".split()
)


class ContentTypes(ModelCore):
    """Site and list content types, their field links and resource properties."""

    def _step_ctypes(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst = node.site, node.parent_list
        if name == "getbyid":
            return Node(
                NodeKind.CONTENT_TYPE, site, lst, self._ctype(site, lst, str(seg.args[0] if seg.args else ""))
            )
        if name == "create" and method == "POST":
            info = unwrap(ctx.request.json(), "parameters")
            ct = self._create_ctype(site, lst, info)
            self._log(site, lst, None, 1, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)})
        if name == "addavailablecontenttype" and method == "POST" and lst is not None:
            ct_id = seg.args[0] if seg.args else unwrap(ctx.request.json()).get("contentTypeId")
            ct = self._add_list_ctype(site, lst, str(ct_id))
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)})
        if name == "addexistingcontenttype" and method == "POST" and lst is not None:
            body = unwrap(ctx.request.json())
            ct = self._add_list_ctype(site, lst, str(body.get("contentType") or body.get("contentTypeId")))
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)})
        return None

    def _step_ctype(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst, ct = node.site, node.parent_list, node.obj
        if name in ("nameresource", "descriptionresource"):
            return Node(NodeKind.RESOURCE, site, lst, ct, "Name" if name == "nameresource" else "Description")
        if name == "fieldlinks":
            if seg.args:
                return Node(NodeKind.FIELD_LINK, site, lst, ct, str(seg.args[0]))
            return Node(NodeKind.FIELD_LINKS, site, lst, ct)
        if name == "fields":
            return Node(NodeKind.CONTENT_TYPE_FIELDS, site, lst, ct)
        if name == "update" and method == "POST" and last:
            body = unwrap(ctx.request.json() if ctx.request.body else {})
            if body.get("updateChildren") and lst is None:
                self._push_to_children(site, ct)
            self._log(site, lst, None, 2, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.json({"d": {"Update": None}})  # a void result
        return None

    def _push_to_children(self, site: dict[str, Any], ct: dict[str, Any]) -> None:
        """ContentType.Update(updateChildren=true): the site content type's writable properties and
        field links go to the list content types made from it (docs/emulator.md, "Lists, views and
        content types")."""
        for lst in self.store.under("list", site["WebId"]):
            for child in self._ctypes(site, lst):
                if child.get("Parent") != ct["StringId"]:
                    continue
                for key in WRITABLE_CONTENT_TYPE_PROPERTIES:
                    if key in ct:
                        child[key] = ct[key]
                for name in ct["FieldLinks"]:
                    if name in child["FieldLinks"]:
                        continue
                    if self._find_field(site, lst, name) is None:
                        site_field = self._find_field(site, None, name)
                        if site_field is not None:
                            self._store_field(
                                site, lst, {k: v for k, v in site_field.items() if not k.startswith("_")}
                            )
                    child["FieldLinks"].append(name)
                self.store.put("ctype", child)

    def _step_fieldlinks(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        if name == "getbyid":
            return Node(
                NodeKind.FIELD_LINK,
                node.site,
                node.parent_list,
                node.obj,
                str(seg.args[0] if seg.args else ""),
            )
        return None

    def _finish_ctypes(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst = node.site, node.parent_list
        if method == "GET":
            cts = [self._ctype_json(ctx, lst, ct) for ct in self._ctypes(site, lst)]
            return self._collection_response(ctx, cts, entity_filter=True)
        if method == "POST":
            body = strip_meta(ctx.request.json())
            ct_id = body.get("Id")
            if isinstance(ct_id, dict):
                ct_id = ct_id.get("StringValue")
            info = {
                "Name": body.get("Name"),
                "Description": body.get("Description"),
                "Group": body.get("Group"),
                "Id": ct_id,
            }
            ct = self._create_ctype(site, lst, info)
            self._log(site, lst, None, 1, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)}, 201)
        return None

    def _finish_ctype(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, ct = node.site, node.parent_list, node.obj
        if method == "GET":
            return self._ok(ctx, self._ctype_json(ctx, lst, ct))
        if method in ("MERGE", "PATCH"):
            body = strip_meta(ctx.request.json())
            for key, value in body.items():
                if key not in WRITABLE_CONTENT_TYPE_PROPERTIES:
                    raise bad_query(
                        f"The property '{key}' does not exist on type 'SP.ContentType' or is read-only."
                    )
                ct[key] = value
            self.store.put("ctype", ct)
            self._log(site, lst, None, 2, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.empty(204)
        if method == "DELETE":
            if lst is not None:
                in_use = any(
                    i.get("ContentTypeId") == ct["StringId"] for i in self.store.items(lst["Id"]).values()
                )
            else:
                in_use = any(
                    c["StringId"].startswith(ct["StringId"]) and c is not ct
                    for c in self.store.under("ctype", site["WebId"])
                )
            if in_use:
                raise RestError(400, SP_EXCEPTION, "The content type is in use.")
            self.store.delete("ctype", ct["_id"])
            self._log(site, lst, None, 3, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.empty(200)
        return None

    def _finish_fieldlinks(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, ct = node.site, node.parent_list, node.obj
        if method == "GET":
            links = [self._fieldlink_json(site, lst, ct, n) for n in ct["FieldLinks"]]
            return self._collection_response(ctx, [x for x in links if x])
        if method == "POST":
            body = unwrap(ctx.request.json(), "parameters")
            name = body.get("FieldInternalName")
            if not name and isinstance(body.get("Field"), dict):
                name = body["Field"].get("InternalName")
            fld = self._field_by_name_or_title(site, lst, str(name or ""))
            if fld["InternalName"] not in ct["FieldLinks"]:
                ct["FieldLinks"].append(fld["InternalName"])
                self.store.put("ctype", ct)
            return ApiResponse.json({"d": self._fieldlink_json(site, lst, ct, fld["InternalName"])}, 201)
        return None

    def _finish_fieldlink(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, ct, key = node.site, node.parent_list, node.obj, node.key
        name = None
        for n in ct["FieldLinks"]:
            link = self._fieldlink_json(site, lst, ct, n)
            if link and (link["Id"] == norm_guid(key) or n == key):
                name = n
        if name is None:
            raise RestError(
                404, ARGUMENT, f"Field link '{key}' does not exist in content type '{ct['Name']}'."
            )
        if method == "GET":
            return self._ok(ctx, self._fieldlink_json(site, lst, ct, name) or {})
        if method == "DELETE":
            ct["FieldLinks"].remove(name)
            self.store.put("ctype", ct)
            return ApiResponse.empty(200)
        return None

    def _finish_ctfields(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, ct = node.site, node.parent_list, node.obj
        if method == "GET":
            out = []
            for n in ct["FieldLinks"]:
                fld = self._find_field(site, lst, n)
                if fld:
                    out.append(self._field_json(ctx, lst, fld))
            return self._collection_response(ctx, out)
        return None

    def _ctypes(self, site: dict[str, Any], lst: dict[str, Any] | None) -> list[dict[str, Any]]:
        return self.store.under("ctype", lst["Id"] if lst else site["WebId"])

    def _ctype(self, site: dict[str, Any], lst: dict[str, Any] | None, ct_id: str | None) -> dict[str, Any]:
        for ct in self._ctypes(site, lst):
            if ct["StringId"].lower() == str(ct_id).lower():
                return ct
        raise RestError(404, ARGUMENT, f"Content type '{ct_id}' does not exist.")

    def _create_ctype(
        self, site: dict[str, Any], lst: dict[str, Any] | None, info: dict[str, Any]
    ) -> dict[str, Any]:
        name = info.get("Name")
        if not name:
            raise RestError(400, ARGUMENT, "A content type needs a Name.")
        parent = lst["Id"] if lst else site["WebId"]
        existing = self._ctypes(site, lst)
        if any(c["Name"].lower() == str(name).lower() for c in existing):
            raise RestError(
                500,
                "-2130575342, Microsoft.SharePoint.SPException",
                f'A duplicate content type "{name}" was found.',
            )
        ct_id = info.get("Id")
        if not ct_id:
            parent_id = info.get("ParentId") or "0x01"
            ct_id = f"{parent_id}00{uuid.uuid4().hex.upper()}"
        ct_id = str(ct_id)
        if not ct_id.lower().startswith("0x") or any(
            c["StringId"].lower() == ct_id.lower() for c in existing
        ):
            raise RestError(
                500,
                DUPLICATE if ct_id.lower().startswith("0x") else ARGUMENT,
                f"A duplicate content type ID or an invalid ID was given: '{ct_id}'.",
            )
        parent_ct = None
        for c in sorted(existing, key=lambda c: -len(c["StringId"])):
            if ct_id.lower().startswith(c["StringId"].lower()) and ct_id.lower() != c["StringId"].lower():
                parent_ct = c
                break
        if parent_ct is None:
            raise RestError(400, SP_EXCEPTION, f"The parent of content type '{ct_id}' does not exist.")
        ct = {
            "_id": f"{parent}:{ct_id}",
            "_parent": parent,
            "StringId": ct_id,
            "Name": name,
            "Description": info.get("Description") or "",
            "Group": info.get("Group") or "Custom Content Types",
            "Hidden": False,
            "ReadOnly": False,
            "Sealed": False,
            "FieldLinks": list(parent_ct["FieldLinks"]),
        }
        self.store.put("ctype", ct)
        return ct

    def _add_list_ctype(
        self, site: dict[str, Any], lst: dict[str, Any], ct_id: str, log: bool = True
    ) -> dict[str, Any]:
        site_ct = self._ctype(site, None, ct_id)
        for ct in self._ctypes(site, lst):
            if ct.get("Parent") == site_ct["StringId"]:
                raise RestError(500, DUPLICATE, f'A duplicate content type "{site_ct["Name"]}" was found.')
        list_ct_id = f"{site_ct['StringId']}00{uuid.uuid4().hex.upper()}"
        for name in site_ct["FieldLinks"]:
            if self._find_field(site, lst, name) is None:
                site_field = self._find_field(site, None, name)
                if site_field is not None:
                    copy = {k: v for k, v in site_field.items() if not k.startswith("_")}
                    self._store_field(site, lst, copy)
        ct = {
            **{k: v for k, v in site_ct.items() if not k.startswith("_")},
            "_id": f"{lst['Id']}:{list_ct_id}",
            "_parent": lst["Id"],
            "StringId": list_ct_id,
            "Parent": site_ct["StringId"],
            "FieldLinks": list(site_ct["FieldLinks"]),
        }
        self.store.put("ctype", ct)
        if log:
            self._log(site, lst, None, 2, "ContentType", {"ContentTypeId": list_ct_id})
        return ct

    def _list_ctype_for(self, site: dict[str, Any], lst: dict[str, Any], ct_id: Any) -> str:
        cts = self._ctypes(site, lst)
        if ct_id is None:
            return cts[0]["StringId"] if cts else "0x01"
        ct_id = str(ct_id)
        for ct in cts:
            if ct["StringId"].lower() == ct_id.lower():
                return str(ct["StringId"])
        for ct in cts:
            if ct.get("Parent", "").lower() == ct_id.lower():
                return str(ct["StringId"])
        raise RestError(
            400,
            SP_EXCEPTION,
            f"Content type '{ct_id}' is not available on list "
            f"'{lst['Title']}'; add it with AddAvailableContentType first.",
        )

    def _step_resource(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        """``<content type>/NameResource`` (SP.UserResource): per-culture values of Name/Description."""
        ct, prop = node.obj, node.key
        if method != "POST" or name not in ("setvalueforuiculture", "getvalueforuiculture"):
            return None
        body = unwrap(ctx.request.json())
        culture = str(body.get("cultureName") or "")
        if not culture:
            raise RestError(400, ARGUMENT, f"{seg.name} needs a cultureName such as 'nb-NO'.")
        values = ct.setdefault("Resources", {}).setdefault(prop, {})
        if name == "setvalueforuiculture":
            values[culture.lower()] = str(body.get("value") or "")
            self.store.put("ctype", ct)
            return ApiResponse.json({"d": {"SetValueForUICulture": None}})
        return ApiResponse.json(
            {"d": {"GetValueForUICulture": values.get(culture.lower(), ct.get(prop, ""))}}
        )
