"""The router: walks the path segments of one ``/_api`` call through the object model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..api import ApiRequest, ApiResponse, RestError
from ..odata import parse_query
from ..paths import Segment, parse_path
from .common import NOT_SUPPORTED, Ctx, is_mutating, norm_guid
from .content_types import ContentTypes
from .core import ModelCore
from .fields import Fields
from .items import Items
from .lists import Lists
from .recycle import RecycleBin
from .sites import Sites
from .state import Node, NodeKind, Step
from .tenant import Tenant
from .users import Users
from .views import Views


class Router(ModelCore):
    """Turns a request into a walk over :class:`Node` s and hands each step to a handler."""

    def _dispatch(self, request: ApiRequest) -> ApiResponse:
        path = request.path
        low = path.lower()
        api = low.find("/_api")
        if api < 0:
            raise RestError(404, "-2147024894, System.IO.FileNotFoundException", f"File Not Found: {path}")
        site = self._site_for_path(path)
        opts = parse_query(request.query)
        ctx = Ctx(self, request, site, opts)
        rest = path[api + len("/_api") :].strip("/")
        segments = parse_path(rest, request.query)
        method = request.method.upper()
        if not segments:
            raise RestError(
                404,
                "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
                "Cannot find resource for the request.",
            )
        self._may_mutate = is_mutating(method, segments[-1].low)
        node = Node(NodeKind.ROOT, site)
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            result = self._step(ctx, node, seg, last, method)
            if isinstance(result, ApiResponse):
                if not last:
                    raise RestError(
                        404,
                        "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
                        f"Cannot find resource for the request {segments[i + 1].name}.",
                    )
                return result
            node = result
        return self._finish(ctx, node, method)

    def _not_found(self, seg: Segment) -> RestError:
        return RestError(
            404,
            "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
            f"Cannot find resource for the request {seg.name}.",
        )

    def _step(self, ctx: Ctx, node: Node, seg: Segment, last: bool, method: str) -> Node | ApiResponse:
        """One path segment from ``node``: the handler for the node's kind in :data:`STEPS`."""
        handler = STEPS.get(node.kind)
        if handler is None:
            raise self._not_found(seg)
        result = handler(self, ctx, node, seg, seg.low, last, method)
        if result is None:
            raise self._not_found(seg)
        return result

    def _step_root(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site = ctx.site
        if name == "web":
            return Node(NodeKind.WEB, site)
        if name == "site":
            return Node(NodeKind.SITE, site)
        if name == "lists":
            return self._step_web(ctx, Node(NodeKind.WEB, site), seg, name, last, method)
        if name == "spsitemanager" or name == "microsoft.sharepoint.portal.spsitemanager":
            return Node(NodeKind.SITE_MANAGER, ctx.site)
        if name in ("hubsites",):
            if seg.args:
                hub = self._hub_by_id(norm_guid(seg.args[0]))
                return Node(NodeKind.HUB, hub)
            return Node(NodeKind.HUB_SITES, ctx.site)
        if name in ("hubsitesutility", "microsoft.sharepoint.portal.sphubsitesutility"):
            return Node(NodeKind.HUB_UTILITY, ctx.site)
        if name == "microsoft.online.sharepoint.tenantadministration.tenant":
            return Node(NodeKind.TENANT, ctx.site)
        if name == "sitepages":
            return Node(NodeKind.SITE_PAGES, ctx.site)
        return None

    def _finish(self, ctx: Ctx, node: Node, method: str) -> ApiResponse:
        """The HTTP method on the node the path ends at: the handler for its kind in :data:`FINISHES`."""
        handler = FINISHES.get(node.kind)
        result = handler(self, ctx, node, method) if handler is not None else None
        if result is None:
            raise RestError(405, NOT_SUPPORTED, f"The HTTP method '{method}' cannot be used here.")
        return result


# A handler is a mixin method taken from its class; its first argument is the app itself.
StepHandler = Callable[[Any, Ctx, Node, Segment, str, bool, str], Step]
FinishHandler = Callable[[Any, Ctx, Node, str], ApiResponse | None]

# The dispatch tables: which handler takes the next path segment from a node of each kind, and
# which answers the HTTP method when the path ends there. A kind missing from STEPS has no
# children (404); one missing from FINISHES answers no method (405).
STEPS: dict[NodeKind, StepHandler] = {
    NodeKind.ROOT: Router._step_root,
    NodeKind.SITE: Sites._step_site,
    NodeKind.WEB: Sites._step_web,
    NodeKind.LISTS: Lists._step_lists,
    NodeKind.LIST: Lists._step_list,
    NodeKind.ROOT_FOLDER: Lists._step_rootfolder,
    NodeKind.FOLDERS: Lists._step_folders,
    NodeKind.ITEMS: Items._step_items,
    NodeKind.ITEM: Items._step_item,
    NodeKind.FIELDS: Fields._step_fields,
    NodeKind.FIELD: Fields._step_field,
    NodeKind.CONTENT_TYPES: ContentTypes._step_ctypes,
    NodeKind.CONTENT_TYPE: ContentTypes._step_ctype,
    NodeKind.FIELD_LINKS: ContentTypes._step_fieldlinks,
    NodeKind.RESOURCE: ContentTypes._step_resource,
    NodeKind.VIEWS: Views._step_views,
    NodeKind.VIEW: Views._step_view,
    NodeKind.VIEW_FIELDS: Views._step_viewfields,
    NodeKind.USERS: Users._step_users,
    NodeKind.USER_INFO_LIST: Users._step_userinfolist,
    NodeKind.RECYCLE_BIN: RecycleBin._step_recyclebin,
    NodeKind.RECYCLE_ITEM: RecycleBin._step_recycleitem,
    NodeKind.SITE_MANAGER: Tenant._step_sitemanager,
    NodeKind.SITE_PAGES: Tenant._step_sitepages,
    NodeKind.COMMUNICATION_SITE: Tenant._step_commsite,
    NodeKind.HUB_SITES: Tenant._step_hubsites,
    NodeKind.HUB_UTILITY: Tenant._step_hubutil,
    NodeKind.TENANT: Tenant._step_tenant,
}

FINISHES: dict[NodeKind, FinishHandler] = {
    NodeKind.SITE: Sites._finish_site,
    NodeKind.WEB: Sites._finish_web,
    NodeKind.ALL_PROPERTIES: Sites._finish_allprops,
    NodeKind.LISTS: Lists._finish_lists,
    NodeKind.LIST: Lists._finish_list,
    NodeKind.ROOT_FOLDER: Lists._finish_rootfolder,
    NodeKind.FOLDERS: Lists._finish_folders,
    NodeKind.ITEMS: Items._finish_items,
    NodeKind.ITEM: Items._finish_item,
    NodeKind.ATTACHMENTS: Items._finish_attachments,
    NodeKind.FIELDS: Fields._finish_fields,
    NodeKind.FIELD: Fields._finish_field,
    NodeKind.CONTENT_TYPES: ContentTypes._finish_ctypes,
    NodeKind.CONTENT_TYPE: ContentTypes._finish_ctype,
    NodeKind.FIELD_LINKS: ContentTypes._finish_fieldlinks,
    NodeKind.FIELD_LINK: ContentTypes._finish_fieldlink,
    NodeKind.CONTENT_TYPE_FIELDS: ContentTypes._finish_ctfields,
    NodeKind.VIEWS: Views._finish_views,
    NodeKind.VIEW: Views._finish_view,
    NodeKind.VIEW_FIELDS: Views._finish_viewfields,
    NodeKind.USERS: Users._finish_users,
    NodeKind.USER: Users._finish_user,
    NodeKind.USER_INFO_LIST: Users._finish_userinfolist,
    NodeKind.RECYCLE_BIN: RecycleBin._finish_recyclebin,
    NodeKind.RECYCLE_ITEM: RecycleBin._finish_recycleitem,
    NodeKind.HUB_SITES: Tenant._finish_hubsites,
    NodeKind.HUB: Tenant._finish_hub,
}
