"""Sites and webs: creating and removing site collections, finding the site for a path, the web's own verbs."""

from __future__ import annotations

import uuid
from typing import Any

from ..api import ApiResponse, RestError
from ..odata import bad_query
from ..paths import Segment
from .common import (
    APP_LOGIN,
    ARGUMENT,
    BUILTIN_CTYPES,
    LIST_MISSING,
    ZERO_GUID,
    Ctx,
    iso_z,
    norm_guid,
    strip_meta,
    unwrap,
    utc_now,
)
from .core import ModelCore
from .state import Node, NodeKind, Step


class Sites(ModelCore):
    """Site collections and their webs: creation, removal, lookup by path and the web's verbs."""

    def _sites(self) -> list[dict[str, Any]]:
        return self.store.under("site", "")

    def _site_by_path(self, path: str) -> dict[str, Any] | None:
        """The site at a server-relative path (any case); an index rebuilt when the sites change."""
        if self._path_index_generation != self.store.site_generation:
            index: dict[str, dict[str, Any]] = {}
            for site in self._sites():
                index.setdefault(site["Path"].lower() or "/", site)
            self._path_index, self._path_index_generation = index, self.store.site_generation
        return self._path_index.get(path.rstrip("/").lower() or "/")

    def _site_for_path(self, path: str) -> dict[str, Any]:
        low = path.lower()
        api = low.find("/_api")
        prefix = path[:api] if api >= 0 else path
        prefix = prefix.rstrip("/")
        parts = [p for p in prefix.split("/") if p]
        if len(parts) >= 2 and parts[0].lower() in ("sites", "teams"):
            site = self._site_by_path("/" + "/".join(parts[:2]))
            if site is None:
                raise RestError(
                    404,
                    "-2147024894, System.IO.FileNotFoundException",
                    f"File Not Found. No site exists at '/{'/'.join(parts[:2])}'.",
                )
            return site
        if parts and not (len(parts) == 1 and parts[0].lower() in ("_layouts", "_vti_bin")):
            raise RestError(
                404,
                "-2147024894, System.IO.FileNotFoundException",
                f"File Not Found. No site exists at '{prefix}'.",
            )
        root = self._site_by_path("/")
        assert root is not None
        return root

    def _create_site(self, path: str, title: str, template: str, lcid: int, owner: str) -> dict[str, Any]:
        path = "" if path in ("", "/") else path.rstrip("/")
        index = len(self._sites())
        site_id, web_id = str(uuid.uuid4()), str(uuid.uuid4())
        site = {
            "_id": site_id,
            "_parent": "",
            "Id": site_id,
            "WebId": web_id,
            "Path": path,
            "Title": title,
            "WebTemplate": template,
            "Lcid": int(lcid),
            "Owner": owner,
            "Created": iso_z(utc_now()),
            "IsHubSite": False,
            "HubSiteId": ZERO_GUID,
            "NextUserId": 6 + 7 * index,
            "Wss": {},
            "NextWss": 1,
            "Description": "",
            "Status": 2,
        }
        self.store.put("site", site)
        for ct_id, name, group in BUILTIN_CTYPES:
            self.store.put(
                "ctype",
                {
                    "_id": f"{web_id}:{ct_id}",
                    "_parent": web_id,
                    "StringId": ct_id,
                    "Name": name,
                    "Group": group,
                    "Description": "",
                    "Hidden": False,
                    "ReadOnly": False,
                    "Sealed": False,
                    "FieldLinks": ["Title"] if ct_id == "0x01" else [],
                },
            )
        self._seed_fields(site, web_id, builtin_only=True)
        self._ensure_user(site, APP_LOGIN, title="SharePoint App")
        if owner:
            owner_user = self._ensure_user(site, owner)
            owner_user["IsSiteAdmin"] = True
            self.store.put("user", owner_user)
        if lcid == 1044:
            self._new_list(site, "Dokumenter", 101, url_leaf="Delte dokumenter", log=False)
            self._new_list(site, "Områdesider", 119, url_leaf="SitePages", log=False)
        else:
            self._new_list(site, "Documents", 101, url_leaf="Shared Documents", log=False)
            self._new_list(site, "Site Pages", 119, url_leaf="SitePages", log=False)
        self._log(site, None, None, 1, "Site")
        return site

    def _remove_site(self, site: dict[str, Any]) -> None:
        for lst in self.store.under("list", site["WebId"]):
            self._drop_list(lst)
        for kind in ("field", "ctype", "recycle"):
            for obj in self.store.under(kind, site["WebId"]):
                self.store.delete(kind, obj["_id"])
        for user in self.store.under("user", site["Id"]):
            self.store.delete("user", user["_id"])
        for other in self._sites():
            if other["HubSiteId"] == site["Id"] and other is not site:
                other["HubSiteId"] = ZERO_GUID
                self.store.put("site", other)
        self.store.delete("site", site["_id"])

    def _step_site(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site = node.site
        if name == "rootweb":
            return Node(NodeKind.WEB, site)
        if name == "registerhubsite" and method == "POST":
            return ApiResponse.json({"d": self._hub_json(ctx, self._register_hub(site))})
        if name == "unregisterhubsite" and method == "POST":
            self._unregister_hub(site)
            return ApiResponse.json({"d": {"UnRegisterHubSite": None}})  # a void result, as SPO answers it
        if name == "joinhubsite" and method == "POST":
            hub_id = seg.args[0] if seg.args else unwrap(ctx.request.json()).get("hubSiteId")
            self._join_hub(site, norm_guid(hub_id))
            return ApiResponse.json({"d": {"JoinHubSite": None}})
        if name == "getchanges" and method == "POST":
            return self._get_changes(ctx, "site", site, None)
        if name == "features":
            return ApiResponse.json({"d": {"results": []}})
        if name == "recyclebin":
            return Node(NodeKind.RECYCLE_BIN, site)
        return None

    def _step_web(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site = node.site
        if name == "lists":
            if seg.args:
                return self._list_node(ctx, site, list_id=seg.args[0])
            return Node(NodeKind.LISTS, site)
        if name in ("getlist", "getlistusingpath"):
            url = seg.args[0] if seg.args else ""
            if isinstance(url, dict):
                url = url.get("DecodedUrl", "")
            found = self._list_by_url(ctx, str(url))
            if last and method == "POST":  # invoked as a service operation (GetListUsingPath)
                return ApiResponse.json({"d": self._list_json(ctx, found)})
            return Node(NodeKind.LIST, site, found)
        if name == "getlistbytitle":
            return self._list_node(ctx, site, title=str(seg.args[0] if seg.args else ""))
        if name == "defaultdocumentlibrary":
            libs = [x for x in self.store.under("list", site["WebId"]) if x["BaseTemplate"] == 101]
            if not libs:
                raise RestError(404, LIST_MISSING, "This site has no document library.")
            return Node(NodeKind.LIST, site, libs[0])
        if name in ("fields", "availablefields"):  # a site collection has one web: same columns
            if seg.args:
                return Node(NodeKind.FIELD, site, None, self._field_by_id(site, None, seg.args[0]))
            return Node(NodeKind.FIELDS, site, None)
        if name in ("contenttypes", "availablecontenttypes"):
            if seg.args:
                return Node(NodeKind.CONTENT_TYPE, site, None, self._ctype(site, None, str(seg.args[0])))
            return Node(NodeKind.CONTENT_TYPES, site, None)
        if name == "siteuserinfolist" and not seg.args:
            return Node(NodeKind.USER_INFO_LIST, site)
        if name in ("siteusers", "siteuserinfolist"):
            if seg.args:
                return Node(NodeKind.USER, site, target=self._user_by_id(site, seg.args[0]))
            return Node(NodeKind.USERS, site)
        if name == "getuserbyid":
            return Node(NodeKind.USER, site, target=self._user_by_id(site, seg.args[0] if seg.args else None))
        if name == "currentuser":
            return Node(
                NodeKind.USER, site, target=self._ensure_user(site, APP_LOGIN, title="SharePoint App")
            )
        if name == "ensureuser" and method == "POST":
            login = seg.args[0] if seg.args else unwrap(ctx.request.json()).get("logonName")
            if not login:
                raise RestError(
                    400, ARGUMENT, "EnsureUser needs a logon name, e.g. EnsureUser('ola@contoso.no')."
                )
            user = self._ensure_user(site, str(login))
            return ApiResponse.json({"d": self._user_json(ctx, user)})
        if name == "allproperties":
            return Node(NodeKind.ALL_PROPERTIES, site)
        if name == "getchanges" and method == "POST":
            return self._get_changes(ctx, "web", site, None)
        if name == "webs":
            return ApiResponse.json({"d": {"results": []}})
        if name == "recyclebin":
            if seg.args:
                return Node(NodeKind.RECYCLE_ITEM, site, target=self._recycled(site, seg.args[0]))
            return Node(NodeKind.RECYCLE_BIN, site)
        if name == "getusereffectivepermissions":
            return self._effective_permissions(ctx, seg)
        if name == "rootfolder":
            return ApiResponse.json(
                {
                    "d": {
                        "__metadata": {"type": "SP.Folder"},
                        "Name": "",
                        "ServerRelativeUrl": site["Path"] or "/",
                    }
                }
            )
        return None

    def _finish_web(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site = node.site
        if method == "GET":
            return self._ok(ctx, self._web_json(ctx, site))
        if method in ("MERGE", "PATCH", "PUT"):
            body = strip_meta(ctx.request.json())
            for key, value in body.items():
                if key in ("Title", "Description"):
                    site[key] = value
                elif key == "AllProperties":
                    continue  # SPO ignores property bag writes over REST (docs/emulator.md, "Sites and hubs")
                elif key not in (
                    "QuickLaunchEnabled",
                    "TreeViewEnabled",
                    "HeaderEmphasis",
                    "MegaMenuEnabled",
                ):
                    raise bad_query(
                        f"The property '{key}' does not exist on type 'SP.Web'. Make sure to only use "
                        "property names that are defined by the type."
                    )
            self.store.put("site", site)
            self._log(site, None, None, 2, "Web")
            return ApiResponse.empty(204)
        return None

    def _finish_site(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            return self._ok(ctx, self._site_json(ctx, node.site))
        return None

    def _finish_allprops(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site = node.site
        if method == "GET":
            props = {
                "__metadata": {"type": "SP.PropertyValues"},
                "vti_x005f_defaultlanguage": "nb-no" if site["Lcid"] == 1044 else "en-us",
                "vti_x005f_createdassitecollectionid": site["Id"],
            }
            return self._ok(ctx, props)
        if method in ("MERGE", "PATCH"):
            return ApiResponse.empty(204)
        return None

    def _effective_permissions(self, ctx: Ctx, seg: Segment) -> ApiResponse:
        """``GetUserEffectivePermissions('login')``: the emulator's principals all hold full control."""
        login = str(seg.args[0] if seg.args else "")
        if not login:
            raise RestError(400, ARGUMENT, "GetUserEffectivePermissions needs a user login name.")
        known = {u["LoginName"].lower() for u in self.store.under("user", ctx.site["Id"])}
        if login.lower() not in known:
            raise RestError(
                404,
                "-2146232832, Microsoft.SharePoint.SPException",
                f"The user '{login}' does not exist in this site collection.",
            )
        return ApiResponse.json(
            {
                "d": {
                    "GetUserEffectivePermissions": {
                        "__metadata": {"type": "SP.BasePermissions"},
                        "High": "2147483647",
                        "Low": "4294967295",
                    }
                }
            }
        )
