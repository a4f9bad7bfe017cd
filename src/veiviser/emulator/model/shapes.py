"""JSON shapes: how sites, webs, lists, fields, content types, views, users and hubs are rendered."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from .. import fields as F
from ..api import ApiResponse
from ..naming import LIBRARY_TEMPLATES, list_entity_type_name, list_item_entity_type_full_name
from ..odata import evaluate, parse_filter, parse_orderby
from .common import ZERO_GUID, Ctx, collection_of, iso_z, utc_now
from .core import ModelCore


class Shapes(ModelCore):
    """Renders sites, webs, lists, fields, content types, views, users and hubs as verbose JSON."""

    def _ok(self, ctx: Ctx, payload: dict[str, Any]) -> ApiResponse:
        return ApiResponse.json({"d": self._select(ctx, payload)})

    def _select(self, ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
        sel = ctx.opts.select
        if not sel or "*" in sel:
            return payload
        wanted = {s.split("/")[0].lower() for s in sel}
        return {k: v for k, v in payload.items() if k == "__metadata" or k.lower() in wanted}

    def _view_fields_json(self, ctx: Ctx, lst: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        names = view["ViewFields"]
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Views(guid'{view['Id']}')/ViewFields"
        xml = '<FieldRef Name="' + '" /><FieldRef Name="'.join(names) + '" />' if names else ""
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.ViewFieldCollection"},
            "SchemaXml": xml,
            "Items": collection_of(list(names)),
        }

    def _collection_response(
        self, ctx: Ctx, rows: list[dict[str, Any]], entity_filter: bool = True
    ) -> ApiResponse:
        """Apply ``$filter``/``$orderby``/``$top``/``$select`` to a small metadata collection."""
        opts = ctx.opts
        if opts.filter and entity_filter:
            tree = parse_filter(opts.filter)

            def keep(row: dict[str, Any]) -> bool:
                def resolve(name: str) -> Any:
                    value = row.get(name)
                    if isinstance(value, dict) and "StringValue" in value:
                        return value["StringValue"]
                    return value

                return bool(evaluate(tree, resolve))

            rows = [r for r in rows if keep(r)]
        if opts.orderby:
            for key, desc in reversed(parse_orderby(opts.orderby)):

                def by_key(r: dict[str, Any], k: str = key) -> tuple[bool, Any]:
                    value = r.get(k)
                    return (value is not None, str(value) if not isinstance(value, (int, float)) else value)

                rows.sort(key=by_key, reverse=desc)
        if opts.top is not None:
            rows = rows[: opts.top]
        return ApiResponse.json({"d": {"results": [self._select(ctx, r) for r in rows]}})

    def _list_json(self, ctx: Ctx, lst: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')"
        tmpl = lst["BaseTemplate"]
        return {
            "__metadata": {"id": uri, "uri": uri, "etag": '"1"', "type": "SP.List"},
            "RootFolder": {"__deferred": {"uri": uri + "/RootFolder"}},
            "Fields": {"__deferred": {"uri": uri + "/Fields"}},
            "Items": {"__deferred": {"uri": uri + "/Items"}},
            "Views": {"__deferred": {"uri": uri + "/Views"}},
            "ContentTypes": {"__deferred": {"uri": uri + "/ContentTypes"}},
            "AllowContentTypes": True,
            "BaseTemplate": tmpl,
            "BaseType": lst["BaseType"],
            "ContentTypesEnabled": bool(lst.get("ContentTypesEnabled")),
            "Created": lst["Created"],
            "DefaultViewUrl": f"{self._list_server_url(ctx.site, lst)}/AllItems.aspx",
            "Description": lst.get("Description", ""),
            "EnableAttachments": bool(lst.get("EnableAttachments")),
            "EnableVersioning": bool(lst.get("EnableVersioning")),
            "EnableFolderCreation": bool(lst.get("EnableFolderCreation", tmpl in LIBRARY_TEMPLATES)),
            "EntityTypeName": list_entity_type_name(lst["UrlLeaf"], tmpl),
            "Hidden": bool(lst.get("Hidden")),
            "Id": lst["Id"],
            "ItemCount": len(self.store.items(lst["Id"])),
            "LastItemDeletedDate": lst.get("LastItemDeletedDate"),
            "LastItemModifiedDate": lst["LastItemModifiedDate"],
            "ListItemEntityTypeFullName": list_item_entity_type_full_name(lst["UrlLeaf"], tmpl),
            "NoCrawl": bool(lst.get("NoCrawl")),
            "OnQuickLaunch": bool(lst.get("OnQuickLaunch")),
            "ParentWebUrl": ctx.site["Path"] or "/",
            "Title": lst["Title"],
        }

    def _field_json(self, ctx: Ctx, lst: dict[str, Any] | None, fld: dict[str, Any]) -> dict[str, Any]:
        base = f"{ctx.api}Web/Lists(guid'{lst['Id']}')" if lst else f"{ctx.api}Web"
        uri = f"{base}/Fields(guid'{fld['Id']}')"
        out: dict[str, Any] = {"__metadata": {"id": uri, "uri": uri, "type": F.TYPES[fld["TypeAsString"]][1]}}
        for key, value in fld.items():
            if key.startswith("_") or key in ("FieldRefs",):
                continue
            if key == "Choices":
                value = collection_of(list(value))
            out[key] = value
        out["SchemaXml"] = F.schema_xml(fld)
        if F.is_user(fld):
            out["LookupList"] = ""
        if fld["TypeAsString"] == "Calculated":
            out["DateFormat"] = 0
        return out

    def _ctype_json(self, ctx: Ctx, lst: dict[str, Any] | None, ct: dict[str, Any]) -> dict[str, Any]:
        base = f"{ctx.api}Web/Lists(guid'{lst['Id']}')" if lst else f"{ctx.api}Web"
        uri = f"{base}/ContentTypes('{ct['StringId']}')"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.ContentType"},
            "FieldLinks": {"__deferred": {"uri": uri + "/FieldLinks"}},
            "Fields": {"__deferred": {"uri": uri + "/Fields"}},
            "Id": {"__metadata": {"type": "SP.ContentTypeId"}, "StringValue": ct["StringId"]},
            "StringId": ct["StringId"],
            "Name": ct["Name"],
            "Description": ct.get("Description", ""),
            "Group": ct.get("Group", ""),
            "Hidden": bool(ct.get("Hidden")),
            "ReadOnly": bool(ct.get("ReadOnly")),
            "Sealed": bool(ct.get("Sealed")),
            "SchemaXml": f'<ContentType ID="{ct["StringId"]}" Name="{ct["Name"]}" />',
            "Scope": (ctx.site["Path"] or "/"),
        }

    def _fieldlink_json(
        self, site: dict[str, Any], lst: dict[str, Any] | None, ct: dict[str, Any], name: str
    ) -> dict[str, Any] | None:
        fld = self._find_field(site, lst, name) or self._find_field(site, None, name)
        if fld is None:
            return None
        return {
            "__metadata": {"type": "SP.FieldLink"},
            "Id": fld["Id"],
            "Name": fld["InternalName"],
            "FieldInternalName": fld["InternalName"],
            "Hidden": bool(fld.get("Hidden")),
            "Required": bool(fld.get("Required")),
            "ReadOnly": bool(fld.get("ReadOnlyField")),
        }

    def _view_json(self, ctx: Ctx, lst: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Views(guid'{view['Id']}')"
        names = view["ViewFields"]
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.View"},
            "ViewFields": {"__deferred": {"uri": uri + "/ViewFields"}},
            "Id": view["Id"],
            "Title": view["Title"],
            "DefaultView": view["DefaultView"],
            "RowLimit": view["RowLimit"],
            "ViewQuery": view["ViewQuery"],
            "Paged": view["Paged"],
            "Hidden": view["Hidden"],
            "PersonalView": view["PersonalView"],
            "ViewType": "HTML",
            "ServerRelativeUrl": view["ServerRelativeUrl"],
            "BaseViewId": "1",
            "HtmlSchemaXml": f'<View Name="{{{view["Id"].upper()}}}" DisplayName="{view["Title"]}">'
            f"<Query>{view['ViewQuery']}</Query><ViewFields>"
            + "".join(f'<FieldRef Name="{n}" />' for n in names)
            + f'</ViewFields><RowLimit Paged="TRUE">{view["RowLimit"]}</RowLimit></View>',
        }

    def _user_json(self, ctx: Ctx, user: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Web/GetUserById({user['Id']})"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.User"},
            **{k: v for k, v in user.items() if not k.startswith("_")},
            "UserId": {
                "__metadata": {"type": "SP.UserIdInfo"},
                "NameId": uuid.uuid5(uuid.NAMESPACE_URL, user["LoginName"]).hex[:16],
                "NameIdIssuer": "urn:federation:microsoftonline",
            },
        }

    def _hub_json(self, ctx: Ctx, site: dict[str, Any], type_name: str = "SP.HubSite") -> dict[str, Any]:
        return {
            "__metadata": {"type": type_name},
            "ID": site["Id"],
            "SiteId": site["Id"],
            "SiteUrl": ctx.base + site["Path"],
            "Title": site["Title"],
            "Description": site["Description"],
            "LogoUrl": "",
            "ParentHubSiteId": ZERO_GUID,
            "RequiresJoinApproval": False,
            "SiteDesignId": ZERO_GUID,
            "Targets": None,
            "TenantInstanceId": ZERO_GUID,
            "HideNameInNavigation": False,
        }

    def _site_properties(self, ctx: Ctx, site: dict[str, Any]) -> dict[str, Any]:
        return {
            "__metadata": {"type": "Microsoft.Online.SharePoint.TenantAdministration.SiteProperties"},
            "Url": ctx.base + (site["Path"] or "/"),
            "Title": site["Title"],
            "Owner": site["Owner"],
            "OwnerEmail": site["Owner"],
            "Template": site["WebTemplate"],
            "Lcid": site["Lcid"],
            "Status": "Active",
            "SiteId": site["Id"],
            "IsHubSite": site["IsHubSite"],
            "HubSiteId": site["HubSiteId"],
            "LockState": "Unlock",
            "StorageUsage": 1,
            "WebsCount": 1,
        }

    def _web_json(self, ctx: Ctx, site: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Web"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.Web"},
            "Lists": {"__deferred": {"uri": uri + "/Lists"}},
            "Fields": {"__deferred": {"uri": uri + "/Fields"}},
            "SiteUsers": {"__deferred": {"uri": uri + "/SiteUsers"}},
            "AllProperties": {"__deferred": {"uri": uri + "/AllProperties"}},
            "Id": site["WebId"],
            "Title": site["Title"],
            "Description": site.get("Description", ""),
            "Url": ctx.site_url,
            "ServerRelativeUrl": site["Path"] or "/",
            "Created": site["Created"],
            "Language": site["Lcid"],
            "WebTemplate": site["WebTemplate"].split("#")[0],
            "Configuration": int(site["WebTemplate"].split("#")[1]),
            "LastItemModifiedDate": iso_z(utc_now()),
            "IsMultilingual": False,
            "NoCrawl": False,
        }

    def _site_json(self, ctx: Ctx, site: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Site"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.Site"},
            "RootWeb": {"__deferred": {"uri": uri + "/RootWeb"}},
            "Id": site["Id"],
            "Url": ctx.site_url,
            "ServerRelativeUrl": site["Path"] or "/",
            "IsHubSite": site["IsHubSite"],
            "HubSiteId": site["HubSiteId"],
            "ReadOnly": False,
            "Classification": "",
            "GroupId": ZERO_GUID,
            "PrimaryUri": ctx.site_url,
            "CurrentChangeToken": {
                "__metadata": {"type": "SP.ChangeToken"},
                "StringValue": self._token(1, site["Id"]),
            },
        }

    def _folder_json(self, ctx: Ctx, lst: dict[str, Any], folder: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._list_server_url(ctx.site, lst)}/{folder['Name']}"
        uri = f"{ctx.api}Web/GetFolderByServerRelativePath(decodedurl='{quote(url)}')"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.Folder"},
            "Exists": True,
            "IsWOPIEnabled": False,
            "ItemCount": 0,
            "Name": folder["Name"],
            "ProgID": None,
            "ServerRelativeUrl": url,
            "TimeCreated": folder["Created"],
            "TimeLastModified": folder["Created"],
            "UniqueId": folder["UniqueId"],
            "WelcomePage": "",
        }

    def _recycle_json(self, ctx: Ctx, rb: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Web/RecycleBin('{rb['Id']}')"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.RecycleBinItem"},
            "Id": rb["Id"],
            "Title": rb["Title"],
            "LeafName": f"{rb['Item']['ID']}_.000",
            "DirName": rb["DirName"],
            "DeletedDate": rb["DeletedDate"],
            "ItemType": 3,
            "ItemState": 1,
            "Size": "0",
            "DeletedByEmail": "",
            "DeletedByName": "SharePoint App",
        }
