"""The recycle bin: recycling items and lists, restoring and reading recycle bin entries."""

from __future__ import annotations

import uuid
from typing import Any

from ..api import ApiResponse, RestError
from ..paths import Segment
from .common import LIST_MISSING, SP_EXCEPTION, Ctx, iso_z, norm_guid, utc_now
from .core import ModelCore
from .state import Node, NodeKind, Step


class RecycleBin(ModelCore):
    """The recycle bin of a web: recycling items, reading, restoring and deleting entries."""

    def _recycle_item(self, site: dict[str, Any], lst: dict[str, Any], item: dict[str, Any]) -> str:
        """Move an item to the web's recycle bin; returns the recycle bin item id (a GUID)."""
        rb_id = str(uuid.uuid4())
        self.store.put(
            "recycle",
            {
                "_id": rb_id,
                "_parent": site["WebId"],
                "Id": rb_id,
                "ListId": lst["Id"],
                "Item": item,
                "Title": str(item.get("Title") or ""),
                "DeletedDate": iso_z(utc_now()),
                "DirName": self._list_server_url(site, lst)[1:],
            },
        )
        self.store.delete_item(lst["Id"], item["ID"])
        self._touch_list(lst)
        self._log(site, lst, item["ID"], 3, "Item")
        return rb_id

    def _recycled(self, site: dict[str, Any], rb_id: Any) -> dict[str, Any]:
        rb = self.store.get("recycle", norm_guid(rb_id))
        if rb is None or rb["_parent"] != site["WebId"]:
            raise RestError(
                404, "-2147024809, System.ArgumentException", "Value does not fall within the expected range."
            )
        return rb

    def _step_recyclebin(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        if name == "getbyid":
            return Node(
                NodeKind.RECYCLE_ITEM,
                node.site,
                target=self._recycled(node.site, seg.args[0] if seg.args else ""),
            )
        return None

    def _step_recycleitem(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        site, rb = node.site, node.obj
        if name == "restore" and method == "POST":
            lst = self.store.get("list", rb["ListId"])
            if lst is None:
                raise RestError(404, LIST_MISSING, "The list this item was deleted from no longer exists.")
            item = rb["Item"]
            if item["ID"] in self.store.items(lst["Id"]):
                raise RestError(400, SP_EXCEPTION, "An item with the same ID already exists in the list.")
            self.store.put_item(lst["Id"], item)
            self.store.delete("recycle", rb["_id"])
            self._touch_list(lst)
            self._log(site, lst, item["ID"], 7, "Item")
            return ApiResponse.empty(200)
        if name == "deleteobject" and method == "POST":
            self.store.delete("recycle", rb["_id"])
            return ApiResponse.empty(200)
        return None

    def _finish_recyclebin(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            rows = [self._recycle_json(ctx, rb) for rb in self.store.under("recycle", node.site["WebId"])]
            return self._collection_response(ctx, rows)
        return None

    def _finish_recycleitem(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            return self._ok(ctx, self._recycle_json(ctx, node.obj))
        if method == "DELETE":
            self.store.delete("recycle", node.obj["_id"])
            return ApiResponse.empty(200)
        return None
