"""The change log: recording changes, change tokens, ``GetChanges`` and ``GetListItemChangesSinceToken``."""

from __future__ import annotations

import json
import uuid
from typing import Any
from xml.sax.saxutils import quoteattr

from ..api import ApiResponse, Headers
from ..odata import bad_query
from .common import Ctx, ticks_now, ticks_to_iso, unwrap
from .core import ModelCore


class Changes(ModelCore):
    """Records every change and answers the change-log queries (docs/emulator.md, "Change tokens")."""

    def _log(
        self,
        site: dict[str, Any],
        lst: dict[str, Any] | None,
        item_id: int | None,
        change_type: int,
        obj: str,
        extra: dict[str, Any] | None = None,
    ) -> int:
        ticks = max(ticks_now(), self._last_ticks + 1)
        self._last_ticks = ticks
        return self.store.add_change(
            site["Id"], site["WebId"], lst["Id"] if lst else None, item_id, change_type, ticks, obj, extra
        )

    def _token(self, scope: int, object_id: str) -> str:
        return f"1;{scope};{object_id};{max(ticks_now(), self._last_ticks)};{self.store.last_change_no()}"

    def _get_changes(
        self, ctx: Ctx, scope: str, site: dict[str, Any], lst: dict[str, Any] | None
    ) -> ApiResponse:
        query = unwrap(ctx.request.json(), "query")
        start = query.get("ChangeTokenStart")
        end = query.get("ChangeTokenEnd")
        if isinstance(start, str) or isinstance(end, str):
            raise bad_query(
                'ChangeTokenStart must be an SP.ChangeToken object {"StringValue": …}, not a string '
                '(see docs/emulator.md, "Change tokens").'
            )
        scope_no, object_id = {
            "site": (1, site["Id"]),
            "web": (2, site["WebId"]),
            "list": (3, lst["Id"] if lst else ""),
        }[scope]
        after_no, after_ticks = self._parse_token(start)
        until_no, _ = self._parse_token(end)
        limit = int(query.get("FetchLimit") or 1000) if str(query.get("FetchLimit") or "").strip() else 1000
        limit = max(1, min(limit, 2000))
        column, value = {
            "site": ("site_id", site["Id"]),
            "web": ("web_id", site["WebId"]),
            "list": ("list_id", object_id),
        }[scope]
        objects = {
            "Item",
            "List",
            "Web",
            "Site",
            "Field",
            "ContentType",
            "View",
            "User",
            "Group",
            "File",
            "Folder",
            "Alert",
            "SecurityPolicy",
            "RoleDefinition",
            "RoleAssignment",
        }
        wanted_objects = {o for o in objects if query.get(o) is True}
        type_flags = {1: "Add", 2: "Update", 3: "DeleteObject", 4: "Rename", 7: "Restore", 15: "SystemUpdate"}
        wanted_types = {n for n, f in type_flags.items() if query.get(f) is True}
        rows: list[tuple[Any, ...]] = []
        scan_after = after_no if after_no is not None else 0
        while len(rows) < limit:
            batch = self.store.changes(column, value, scan_after, until_no, 500)
            if not batch:
                break
            for row in batch:
                scan_after = row[0]
                ctype, ticks, obj = row[5], row[6], row[7]
                if after_no is None and after_ticks is not None and ticks <= after_ticks:
                    continue
                if wanted_objects and obj not in wanted_objects:
                    continue
                if wanted_types and ctype not in wanted_types:
                    continue
                rows.append(row)
                if len(rows) >= limit:
                    break
        out = [self._change_json(scope_no, object_id, row) for row in rows]
        return ApiResponse.json({"d": {"results": out}})

    def _parse_token(self, token: Any) -> tuple[int | None, int | None]:
        if not isinstance(token, dict) or not token.get("StringValue"):
            return None, None
        parts = str(token["StringValue"]).split(";")
        if len(parts) < 5:
            raise bad_query(
                f"The change token '{token['StringValue']}' is not valid; expected "
                "'1;<scope>;<id>;<ticks>;<changeNumber>'."
            )
        try:
            ticks, no = int(parts[3]), int(parts[4])
        except ValueError as exc:
            raise bad_query(f"The change token '{token['StringValue']}' is not valid.") from exc
        if no < 0:
            return None, ticks
        return no, ticks

    def _change_json(self, scope_no: int, object_id: str, row: tuple[Any, ...]) -> dict[str, Any]:

        no, site_id, web_id, list_id, item_id, ctype, ticks, obj, extra = row
        extra = json.loads(extra or "{}")
        out: dict[str, Any] = {
            "__metadata": {"type": f"SP.Change{obj if obj != 'Site' else ''}"},
            "ChangeToken": {
                "__metadata": {"type": "SP.ChangeToken"},
                "StringValue": f"1;{scope_no};{object_id};{ticks};{no}",
            },
            "ChangeType": ctype,
            "SiteId": site_id,
            "Time": ticks_to_iso(ticks),
        }
        if obj == "Item":
            out.update(
                ItemId=item_id,
                ListId=list_id,
                WebId=web_id,
                UniqueId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{list_id}:{item_id}")),
                Editor="",
                EditorEmailHint=None,
                ListTemplate=100,
                Hidden=False,
                ContentTypeId={"__metadata": {"type": "SP.ContentTypeId"}, "StringValue": "0x01"},
            )
        elif obj == "List":
            out.update(
                ListId=list_id,
                WebId=web_id,
                BaseTemplate=100,
                Hidden=False,
                RootFolderUrl="",
                Title="",
                Editor="",
                IsSystemList=False,
            )
        elif obj == "Field":
            out.update(FieldId=extra.get("FieldId"), WebId=web_id)
        elif obj == "View":
            out.update(ViewId=extra.get("ViewId"), ListId=list_id, WebId=web_id)
        elif obj == "ContentType":
            out.update(
                ContentTypeId={
                    "__metadata": {"type": "SP.ContentTypeId"},
                    "StringValue": extra.get("ContentTypeId"),
                },
                WebId=web_id,
            )
        elif obj == "User":
            out.update(UserId=extra.get("UserId"), Activate=True)
        elif obj == "Web":
            out.update(WebId=web_id)
        return out

    def _changes_since_token_xml(self, ctx: Ctx, lst: dict[str, Any]) -> ApiResponse:
        items = list(self.store.items(lst["Id"]).values())
        rows = "".join(
            f"<z:row ows_ID={quoteattr(str(it['ID']))} ows_Title={quoteattr(str(it.get('Title') or ''))} "
            f"ows_Modified={quoteattr(it['Modified'])} />"
            for it in items
        )
        xml = (
            f'<GetListItemChangesSinceTokenResult><listitems xmlns:rs="urn:schemas-microsoft-com:rowset" '
            f'xmlns:z="#RowsetSchema"><Changes LastChangeToken="{self._token(3, lst["Id"])}" />'
            f'<rs:data ItemCount="{len(items)}">{rows}</rs:data></listitems></GetListItemChangesSinceTokenResult>'
        )
        return ApiResponse(200, Headers({"Content-Type": "text/xml; charset=utf-8"}), xml.encode("utf-8"))
