"""List views and their view fields."""

from __future__ import annotations

import uuid
from typing import Any

from ..api import ApiResponse, RestError
from ..naming import list_url_leaf
from ..odata import bad_query
from ..paths import Segment
from .common import ARGUMENT, SP_EXCEPTION, Ctx, norm_guid, results_of, strip_meta, unwrap
from .core import ModelCore
from .state import Node, NodeKind, Step

# The properties of SP.View a MERGE may change.
WRITABLE_VIEW_PROPERTIES = frozenset(
    "Title RowLimit ViewQuery Paged Hidden DefaultView JSLink Scope Toolbar ViewData "  # noqa: SIM905 (names read better as words)
    "ViewJoins ViewProjectedFields TabularView IncludeRootFolder CustomFormatter "
    "MobileView MobileDefaultView".split()
)


class Views(ModelCore):
    """List views and the fields they show."""

    def _step_views(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst = node.site, node.lst
        if name == "getbytitle":
            title = str(seg.args[0] if seg.args else "")
            for view in self.store.under("view", lst["Id"]):
                if view["Title"].lower() == title.lower():
                    return Node(NodeKind.VIEW, site, lst, view)
            raise RestError(404, ARGUMENT, f"The view '{title}' does not exist in list '{lst['Title']}'.")
        if name == "getbyid":
            return Node(NodeKind.VIEW, site, lst, self._view_by_id(lst, seg.args[0] if seg.args else ""))
        if name == "add" and method == "POST":
            info = unwrap(ctx.request.json(), "parameters")
            view = self._add_view(site, lst, info)
            return ApiResponse.json({"d": self._view_json(ctx, lst, view)})
        return None

    def _step_view(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst, view = node.site, node.lst, node.obj
        if name == "viewfields":
            return Node(NodeKind.VIEW_FIELDS, site, lst, view)
        if name == "renderashtml":
            return ApiResponse.json({"d": {"RenderAsHtml": "<table></table>"}})
        return None

    def _step_viewfields(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        site, lst, view = node.site, node.lst, node.obj
        if method != "POST":
            return None
        names: list[str] = view["ViewFields"]
        if name == "addviewfield":
            fname = str(seg.args[0] if seg.args else unwrap(ctx.request.json()).get("strField"))
            self._check_view_field(site, lst, fname)
            if fname not in names:
                names.append(fname)
        elif name == "removeviewfield":
            fname = str(seg.args[0] if seg.args else unwrap(ctx.request.json()).get("strField"))
            if fname not in names:
                raise RestError(404, ARGUMENT, f"Field '{fname}' is not in view '{view['Title']}'.")
            names.remove(fname)
        elif name == "removeallviewfields":
            names.clear()
        elif name == "moveviewfieldto":
            body = unwrap(ctx.request.json())
            fname = str(body.get("field") or body.get("Field") or "")
            index = int(body.get("index") or 0)
            if fname not in names:
                raise RestError(404, ARGUMENT, f"Field '{fname}' is not in view '{view['Title']}'.")
            names.remove(fname)
            names.insert(max(0, min(index, len(names))), fname)
        else:
            return None
        self.store.put("view", view)
        self._log(site, lst, None, 2, "View", {"ViewId": view["Id"]})
        return ApiResponse.empty(200)

    def _finish_views(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst = node.site, node.lst
        if method == "GET":
            views = [self._view_json(ctx, lst, v) for v in self.store.under("view", lst["Id"])]
            return self._collection_response(ctx, views, entity_filter=True)
        if method == "POST":
            body = strip_meta(ctx.request.json())
            view = self._add_view(site, lst, body)
            return ApiResponse.json({"d": self._view_json(ctx, lst, view)}, 201)
        return None

    def _finish_view(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst, view = node.site, node.lst, node.obj
        if method == "GET":
            payload = self._view_json(ctx, lst, view)
            if any(e.lower() == "viewfields" for e in ctx.opts.expand):
                payload["ViewFields"] = self._view_fields_json(ctx, lst, view)
            return self._ok(ctx, payload)
        if method in ("MERGE", "PATCH"):
            body = strip_meta(ctx.request.json())
            for key, value in body.items():
                if key not in WRITABLE_VIEW_PROPERTIES:
                    raise bad_query(f"The property '{key}' does not exist on type 'SP.View' or is read-only.")
                if key == "DefaultView" and value:
                    for other in self.store.under("view", lst["Id"]):
                        if other["DefaultView"]:
                            other["DefaultView"] = False
                            self.store.put("view", other)
                view[key] = value
            self.store.put("view", view)
            self._log(site, lst, None, 2, "View", {"ViewId": view["Id"]})
            return ApiResponse.empty(204)
        if method == "DELETE":
            if view["DefaultView"]:
                raise RestError(400, SP_EXCEPTION, "The default view of a list cannot be deleted.")
            self.store.delete("view", view["_id"])
            return ApiResponse.empty(200)
        return None

    def _finish_viewfields(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        view = node.obj
        if method == "GET":
            return self._ok(ctx, self._view_fields_json(ctx, node.lst, view))
        return None

    def _view_by_id(self, lst: dict[str, Any], view_id: Any) -> dict[str, Any]:
        view = self.store.get("view", norm_guid(view_id))
        if view is None or view["_parent"] != lst["Id"]:
            raise RestError(404, ARGUMENT, f"The view {view_id} does not exist in list '{lst['Title']}'.")
        return view

    def _check_view_field(self, site: dict[str, Any], lst: dict[str, Any], name: str) -> None:
        if self._find_field(site, lst, name) is None:
            raise self._field_missing(name)

    def _add_view(
        self, site: dict[str, Any], lst: dict[str, Any], info: dict[str, Any], url_name: str | None = None
    ) -> dict[str, Any]:
        title = info.get("Title")
        if not title:
            raise RestError(400, ARGUMENT, "A view needs a Title.")
        fields_in = info.get("ViewFields")
        names = (
            [str(x) for x in results_of(fields_in)]
            if fields_in is not None
            else list(lst.get("BaseViewFields") or ["LinkTitle"])
        )
        for name in names:
            self._check_view_field(site, lst, name)
        views = self.store.under("view", lst["Id"])
        default = bool(info.get("SetAsDefaultView")) or not views
        if default:
            for other in views:
                if other["DefaultView"]:
                    other["DefaultView"] = False
                    self.store.put("view", other)
        view_id = str(uuid.uuid4())
        leaf = url_name or (list_url_leaf(str(title)).replace(" ", "") or "View")
        view = {
            "_id": view_id,
            "_parent": lst["Id"],
            "Id": view_id,
            "Title": title,
            "DefaultView": default,
            "RowLimit": int(info.get("RowLimit") or 30),
            "ViewQuery": info.get("Query") or "",
            "ViewFields": names,
            "Paged": info.get("Paged", True) is not False,
            "Hidden": False,
            "PersonalView": bool(info.get("PersonalView")),
            "ServerRelativeUrl": f"{self._list_server_url(site, lst)}/{leaf}.aspx",
        }
        self.store.put("view", view)
        return view
