"""The router: walks the path segments of one ``/_api`` call through the object model."""

from __future__ import annotations

from typing import Any

from ..api import ApiRequest, ApiResponse, SharePointError
from ..odata import parse_query
from ..paths import Segment, parse_path
from .common import (
    NOT_SUPPORTED,
    Ctx,
    ModelCore,
    is_mutating,
    norm_guid,
)


class Router(ModelCore):
    def _dispatch(self, request: ApiRequest) -> ApiResponse:
        path = request.path
        low = path.lower()
        api = low.find("/_api")
        if api < 0:
            raise SharePointError(
                404, "-2147024894, System.IO.FileNotFoundException", f"File Not Found: {path}"
            )
        site = self._site_for_path(path)
        opts = parse_query(request.query)
        ctx = Ctx(self, request, site, opts)
        rest = path[api + len("/_api") :].strip("/")
        segments = parse_path(rest, request.query)
        method = request.method.upper()
        if not segments:
            raise SharePointError(
                404,
                "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
                "Cannot find resource for the request.",
            )
        self._may_mutate = is_mutating(method, segments[-1].low)
        state: tuple[Any, ...] = ("root",)
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            result = self._step(ctx, state, seg, last, method)
            if isinstance(result, ApiResponse):
                if not last:
                    raise SharePointError(
                        404,
                        "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
                        f"Cannot find resource for the request {segments[i + 1].name}.",
                    )
                return result
            state = result
        return self._finish(ctx, state, method)

    def _not_found(self, seg: Segment, state: tuple[Any, ...]) -> SharePointError:
        return SharePointError(
            404,
            "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
            f"Cannot find resource for the request {seg.name}.",
        )

    def _step(self, ctx: Ctx, state: tuple[Any, ...], seg: Segment, last: bool, method: str) -> Any:
        kind, name = state[0], seg.low
        site = ctx.site
        handler = getattr(self, f"_step_{kind}", None)
        if handler is None:
            raise self._not_found(seg, state)
        result = handler(ctx, state, seg, name, last, method)
        if result is None:
            raise self._not_found(seg, state)
        del site
        return result

    def _step_root(self, ctx: Ctx, state, seg, name, last, method):
        site = ctx.site
        if name == "web":
            return ("web", site)
        if name == "site":
            return ("site", site)
        if name == "lists":
            return self._step_web(ctx, ("web", site), seg, name, last, method)
        if name == "spsitemanager" or name == "microsoft.sharepoint.portal.spsitemanager":
            return ("sitemanager",)
        if name in ("hubsites",):
            if seg.args:
                hub = self._hub_by_id(norm_guid(seg.args[0]))
                return ("hub", hub)
            return ("hubsites",)
        if name in ("hubsitesutility", "microsoft.sharepoint.portal.sphubsitesutility"):
            return ("hubutil",)
        if name == "microsoft.online.sharepoint.tenantadministration.tenant":
            return ("tenant",)
        if name == "sitepages":
            return ("sitepages",)
        return None

    def _finish(self, ctx: Ctx, state: tuple[Any, ...], method: str) -> ApiResponse:
        kind = state[0]
        handler = getattr(self, f"_finish_{kind}", None)
        if handler is None:
            raise SharePointError(405, NOT_SUPPORTED, f"The HTTP method '{method}' cannot be used here.")
        result = handler(ctx, state, method)
        if result is None:
            raise SharePointError(405, NOT_SUPPORTED, f"The HTTP method '{method}' cannot be used here.")
        return result
