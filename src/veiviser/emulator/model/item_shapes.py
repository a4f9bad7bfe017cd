"""JSON shapes of list items: field values by type, lookups, ``$expand`` and projection."""

from __future__ import annotations

from typing import Any

from .. import fields as F
from ..api import RestError
from ..naming import list_item_entity_type_full_name
from ..odata import QueryOptions
from .common import ARGUMENT, ITEM_NAVIGATION, Ctx, collection_of, norm_guid
from .core import ModelCore


class ItemShapes(ModelCore):
    """Renders list items as verbose JSON, with ``$select`` and ``$expand``."""

    def _field_value(self, ctx: Ctx, fld: dict[str, Any], item: dict[str, Any]) -> Any:
        t = fld["TypeAsString"]
        value = item.get(fld["InternalName"])
        if t in ("MultiChoice",):
            return collection_of(list(value or []))
        if t == "URL" and value is not None:
            return {"__metadata": {"type": "SP.FieldUrlValue"}, **value}
        if t == "TaxonomyFieldType":
            return self._tax_value(ctx.site, value) if value else None
        if t == "TaxonomyFieldTypeMulti":
            return collection_of(
                [self._tax_value(ctx.site, v) for v in (value or [])],
                "Collection(SP.Taxonomy.TaxonomyFieldValue)",
            )
        return value

    def _note_text(self, fld_tax: dict[str, Any], item: dict[str, Any]) -> str | None:
        value = item.get(fld_tax["InternalName"])
        if not value:
            return None
        terms = value if isinstance(value, list) else [value]
        return ";".join(f"{t['Label']}|{t['TermGuid']}" for t in terms)

    def _lookup_target(self, ctx: Ctx, fld: dict[str, Any], target_id: int) -> dict[str, Any]:
        """The expanded form of one lookup/user value."""
        if F.is_user(fld):
            user = self.store.get("user", f"{ctx.site['Id']}:{target_id}")
            if user is None:
                return {"__metadata": {"type": "SP.Data.UserInfoItem"}, "Id": target_id}
            uri = f"{ctx.api}Web/SiteUserInfoList/Items({target_id})"
            return {
                "__metadata": {"id": uri, "type": "SP.Data.UserInfoItem"},
                "Id": user["Id"],
                "ID": user["Id"],
                "Title": user["Title"],
                "EMail": user["Email"],
                "Name": user["LoginName"],
                "UserName": user.get("UserPrincipalName"),
                "FirstName": user["Title"].split(" ")[0],
                "LastName": user["Title"].split(" ")[-1],
                "JobTitle": None,
                "Department": None,
            }
        target_list = self.store.get("list", norm_guid(fld.get("LookupList")))
        if target_list is None:
            return {"__metadata": {"type": "SP.Data.ListItem"}, "Id": target_id}
        target = self.store.items(target_list["Id"]).get(target_id) or {"ID": target_id}
        entity = list_item_entity_type_full_name(target_list["UrlLeaf"], target_list["BaseTemplate"])
        uri = f"{ctx.api}Web/Lists(guid'{target_list['Id']}')/Items({target_id})"
        out: dict[str, Any] = {"__metadata": {"id": uri, "type": entity}, "Id": target_id, "ID": target_id}
        for tf in self.store.under("field", target_list["Id"]):
            if tf["InternalName"] in ("ID",) or tf["TypeAsString"] == "Computed":
                continue
            if tf["InternalName"] in target:
                out[tf["EntityPropertyName"]] = target[tf["InternalName"]]
        return out

    def _item_json(
        self,
        ctx: Ctx,
        lst: dict[str, Any],
        item: dict[str, Any],
        opts: QueryOptions | None = None,
        flds: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        flds = flds if flds is not None else self.store.under("field", lst["Id"])
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        iid = item["ID"]
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Items({iid})"
        full: dict[str, Any] = {
            "__metadata": {
                "id": item["GUID"],
                "uri": uri,
                "etag": f'"{item.get("Version", 1)}"',
                "type": entity,
            },
            **{nav: {"__deferred": {"uri": f"{uri}/{nav}"}} for nav in ITEM_NAVIGATION},
            "FileSystemObjectType": 0,
            "Id": iid,
            "ServerRedirectedEmbedUri": None,
            "ServerRedirectedEmbedUrl": "",
            "ID": iid,
            "ContentTypeId": item.get("ContentTypeId"),
        }
        by_id = {f["Id"]: f for f in flds}
        primaries: dict[str, dict[str, Any]] = {}
        for fld in flds:
            name, key, t = fld["InternalName"], fld["EntityPropertyName"], fld["TypeAsString"]
            if (
                name
                in (
                    "ID",
                    "ContentTypeId",
                    "ContentType",
                    "LinkTitle",
                    "LinkTitleNoMenu",
                    "Edit",
                    "DocIcon",
                    "FileRef",
                )
                or t == "Computed"
            ):
                continue
            if name == "Attachments":
                full["Attachments"] = False
                continue
            if F.is_lookup(fld):
                if fld.get("IsDependentLookup"):
                    primary = by_id.get(norm_guid(fld.get("PrimaryFieldId")))
                    value = item.get(primary["InternalName"]) if primary else None
                    primaries[key] = fld
                else:
                    value = item.get(name)
                full[key] = {"__deferred": {"uri": f"{uri}/{key}"}}
                if F.is_multi(fld):
                    full[key + "Id"] = collection_of(list(value or []), "Collection(Edm.Int32)")
                    if F.is_user(fld):
                        full[key + "StringId"] = collection_of([str(v) for v in value or []])
                else:
                    full[key + "Id"] = value
                    if F.is_user(fld):
                        full[key + "StringId"] = None if value is None else str(value)
                continue
            if fld.get("Hidden") and t == "Note" and name not in item:
                tax = next((f for f in flds if f.get("TextField") == fld["Id"]), None)
                if tax is not None:
                    full[key] = self._note_text(tax, item)
                    continue
            full[key] = self._field_value(ctx, fld, item)
        full["OData__UIVersionString"] = f"{item.get('Version', 1)}.0"
        full["GUID"] = item["GUID"]
        if opts is None or not (opts.select or opts.expand):
            return full
        return self._project_item(ctx, lst, item, full, opts, flds)

    def _project_item(
        self,
        ctx: Ctx,
        lst: dict[str, Any],
        item: dict[str, Any],
        full: dict[str, Any],
        opts: QueryOptions,
        flds: list[dict[str, Any]],
    ) -> dict[str, Any]:
        emap = {f["EntityPropertyName"]: f for f in flds}
        lower = {k.lower(): k for k in full}
        expand = {e.lower() for e in opts.expand}
        select = opts.select or ["*"]
        out: dict[str, Any] = {"__metadata": full["__metadata"]}
        subs: dict[str, list[str]] = {}
        for sel in select:
            if sel == "*":
                for k, v in full.items():
                    if not (isinstance(v, dict) and "__deferred" in v):
                        out[k] = v
                continue
            if "/" in sel:
                head, sub = sel.split("/", 1)
                subs.setdefault(head, []).append(sub)
                continue
            key = sel if sel in full else lower.get(sel.lower())
            if key is None:
                raise RestError(
                    400, ARGUMENT, f"Column '{sel}' does not exist. It may have been deleted by another user."
                )
            if (
                isinstance(full[key], dict)
                and "__deferred" in full[key]
                and key.lower() not in expand
                and key in emap
            ):
                raise RestError(
                    400,
                    "-1, Microsoft.SharePoint.SPException",
                    f"The query to field '{key}' is not valid. The $select query string must "
                    f"specify the target fields and the $expand query string must contains {key}.",
                )
            out[key] = full[key]
        for head in opts.expand:
            fld = emap.get(head) or next((f for n, f in emap.items() if n.lower() == head.lower()), None)
            if fld is None or not F.is_lookup(fld):
                if head.lower() == "attachmentfiles":  # the emulator stores no attachments
                    out["AttachmentFiles"] = {"results": []}
                    continue
                if head.lower() in ("contenttype",):
                    ct = next(
                        (
                            c
                            for c in self._ctypes(ctx.site, lst)
                            if c["StringId"] == item.get("ContentTypeId")
                        ),
                        None,
                    )
                    out["ContentType"] = {
                        "__metadata": {"type": "SP.ContentType"},
                        "Name": ct["Name"] if ct else "",
                        "StringId": item.get("ContentTypeId"),
                    }
                    continue
                raise RestError(400, ARGUMENT, f"Column '{head}' does not exist or cannot be expanded.")
            key = fld["EntityPropertyName"]
            wanted = subs.get(key) or subs.get(head) or []
            ids = full.get(key + "Id")
            if isinstance(ids, dict):
                ids = ids.get("results", [])
            target_field = fld
            if fld.get("IsDependentLookup"):
                target_field = {**fld, "IsDependentLookup": False}

            def project(
                tid: int, tf: dict[str, Any] = target_field, want: list[str] = wanted
            ) -> dict[str, Any]:
                value = self._lookup_target(ctx, tf, tid)
                if not want:
                    return value
                return {"__metadata": value["__metadata"], **{w: value.get(w) for w in want}}

            if F.is_multi(fld):
                out[key] = {"results": [project(t) for t in (ids or [])]}
            else:
                out[key] = project(ids) if ids is not None else {"__metadata": {"type": "SP.Data.ListItem"}}
        return out
