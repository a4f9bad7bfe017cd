"""Lists and libraries: lookup by title, id and URL, creation, removal, folders."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from .. import fields as F
from ..api import ApiResponse, RestError
from ..naming import LIBRARY_TEMPLATES, list_url_leaf
from ..odata import bad_query
from ..paths import Segment
from .common import (
    ARGUMENT,
    DUPLICATE,
    LIST_MISSING,
    Ctx,
    check_property_type,
    iso_z,
    norm_guid,
    strip_meta,
    ticks_now,
    unwrap,
    utc_now,
)
from .core import ModelCore
from .state import Node, NodeKind, Step

#: Lookup choices per page of List.GetLookupFieldChoices.
LOOKUP_PAGE = 100
#: The Tasks templates (107 Tasks, 171 Tasks with timeline and hierarchy).
TASK_TEMPLATES = (107, 171)
_NOT_DONE = (
    "<Or><IsNull><FieldRef Name='PercentComplete'/></IsNull>"
    "<Lt><FieldRef Name='PercentComplete'/><Value Type='Number'>1</Value></Lt></Or>"
)
#: The public views of a Tasks list as SPO creates them: (English title, Norwegian title, page, CAML
#: query); the first is the default view, at AllItems.aspx.
TASK_VIEWS: tuple[tuple[str, str, str, str], ...] = (
    ("All Tasks", "Alle oppgaver", "AllItems", ""),
    ("Calendar", "Kalender", "calendar", ""),
    (
        "Completed",
        "Fullført",
        "completed",
        "<Where><Geq><FieldRef Name='PercentComplete'/><Value Type='Number'>1</Value></Geq></Where>",
    ),
    ("Gantt Chart", "Gantt-diagram", "gantt", ""),
    (
        "Late Tasks",
        "Forsinkede oppgaver",
        "late",
        f"<Where><And>{_NOT_DONE}<Lt><FieldRef Name='DueDate'/><Value Type='DateTime'><Today/></Value></Lt></And></Where>",
    ),
    (
        "My Tasks",
        "Mine oppgaver",
        "MyItems",
        "<Where><Eq><FieldRef Name='AssignedTo'/><Value Type='Integer'><UserID/></Value></Eq></Where>",
    ),
    (
        "Upcoming",
        "Kommende",
        "upcoming",
        f"<Where><And>{_NOT_DONE}<Geq><FieldRef Name='DueDate'/><Value Type='DateTime'><Today/></Value></Geq></And></Where>",
    ),
)


class Lists(ModelCore):
    """Lists and libraries: lookup, creation, updates, removal and folders."""

    def _step_lists(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site = node.site
        if name == "getbytitle":
            return self._list_node(ctx, site, title=str(seg.args[0] if seg.args else ""))
        if name == "getbyid":
            return self._list_node(ctx, site, list_id=seg.args[0] if seg.args else "")
        if name == "ensureeventslist" and method == "POST":
            events = next(
                (x for x in self.store.under("list", site["WebId"]) if x["BaseTemplate"] == 106), None
            )
            if events is None:
                events = self._new_list(
                    site, "Hendelser" if site["Lcid"] == 1044 else "Events", 106, url_leaf="Calendar"
                )
            return ApiResponse.json({"d": self._list_json(ctx, events)})
        if name == "ensuresitepageslibrary" or name == "ensuresiteassetslibrary":
            return None
        return None

    def _list_node(
        self, ctx: Ctx, site: dict[str, Any], title: str | None = None, list_id: Any = None
    ) -> Node:
        """The list named by title or id; the hidden User Information List when no stored list answers
        to its title or id (docs/emulator.md, "The User Information List")."""
        info = self._user_info_list(site)
        if title is not None:
            if title.lower() == info["Title"].lower() and self._find_list_by_title(site, title) is None:
                return Node(NodeKind.USER_INFO_LIST, site)
            return Node(NodeKind.LIST, site, self._list_by_title(ctx, title))
        if norm_guid(list_id) == info["Id"]:
            return Node(NodeKind.USER_INFO_LIST, site)
        return Node(NodeKind.LIST, site, self._list_by_id(ctx, list_id))

    def _lookup_field_choices(
        self, ctx: Ctx, site: dict[str, Any], lst: dict[str, Any], seg: Segment
    ) -> ApiResponse:
        """List.GetLookupFieldChoices: the values a field may take, as JSON text (docs/emulator.md,
        "Lists, views and content types"): a lookup's target items ``{"LookupId", "LookupValue"}``
        (a page of 100 from the ``pagingInfo`` id on), a choice field's choices; ``NextPagingInfo``
        names the next page."""
        params = {**seg.named, **unwrap(ctx.request.json() if ctx.request.body else {})}
        target = params.get("targetFieldName") or (seg.args[0] if seg.args else None)
        if not target:
            raise RestError(
                400, ARGUMENT, "GetLookupFieldChoices needs targetFieldName, a field's internal name."
            )
        fld = self._find_field(site, lst, str(target))
        if fld is None:
            raise RestError(
                400,
                ARGUMENT,
                f"Column '{target}' does not exist on list '{lst['Title']}'. It may have been deleted by another user.",
            )
        rows: list[dict[str, Any]] = []
        next_page: str | None = None
        if fld.get("LookupList"):
            start = int(str(params.get("pagingInfo") or "0") or 0)
            target_list = self.store.get("list", norm_guid(fld["LookupList"]))
            if target_list is None:
                raise RestError(
                    404, LIST_MISSING, f"The list the lookup column '{target}' looks up no longer exists."
                )
            shown = str(fld.get("LookupField") or "Title")
            items = sorted((i, v) for i, v in self.store.items(target_list["Id"]).items() if i > start)
            rows = [{"LookupId": i, "LookupValue": v.get(shown)} for i, v in items[:LOOKUP_PAGE]]
            next_page = str(items[LOOKUP_PAGE - 1][0]) if len(items) > LOOKUP_PAGE else None
        elif fld.get("Choices") is not None:
            rows = [{"LookupId": n, "LookupValue": c} for n, c in enumerate(fld["Choices"], start=1)]
        else:
            raise RestError(
                400,
                ARGUMENT,
                f"Column '{target}' is a {fld['TypeAsString']} column: it has no choices to list.",
            )
        text = json.dumps({"Items": rows, "NextPagingInfo": next_page}, ensure_ascii=False)
        return ApiResponse.json({"d": {"GetLookupFieldChoices": text}})

    def _step_list(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst = node.site, node.lst
        if name == "items":
            if seg.args:
                return Node(NodeKind.ITEM, site, lst, self._item(ctx, lst, seg.args[0]))
            return Node(NodeKind.ITEMS, site, lst)
        if name == "getitembyid":
            return Node(NodeKind.ITEM, site, lst, self._item(ctx, lst, seg.args[0] if seg.args else None))
        if name == "fields":
            if seg.args:
                return Node(NodeKind.FIELD, site, lst, self._field_by_id(site, lst, seg.args[0]))
            return Node(NodeKind.FIELDS, site, lst)
        if name == "views":
            if seg.args:
                return Node(NodeKind.VIEW, site, lst, self._view_by_id(lst, seg.args[0]))
            return Node(NodeKind.VIEWS, site, lst)
        if name == "defaultview":
            views = [v for v in self.store.under("view", lst["Id"]) if v["DefaultView"]]
            if not views:
                raise RestError(404, ARGUMENT, f"List '{lst['Title']}' has no default view.")
            return Node(NodeKind.VIEW, site, lst, views[0])
        if name == "getview":
            return Node(NodeKind.VIEW, site, lst, self._view_by_id(lst, seg.args[0] if seg.args else ""))
        if name == "contenttypes":
            if seg.args:
                return Node(NodeKind.CONTENT_TYPE, site, lst, self._ctype(site, lst, str(seg.args[0])))
            return Node(NodeKind.CONTENT_TYPES, site, lst)
        if name == "rootfolder":
            return Node(NodeKind.ROOT_FOLDER, site, lst)
        if name == "getitems" and method == "POST":
            return self._get_items_caml(ctx, lst)
        if name in ("addvalidateupdateitem", "addvalidateupdateitemusingpath") and method == "POST" and last:
            operation = (
                "AddValidateUpdateItemUsingPath" if name.endswith("usingpath") else "AddValidateUpdateItem"
            )
            return self._add_validate_update(ctx, lst, operation)
        if name == "getlookupfieldchoices" and method == "POST" and last:
            return self._lookup_field_choices(ctx, site, lst, seg)
        if name == "getchanges" and method == "POST":
            return self._get_changes(ctx, "list", site, lst)
        if name == "getlistitemchangessincetoken" and method == "POST":
            return self._changes_since_token_xml(ctx, lst)
        if name == "additem" and method == "POST":
            return self._add_item_with_info(ctx, site, lst)
        if name == "parentweb":
            return Node(NodeKind.WEB, site)
        if name == "getrelatedfields" and method == "GET":
            return self._related_fields(ctx, lst)
        if name == "getusereffectivepermissions":
            return self._effective_permissions(ctx, seg)
        if name == "recycle" and method == "POST":
            self._drop_list(lst, log_site=site)
            return ApiResponse.json({"d": {"Recycle": str(uuid.uuid4())}})
        return None

    def _step_rootfolder(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        if name == "folders":
            return Node(NodeKind.FOLDERS, node.site, node.lst)
        return None

    def _step_folders(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site, lst = node.site, node.lst
        if name == "add" and method == "POST":
            leaf = str(seg.args[0] if seg.args else "").strip("/")
            if not leaf or any(c in leaf for c in '"*:<>?\\|#%') or "/" in leaf:
                raise RestError(400, ARGUMENT, f"The folder name '{leaf}' is not valid.")
            return ApiResponse.json({"d": self._folder_json(ctx, lst, self._add_folder(site, lst, leaf))})
        return None

    def _finish_lists(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site = node.site
        if method == "GET":
            lists = [self._list_json(ctx, lst) for lst in self.store.under("list", site["WebId"])]
            if any(s.lower() == "currentchangetoken" for s in ctx.opts.select):
                # SPO returns each list's token when the collection is read with $select=CurrentChangeToken
                # (not by default), so a client gets every list's token in one request.
                tail = f"{max(ticks_now(), self._last_ticks)};{self.store.last_change_no()}"
                for row in lists:
                    row["CurrentChangeToken"] = {
                        "__metadata": {"type": "SP.ChangeToken"},
                        "StringValue": f"1;3;{row['Id']};{tail}",
                    }
            return self._collection_response(ctx, lists)
        if method == "POST":
            body = ctx.request.json()
            data = unwrap(body, "parameters")
            title = data.get("Title")
            if not isinstance(title, str) or not title.strip():
                raise RestError(400, ARGUMENT, "A list needs a non-empty Title.")
            allowed = {
                "Title",
                "Description",
                "BaseTemplate",
                "AllowContentTypes",
                "ContentTypesEnabled",
                "Url",
                "Hidden",
                "EnableVersioning",
                "EnableFolderCreation",
                "OnQuickLaunch",
                "NoCrawl",
                "TemplateFeatureId",
                "DocumentTemplateType",
                "CustomSchemaXml",
                "QuickLaunchOption",
                "EnableAttachments",
                "EnableMinorVersions",
                "ForceCheckout",
                "MajorVersionLimit",
            }
            for key in data:
                if key not in allowed:
                    raise bad_query(
                        f"The property '{key}' does not exist on type 'SP.List'. Make sure to only use "
                        "property names that are defined by the type."
                    )
                check_property_type(key, data[key])
            lst = self._new_list(
                site,
                title,
                int(data.get("BaseTemplate") or 100),
                data.get("Url"),
                description=data.get("Description") or "",
                extra={
                    k: data[k] for k in ("Hidden", "ContentTypesEnabled", "EnableVersioning") if k in data
                },
            )
            return ApiResponse.json({"d": self._list_json(ctx, lst)}, 201)
        return None

    def _finish_list(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site, lst = node.site, node.lst
        if method == "GET":
            payload = self._list_json(ctx, lst)
            if any(s.lower() == "currentchangetoken" for s in ctx.opts.select):
                payload["CurrentChangeToken"] = {
                    "__metadata": {"type": "SP.ChangeToken"},
                    "StringValue": self._token(3, lst["Id"]),
                }
            return self._ok(ctx, payload)
        if method in ("MERGE", "PATCH", "PUT"):
            body = strip_meta(ctx.request.json())
            settable = {
                "Title",
                "Description",
                "Hidden",
                "ContentTypesEnabled",
                "EnableVersioning",
                "OnQuickLaunch",
                "EnableAttachments",
                "EnableFolderCreation",
                "NoCrawl",
                "EnableMinorVersions",
                "MajorVersionLimit",
                "ForceCheckout",
                "DefaultContentApprovalWorkflowId",
                "Direction",
                "EnableModeration",
                "IrmEnabled",
                "ReadSecurity",
                "WriteSecurity",
            }
            for key, value in body.items():
                if key not in settable:
                    raise bad_query(f"The property '{key}' does not exist on type 'SP.List' or is read-only.")
                check_property_type(key, value)
                if key == "Title":
                    other = self._find_list_by_title(site, str(value))
                    if other is not None and other["Id"] != lst["Id"]:
                        raise RestError(
                            500,
                            DUPLICATE,
                            "A list, survey, discussion board, or document "
                            "library with the specified title already exists in this Web site.  "
                            "Please choose another title.",
                        )
                lst[key] = value
            self.store.put("list", lst)
            self._log(site, lst, None, 2, "List")
            return ApiResponse.empty(204)
        if method == "DELETE":
            self._drop_list(lst, log_site=site)
            return ApiResponse.empty(200)
        return None

    def _finish_rootfolder(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        lst = node.lst
        if method == "GET":
            url = self._list_server_url(ctx.site, lst)
            return self._ok(
                ctx,
                {
                    "__metadata": {"type": "SP.Folder"},
                    "Name": lst["UrlLeaf"],
                    "ServerRelativeUrl": url,
                    "ItemCount": len(self.store.items(lst["Id"])),
                    "UniqueId": lst["RootFolderId"],
                    "Exists": True,
                    "WelcomePage": "",
                },
            )
        return None

    def _find_list_by_title(self, site: dict[str, Any], title: str) -> dict[str, Any] | None:
        low = title.lower()
        for lst in self.store.under("list", site["WebId"]):
            if lst["Title"].lower() == low:
                return lst
        return None

    def _list_missing(self, ctx: Ctx, title: str) -> RestError:
        return RestError(
            404, LIST_MISSING, f"List '{title}' does not exist at site with URL '{ctx.site_url}'."
        )

    def _list_by_title(self, ctx: Ctx, title: str) -> dict[str, Any]:
        lst = self._find_list_by_title(ctx.site, title)
        if lst is None:
            raise self._list_missing(ctx, title)
        return lst

    def _list_by_id(self, ctx: Ctx, list_id: Any) -> dict[str, Any]:
        lst = self.store.get("list", norm_guid(list_id))
        if lst is None or lst["_parent"] != ctx.site["WebId"]:
            raise RestError(
                404, LIST_MISSING, f"List '{list_id}' does not exist at site with URL '{ctx.site_url}'."
            )
        return lst

    def _list_by_url(self, ctx: Ctx, url: str) -> dict[str, Any]:
        path = urlsplit(url).path if "://" in url else url
        path = path.rstrip("/").lower()
        for lst in self.store.under("list", ctx.site["WebId"]):
            full = self._list_server_url(ctx.site, lst).lower()
            if path in (full, full[len(ctx.site["Path"]) :]) or full.endswith("/" + path.lstrip("/")):
                return lst
        raise RestError(404, "-2147024894, System.IO.FileNotFoundException", f"List '{url}' does not exist.")

    def _list_server_url(self, site: dict[str, Any], lst: dict[str, Any]) -> str:
        prefix = "" if lst["BaseTemplate"] in LIBRARY_TEMPLATES else "/Lists"
        return f"{site['Path']}{prefix}/{lst['UrlLeaf']}"

    def _new_list(
        self,
        site: dict[str, Any],
        title: str,
        template: int,
        url_leaf: str | None = None,
        description: str = "",
        extra: dict[str, Any] | None = None,
        log: bool = True,
    ) -> dict[str, Any]:
        if self._find_list_by_title(site, title) is not None:
            raise RestError(
                500,
                DUPLICATE,
                "A list, survey, discussion board, or document library with the "
                "specified title already exists in this Web site.  Please choose another title.",
            )
        if template not in (100, 101, 103, 104, 105, 106, 107, 108, 119, 171):
            raise RestError(
                400,
                ARGUMENT,
                f"List template {template} is not supported by the emulator; "
                "use 100 (GenericList) or 101 (DocumentLibrary).",
            )
        leaf = list_url_leaf(url_leaf.rstrip("/").split("/")[-1] if url_leaf else title)
        taken = {lst_["UrlLeaf"].lower() for lst_ in self.store.under("list", site["WebId"])}
        base, n = leaf, 1
        while leaf.lower() in taken:
            leaf = f"{base}{n}"
            n += 1
        list_id = str(uuid.uuid4())
        now = iso_z(utc_now())
        lst = {
            "_id": list_id,
            "_parent": site["WebId"],
            "Id": list_id,
            "Title": title,
            "Description": description,
            "BaseTemplate": template,
            "BaseType": 1 if template in LIBRARY_TEMPLATES else 0,
            "UrlLeaf": leaf,
            "Created": now,
            "LastItemModifiedDate": now,
            "LastItemDeletedDate": now,
            "NextItemId": 1,
            "Hidden": False,
            "ContentTypesEnabled": False,
            "EnableVersioning": template in LIBRARY_TEMPLATES,
            "RootFolderId": str(uuid.uuid4()),
            "EnableAttachments": template not in LIBRARY_TEMPLATES,
            "OnQuickLaunch": False,
        }
        lst.update(extra or {})
        self.store.put("list", lst)
        self._seed_fields(site, list_id, builtin_only=False, library=template in LIBRARY_TEMPLATES)
        if template in TASK_TEMPLATES:
            self._seed_task_fields(site, lst)
        base_ct = "0x0101" if template in LIBRARY_TEMPLATES else "0x01"
        self._add_list_ctype(site, lst, base_ct, log=False)
        view_title = (
            "Alle dokumenter"
            if template in LIBRARY_TEMPLATES and site["Lcid"] == 1044
            else (
                "Alle elementer"
                if site["Lcid"] == 1044
                else ("All Documents" if template in LIBRARY_TEMPLATES else "All Items")
            )
        )
        if template in TASK_TEMPLATES:
            view_title = TASK_VIEWS[0][1] if site["Lcid"] == 1044 else TASK_VIEWS[0][0]
        # The template's base view (BaseViewID 1): its fields are also what a view created without
        # ViewFields gets.
        if template in LIBRARY_TEMPLATES:
            lst["BaseViewFields"] = ["DocIcon", "LinkFilename", "Modified", "Editor"]
        elif template in TASK_TEMPLATES:
            lst["BaseViewFields"] = ["Checkmark", "LinkTitle", "DueDate", "AssignedTo"]
        else:
            lst["BaseViewFields"] = ["LinkTitle"]
        self.store.put("list", lst)
        self._add_view(
            site,
            lst,
            {
                "Title": view_title,
                "ViewFields": list(lst["BaseViewFields"]),
                "SetAsDefaultView": True,
                "RowLimit": 30,
            },
            url_name="AllItems",
        )
        if template in TASK_TEMPLATES:
            # SPO gives a Tasks list its template's other public views too (docs/emulator.md,
            # "Lists, views and content types")
            for english, norwegian, leaf, query in TASK_VIEWS[1:]:
                self._add_view(
                    site,
                    lst,
                    {
                        "Title": norwegian if site["Lcid"] == 1044 else english,
                        "Query": query,
                        "RowLimit": 100,
                    },
                    url_name=leaf,
                )
        if log:
            self._log(site, lst, None, 1, "List")
        return lst

    def _drop_list(self, lst: dict[str, Any], log_site: dict[str, Any] | None = None) -> None:
        for kind in ("field", "view", "ctype"):
            for obj in self.store.under(kind, lst["Id"]):
                self.store.delete(kind, obj["_id"])
        self.store.drop_items(lst["Id"])
        self.store.delete("list", lst["Id"])
        if log_site is not None:
            self._log(log_site, lst, None, 3, "List")

    def _touch_list(self, lst: dict[str, Any]) -> None:
        lst["LastItemModifiedDate"] = iso_z(utc_now())
        self.store.put("list", lst)

    def _related_fields(self, ctx: Ctx, lst: dict[str, Any]) -> ApiResponse:
        """Lookup fields in this web's lists whose LookupList is ``lst`` (``List.getRelatedFields``)."""
        target = lst["Id"].lower()
        out = []
        for other in self.store.under("list", ctx.site["WebId"]):
            for fld in self.store.under("field", other["Id"]):
                if (
                    F.is_lookup(fld)
                    and not F.is_user(fld)
                    and not fld.get("IsDependentLookup")
                    and norm_guid(fld.get("LookupList")).lower() == target
                ):
                    out.append(
                        {
                            "__metadata": {"type": "SP.RelatedField"},
                            "FieldId": fld["Id"],
                            "ListId": other["Id"],
                            "WebId": ctx.site["WebId"],
                            "RelationshipDeleteBehavior": int(fld.get("RelationshipDeleteBehavior") or 0),
                        }
                    )
        return ApiResponse.json({"d": {"results": out}})

    def _add_folder(self, site: dict[str, Any], lst: dict[str, Any], leaf: str) -> dict[str, Any]:
        """``RootFolder/Folders/add``: in a list (not a library) SPO creates the folder in the list's
        file system only; it gets no list item, so ``items`` does not show it."""
        folders = lst.setdefault("Folders", {})
        folder: dict[str, Any] | None = folders.get(leaf.lower())
        if folder is None:
            folder = {"Name": leaf, "UniqueId": str(uuid.uuid4()), "Created": iso_z(utc_now())}
            folders[leaf.lower()] = folder
            self.store.put("list", lst)
            self._log(site, lst, None, 1, "Folder", {"UniqueId": folder["UniqueId"]})
        return folder

    def _finish_folders(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            lst = node.lst
            rows = [self._folder_json(ctx, lst, f) for f in (lst.get("Folders") or {}).values()]
            return self._collection_response(ctx, rows)
        return None
