"""Hubs and the tenant: site creation through the site manager and the tenant admin API, hub registration."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..api import ApiResponse, RestError
from ..paths import Segment
from .common import ARGUMENT, NO_SITE, SP_EXCEPTION, TEMPLATES, ZERO_GUID, Ctx, norm_guid, strip_meta, unwrap
from .core import ModelCore
from .state import Node, NodeKind, Step


class Tenant(ModelCore):
    """The site manager, hubs and the tenant admin API (docs/emulator.md, "Sites and hubs")."""

    def _step_sitemanager(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        if name == "create" and method == "POST":
            req = unwrap(ctx.request.json(), "request")
            return ApiResponse.json({"d": {"Create": self._site_manager_create(ctx, req)}})
        if name == "status":
            url = seg.args[0] if seg.args else (ctx.opts.get("url") or "")
            url = str(url).strip("'")
            return ApiResponse.json({"d": {"Status": self._site_status(ctx, url)}})
        if name == "delete" and method == "POST":
            body = unwrap(ctx.request.json())
            site = self.store.get("site", norm_guid(body.get("siteId")))
            if site is None:
                raise RestError(404, NO_SITE, f"Site '{body.get('siteId')}' does not exist.")
            self._remove_site(site)
            return ApiResponse.empty(200)
        return None

    def _step_sitepages(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        if name == "communicationsite":
            return Node(NodeKind.COMMUNICATION_SITE, ctx.site)
        return None

    def _step_commsite(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        if name == "create" and method == "POST":
            req = unwrap(ctx.request.json(), "request")
            req.setdefault("WebTemplate", "SITEPAGEPUBLISHING#0")
            result = self._site_manager_create(ctx, req)
            return ApiResponse.json(
                {"d": {"Create": {"SiteStatus": result["SiteStatus"], "SiteUrl": result["SiteUrl"]}}}
            )
        return None

    def _step_hubsites(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        if name == "getbyid":
            return Node(NodeKind.HUB, self._hub_by_id(norm_guid(seg.args[0] if seg.args else "")))
        return None

    def _step_hubutil(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        if name == "gethubsites":
            hubs = [self._hub_json(ctx, s) for s in self._sites() if s["IsHubSite"]]
            return ApiResponse.json({"d": {"GetHubSites": {"results": hubs}}})
        if name == "gethubsitebyid":
            return ApiResponse.json(
                {"d": self._hub_json(ctx, self._hub_by_id(norm_guid(seg.args[0] if seg.args else "")))}
            )
        return None

    def _step_tenant(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        if method != "POST":
            return None
        body = strip_meta(ctx.request.json())
        if name == "createsite":
            props = unwrap(body, "siteCreationProperties")
            req = {
                "Url": props.get("Url"),
                "Title": props.get("Title") or "",
                "Owner": props.get("Owner"),
                "Lcid": props.get("Lcid") or 1033,
                "WebTemplate": props.get("Template") or "STS#3",
            }
            result = self._site_manager_create(ctx, req)
            if result["SiteStatus"] != 2:
                raise RestError(500, SP_EXCEPTION, f"A site already exists at url {req['Url']}.")
            return ApiResponse.json({"d": self._spo_operation()})
        if name == "registerhubsite":
            site = self._site_from_url(ctx, str(body.get("siteUrl") or ""))
            hub = self._register_hub(site)
            return ApiResponse.json(
                {
                    "d": self._hub_json(
                        ctx, hub, "Microsoft.Online.SharePoint.TenantAdministration.HubSiteProperties"
                    )
                }
            )
        if name == "unregisterhubsite":
            self._unregister_hub(self._site_from_url(ctx, str(body.get("siteUrl") or "")))
            return ApiResponse.json({"d": {"UnregisterHubSite": None}})  # a void result
        if name == "connectsitetohubsitebyid":
            site = self._site_from_url(ctx, str(body.get("siteUrl") or ""))
            self._join_hub(site, norm_guid(body.get("hubSiteId")))
            return ApiResponse.json({"d": {"ConnectSiteToHubSiteById": None}})
        if name == "getsitepropertiesfromsharepointbyfilters":
            # The tenant's site list, each row with its HubSiteId (how SPO tells which sites joined a hub).
            spe = strip_meta(unwrap(body, "speFilter") or {})
            template = str(spe.get("Template") or "").upper()
            rows = [
                self._site_properties(ctx, s)
                for s in self._sites()
                if not template or s["WebTemplate"].upper().startswith(template)
            ]
            return ApiResponse.json({"d": {"results": rows}})
        if name == "getsitepropertiesbyurl":
            site = self._site_from_url(ctx, str(body.get("url") or body.get("siteUrl") or ""))
            return ApiResponse.json({"d": self._site_properties(ctx, site)})
        if name == "removesite":
            site = self._site_from_url(ctx, str(body.get("siteUrl") or ""))
            if site["Path"] == "":
                raise RestError(400, SP_EXCEPTION, "The root site collection cannot be removed.")
            self._remove_site(site)
            return ApiResponse.json({"d": self._spo_operation()})
        return None

    def _finish_hubsites(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            hubs = [self._hub_json(ctx, s) for s in self._sites() if s["IsHubSite"]]
            return self._collection_response(ctx, hubs)
        return None

    def _finish_hub(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            return self._ok(ctx, self._hub_json(ctx, node.site))
        return None

    def _hub_by_id(self, hub_id: str) -> dict[str, Any]:
        site = self.store.get("site", hub_id)
        if site is None or not site["IsHubSite"]:
            raise RestError(
                404, "-1, System.IO.FileNotFoundException", f"Hub site with ID '{hub_id}' was not found."
            )
        return site

    def _register_hub(self, site: dict[str, Any]) -> dict[str, Any]:
        if site["IsHubSite"]:
            raise RestError(400, "-1, System.InvalidOperationException", "This site is already a HubSite.")
        site["IsHubSite"] = True
        site["HubSiteId"] = site["Id"]
        self.store.put("site", site)
        return site

    def _unregister_hub(self, site: dict[str, Any]) -> None:
        if not site["IsHubSite"]:
            raise RestError(400, "-1, System.InvalidOperationException", "This site is not a HubSite.")
        site["IsHubSite"] = False
        site["HubSiteId"] = ZERO_GUID
        self.store.put("site", site)
        for other in self._sites():
            if other["HubSiteId"] == site["Id"]:
                other["HubSiteId"] = ZERO_GUID
                self.store.put("site", other)

    def _join_hub(self, site: dict[str, Any], hub_id: str) -> None:
        if site["IsHubSite"]:
            raise RestError(
                400,
                "-1, System.InvalidOperationException",
                "A hub site cannot be associated with another hub in the emulator.",
            )
        if hub_id in ("", ZERO_GUID):
            site["HubSiteId"] = ZERO_GUID
        else:
            self._hub_by_id(hub_id)
            site["HubSiteId"] = hub_id
        self.store.put("site", site)

    def _site_from_url(self, ctx: Ctx, url: str) -> dict[str, Any]:
        path = urlsplit(url).path if "://" in url else url
        site = self._site_by_path(path)
        if site is None:
            raise RestError(404, NO_SITE, f"Cannot get site {url}.")
        return site

    def _site_manager_create(self, ctx: Ctx, req: dict[str, Any]) -> dict[str, Any]:
        url = str(req.get("Url") or "")
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        segs = [p for p in path.split("/") if p]
        if len(segs) != 2 or segs[0].lower() not in ("sites", "teams"):
            raise RestError(400, ARGUMENT, f"The site URL '{url}' must look like <host>/sites/<alias>.")
        if not req.get("Owner"):
            raise RestError(
                400,
                "-1, System.ArgumentException",
                "Owner is required when creating a site with an app-only token.",
            )
        template = str(req.get("WebTemplate") or "SITEPAGEPUBLISHING#0")
        if template not in TEMPLATES:
            raise RestError(
                400,
                ARGUMENT,
                f"Web template '{template}' is not supported; use STS#3 or SITEPAGEPUBLISHING#0.",
            )
        existing = self._site_by_path(path)
        if existing is not None:
            return {
                "__metadata": {"type": "Microsoft.SharePoint.Portal.SPSiteCreationResponse"},
                "SiteId": existing["Id"],
                "SiteStatus": 3,
                "SiteUrl": url,
            }
        site = self._create_site(
            path, str(req.get("Title") or segs[1]), template, int(req.get("Lcid") or 1033), str(req["Owner"])
        )
        return {
            "__metadata": {"type": "Microsoft.SharePoint.Portal.SPSiteCreationResponse"},
            "SiteId": site["Id"],
            "SiteStatus": 2,
            "SiteUrl": ctx.base + site["Path"],
        }

    def _site_status(self, ctx: Ctx, url: str) -> dict[str, Any]:
        path = urlsplit(url).path if "://" in url else url
        site = self._site_by_path(path) if path.rstrip("/") else None
        meta = {"type": "Microsoft.SharePoint.Portal.SPSiteCreationResponse"}
        if site is None:
            return {"__metadata": meta, "SiteId": ZERO_GUID, "SiteStatus": 0, "SiteUrl": ""}
        return {"__metadata": meta, "SiteId": site["Id"], "SiteStatus": 2, "SiteUrl": ctx.base + site["Path"]}

    def _spo_operation(self) -> dict[str, Any]:
        return {
            "__metadata": {"type": "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation"},
            "HasTimedout": False,
            "IsComplete": True,
            "PollingInterval": 15000,
        }
