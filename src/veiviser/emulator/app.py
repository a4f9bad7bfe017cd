"""The emulator's SharePoint object model: sites, webs, lists, fields, items, views, users, changes.

:class:`SharePointApp` answers one REST call at a time (see ``api.py`` for the contract). Facts
about wire shapes and error codes come from shared/reference/sharepoint-rest-and-client.md
(sections 3-6, 8, 10-12, 14).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from . import fields as F
from .api import ApiRequest, ApiResponse, SharePointError, SiteLocation
from .naming import (
    LIBRARY_TEMPLATES,
    list_entity_type_name,
    list_item_entity_type_full_name,
    list_url_leaf,
    unique_internal_name,
)
from .odata import QueryOptions, bad_query, evaluate, filter_fields, parse_filter, parse_orderby, parse_query
from .paths import Segment, parse_path
from .store import Store

log = logging.getLogger(__name__)

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
TICKS_AT_EPOCH = 621355968000000000
DEFAULT_PAGE = 100
MAX_PAGE = 5000
VIEW_THRESHOLD = 5000
APP_LOGIN = "i:0i.t|ms.sp.ext|veiviser-emulator@tenant"

ARGUMENT = "-2147024809, System.ArgumentException"
LIST_MISSING = "-1, System.ArgumentException"
DUPLICATE = "-2130575342, Microsoft.SharePoint.SPException"
SP_EXCEPTION = "-2146232832, Microsoft.SharePoint.SPException"
THROTTLED = "-2147024860, Microsoft.SharePoint.SPQueryThrottledException"
BAD_QUERY = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"
NO_SITE = "-1, Microsoft.Online.SharePoint.Common.SpoNoSiteException"
NOT_SUPPORTED = "-1, System.NotSupportedException"

# Service operations invoked with POST that only read. A failed request of one of these leaves the
# in-memory caches as they are (no reload from disk); anything else sent with a write method may
# have changed cached objects in place before it failed. EnsureUser is not here: it adds the user.
READ_ONLY_POSTS = frozenset(
    {
        "getchanges",  # Site/Web/List getChanges
        "getitems",  # List GetItems (CAML query)
        "getlistitemchangessincetoken",
        "getlistusingpath",  # Web GetListUsingPath, invoked as a service operation
        "getsitepropertiesfromsharepointbyfilters",  # Tenant: the site list
        "getsitepropertiesbyurl",  # Tenant
    }
)

TEMPLATES = {"STS#3": 68, "STS#0": 1, "SITEPAGEPUBLISHING#0": 68, "GROUP#0": 64}

# Built-in content types seeded on every site (SharePoint's fixed IDs).
BUILTIN_CTYPES = [
    ("0x01", "Item", "List Content Types"),
    ("0x0101", "Document", "Document Content Types"),
    ("0x0102", "Event", "List Content Types"),
    ("0x0108", "Task", "List Content Types"),
    ("0x0120", "Folder", "Folder Content Types"),
]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ticks(dt: datetime | None = None) -> int:
    dt = dt or _now()
    return TICKS_AT_EPOCH + int(dt.timestamp() * 10_000_000)


def _ticks_to_iso(ticks: int) -> str:
    return _iso(datetime.fromtimestamp((ticks - TICKS_AT_EPOCH) / 10_000_000, tz=UTC))


def _guid(value: Any) -> str:
    return str(value or "").strip().strip("{}").lower()


def _meta(kind: str, uri: str, type_name: str) -> dict[str, Any]:
    return {"id": uri, "uri": uri, "type": type_name}


def _strip_meta(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_query("The request body must be a JSON object.")
    return {k: v for k, v in body.items() if k != "__metadata"}


def _unwrap(body: Any, *names: str) -> dict[str, Any]:
    """The parameters object of a service operation (``{"parameters": {...}}`` or the body itself)."""
    body = _strip_meta(body)
    for name in names:
        for key, value in body.items():
            if key.lower() == name.lower() and isinstance(value, dict):
                return _strip_meta(value)
    return body


def _results(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.get("results") or [])
    if isinstance(value, list):
        return value
    return []


def _collection(values: list[Any], type_name: str = "Collection(Edm.String)") -> dict[str, Any]:
    return {"__metadata": {"type": type_name}, "results": values}


def is_mutating(method: str, operation: str) -> bool:
    """Whether a request may change the object model: every write method, except a POST to a
    read-only service operation (``operation`` is the last path segment, lower case)."""
    if method == "GET":
        return False
    return not (method == "POST" and operation in READ_ONLY_POSTS)


class Ctx:
    """Per-request context: the site, the request and helpers to build absolute URLs."""

    def __init__(
        self, app: SharePointApp, request: ApiRequest, site: dict[str, Any], opts: QueryOptions
    ) -> None:
        self.app = app
        self.request = request
        self.site = site
        self.opts = opts
        host = request.host
        label, _, rest = host.partition(".")
        if label.endswith("-admin") and rest:
            host = f"{label[:-6]}.{rest}"
        self.base = f"{request.scheme}://{host}"  # the tenant host, for URLs of sites
        # the addressed web's own URLs keep the host it was addressed on (the admin site is its own web)
        self.site_url = f"{request.scheme}://{request.host}" + site["Path"]
        self.api = self.site_url + "/_api/"


class SharePointApp:
    """The object model behind the emulator's HTTP layer (thread-safe; one lock around the store)."""

    def __init__(self, db_path: str | None = None) -> None:
        self.store = Store(db_path)
        self.lock = threading.RLock()
        self._last_ticks = 0
        self._may_mutate = True
        self._path_index: dict[str, dict[str, Any]] = {}
        self._path_index_generation = -1
        with self.lock:
            self.store.begin()
            if not self._sites():
                self._create_site(
                    "/", "Communication site", "SITEPAGEPUBLISHING#0", 1033, "admin@emulator.local"
                )
            self.store.commit()

    # ================================================================== protocol
    def close(self) -> None:
        with self.lock:
            self.store.close()

    def locate(self, host: str, path: str, scheme: str = "http") -> SiteLocation:
        with self.lock:
            site = self._site_for_path(path)
            url = f"{scheme}://{host}{site['Path']}"
            return SiteLocation(site_url=url, web_url=url, site_id=site["Id"], web_id=site["WebId"])

    def handle(self, request: ApiRequest) -> ApiResponse:
        started = time.perf_counter()
        try:
            with self.lock:
                self.store.begin()
                self._may_mutate = request.method.upper() != "GET"  # narrowed by _dispatch once parsed
                try:
                    response = self._dispatch(request)
                except BaseException:
                    self.store.rollback(may_have_mutated=self._may_mutate)
                    raise
                self.store.commit()
                return response
        except SharePointError as exc:
            return exc.to_response()
        except Exception:
            log.exception("emulator: unexpected error on %s %s", request.method, request.path)
            return SharePointError(
                500,
                "-2146233088, System.Exception",
                "An unexpected error occurred in the SharePoint emulator; see its log.",
            ).to_response()
        finally:
            elapsed = time.perf_counter() - started
            if elapsed > 1.0:
                log.debug("emulator: slow request %s %s %.2fs", request.method, request.path, elapsed)

    # ================================================================== sites
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
                raise SharePointError(
                    404,
                    "-2147024894, System.IO.FileNotFoundException",
                    f"File Not Found. No site exists at '/{'/'.join(parts[:2])}'.",
                )
            return site
        if parts and not (len(parts) == 1 and parts[0].lower() in ("_layouts", "_vti_bin")):
            raise SharePointError(
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
            "Created": _iso(_now()),
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

    # ================================================================== change log
    def _log(
        self,
        site: dict[str, Any],
        lst: dict[str, Any] | None,
        item_id: int | None,
        change_type: int,
        obj: str,
        extra: dict[str, Any] | None = None,
    ) -> int:
        ticks = max(_ticks(), self._last_ticks + 1)
        self._last_ticks = ticks
        return self.store.add_change(
            site["Id"], site["WebId"], lst["Id"] if lst else None, item_id, change_type, ticks, obj, extra
        )

    def _token(self, scope: int, object_id: str) -> str:
        return f"1;{scope};{object_id};{max(_ticks(), self._last_ticks)};{self.store.last_change_no()}"

    # ================================================================== dispatch
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

    # ------------------------------------------------------------------ root
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
                hub = self._hub_by_id(_guid(seg.args[0]))
                return ("hub", hub)
            return ("hubsites",)
        if name in ("hubsitesutility", "microsoft.sharepoint.portal.sphubsitesutility"):
            return ("hubutil",)
        if name == "microsoft.online.sharepoint.tenantadministration.tenant":
            return ("tenant",)
        if name == "sitepages":
            return ("sitepages",)
        return None

    # ------------------------------------------------------------------ site / web
    def _step_site(self, ctx: Ctx, state, seg, name, last, method):
        site = state[1]
        if name == "rootweb":
            return ("web", site)
        if name == "registerhubsite" and method == "POST":
            return ApiResponse.json({"d": self._hub_json(ctx, self._register_hub(site))})
        if name == "unregisterhubsite" and method == "POST":
            self._unregister_hub(site)
            return ApiResponse.empty(200)
        if name == "joinhubsite" and method == "POST":
            hub_id = seg.args[0] if seg.args else _unwrap(ctx.request.json()).get("hubSiteId")
            self._join_hub(site, _guid(hub_id))
            return ApiResponse.empty(200)
        if name == "getchanges" and method == "POST":
            return self._get_changes(ctx, "site", site, None)
        if name == "features":
            return ApiResponse.json({"d": {"results": []}})
        if name == "recyclebin":
            return ("recyclebin", site)
        return None

    def _step_web(self, ctx: Ctx, state, seg, name, last, method):
        site = state[1]
        if name == "lists":
            if seg.args:
                return ("list", site, self._list_by_id(ctx, seg.args[0]))
            return ("lists", site)
        if name in ("getlist", "getlistusingpath"):
            url = seg.args[0] if seg.args else ""
            if isinstance(url, dict):
                url = url.get("DecodedUrl", "")
            found = self._list_by_url(ctx, str(url))
            if last and method == "POST":  # invoked as a service operation (GetListUsingPath)
                return ApiResponse.json({"d": self._list_json(ctx, found)})
            return ("list", site, found)
        if name == "getlistbytitle":
            return ("list", site, self._list_by_title(ctx, str(seg.args[0] if seg.args else "")))
        if name == "defaultdocumentlibrary":
            libs = [x for x in self.store.under("list", site["WebId"]) if x["BaseTemplate"] == 101]
            if not libs:
                raise SharePointError(404, LIST_MISSING, "This site has no document library.")
            return ("list", site, libs[0])
        if name == "fields":
            if seg.args:
                return ("field", site, None, self._field_by_id(site, None, seg.args[0]))
            return ("fields", site, None)
        if name in ("contenttypes", "availablecontenttypes"):
            if seg.args:
                return ("ctype", site, None, self._ctype(site, None, str(seg.args[0])))
            return ("ctypes", site, None)
        if name == "siteuserinfolist" and not seg.args:
            return ("userinfolist", site)
        if name in ("siteusers", "siteuserinfolist"):
            if seg.args:
                return ("user", site, self._user_by_id(site, seg.args[0]))
            return ("users", site)
        if name == "getuserbyid":
            return ("user", site, self._user_by_id(site, seg.args[0] if seg.args else None))
        if name == "currentuser":
            return ("user", site, self._ensure_user(site, APP_LOGIN, title="SharePoint App"))
        if name == "ensureuser" and method == "POST":
            login = seg.args[0] if seg.args else _unwrap(ctx.request.json()).get("logonName")
            if not login:
                raise SharePointError(
                    400, ARGUMENT, "EnsureUser needs a logon name, e.g. EnsureUser('ola@contoso.no')."
                )
            user = self._ensure_user(site, str(login))
            return ApiResponse.json({"d": self._user_json(ctx, user)})
        if name == "allproperties":
            return ("allprops", site)
        if name == "getchanges" and method == "POST":
            return self._get_changes(ctx, "web", site, None)
        if name == "webs":
            return ApiResponse.json({"d": {"results": []}})
        if name == "recyclebin":
            if seg.args:
                return ("recycleitem", site, self._recycled(site, seg.args[0]))
            return ("recyclebin", site)
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

    # ------------------------------------------------------------------ lists
    def _step_lists(self, ctx: Ctx, state, seg, name, last, method):
        site = state[1]
        if name == "getbytitle":
            return ("list", site, self._list_by_title(ctx, str(seg.args[0] if seg.args else "")))
        if name == "getbyid":
            return ("list", site, self._list_by_id(ctx, seg.args[0] if seg.args else ""))
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

    def _step_list(self, ctx: Ctx, state, seg, name, last, method):
        site, lst = state[1], state[2]
        if name == "items":
            if seg.args:
                return ("item", site, lst, self._item(ctx, lst, seg.args[0]))
            return ("items", site, lst)
        if name == "getitembyid":
            return ("item", site, lst, self._item(ctx, lst, seg.args[0] if seg.args else None))
        if name == "fields":
            if seg.args:
                return ("field", site, lst, self._field_by_id(site, lst, seg.args[0]))
            return ("fields", site, lst)
        if name == "views":
            if seg.args:
                return ("view", site, lst, self._view_by_id(lst, seg.args[0]))
            return ("views", site, lst)
        if name == "defaultview":
            views = [v for v in self.store.under("view", lst["Id"]) if v["DefaultView"]]
            if not views:
                raise SharePointError(404, ARGUMENT, f"List '{lst['Title']}' has no default view.")
            return ("view", site, lst, views[0])
        if name == "getview":
            return ("view", site, lst, self._view_by_id(lst, seg.args[0] if seg.args else ""))
        if name == "contenttypes":
            if seg.args:
                return ("ctype", site, lst, self._ctype(site, lst, str(seg.args[0])))
            return ("ctypes", site, lst)
        if name == "rootfolder":
            return ("rootfolder", site, lst)
        if name == "getitems" and method == "POST":
            return self._get_items_caml(ctx, lst)
        if name == "getchanges" and method == "POST":
            return self._get_changes(ctx, "list", site, lst)
        if name == "getlistitemchangessincetoken" and method == "POST":
            return self._changes_since_token_xml(ctx, lst)
        if name == "additem" and method == "POST":
            return self._add_item_with_info(ctx, site, lst)
        if name == "parentweb":
            return ("web", site)
        if name == "getrelatedfields" and method == "GET":
            return self._related_fields(ctx, lst)
        if name == "getusereffectivepermissions":
            return self._effective_permissions(ctx, seg)
        if name == "recycle" and method == "POST":
            self._drop_list(lst, log_site=site)
            return ApiResponse.json({"d": {"Recycle": str(uuid.uuid4())}})
        return None

    def _step_rootfolder(self, ctx: Ctx, state, seg, name, last, method):
        if name == "folders":
            return ("folders", state[1], state[2])
        return None

    def _step_folders(self, ctx: Ctx, state, seg, name, last, method):
        site, lst = state[1], state[2]
        if name == "add" and method == "POST":
            leaf = str(seg.args[0] if seg.args else "").strip("/")
            if not leaf or any(c in leaf for c in '"*:<>?\\|#%') or "/" in leaf:
                raise SharePointError(400, ARGUMENT, f"The folder name '{leaf}' is not valid.")
            return ApiResponse.json({"d": self._folder_json(ctx, lst, self._add_folder(site, lst, leaf))})
        return None

    # ------------------------------------------------------------------ items
    def _step_items(self, ctx: Ctx, state, seg, name, last, method):
        site, lst = state[1], state[2]
        if name == "getbyid":
            return ("item", site, lst, self._item(ctx, lst, seg.args[0] if seg.args else None))
        return None

    def _step_item(self, ctx: Ctx, state, seg, name, last, method):
        site, lst, item = state[1], state[2], state[3]
        if name == "parentlist":
            return ("list", site, lst)
        if name == "recycle" and method == "POST":
            return ApiResponse.json({"d": {"Recycle": self._recycle_item(site, lst, item)}})
        if name == "validateupdatelistitem" and method == "POST":
            return self._validate_update(ctx, lst, item)
        if name == "contenttype":
            ct_id = item.get("ContentTypeId")
            return ("ctype", site, lst, self._ctype(site, lst, ct_id))
        if name == "fieldvaluesastext" or name == "fieldvalues":
            return ApiResponse.json(
                {
                    "d": {
                        "__metadata": {"type": "SP.FieldStringValues"},
                        **{k: ("" if v is None else str(v)) for k, v in item.items()},
                    }
                }
            )
        if name in ("systemupdate", "updateoverwriteversion") and method == "POST":
            return ApiResponse.empty(200)
        if name == "attachmentfiles":
            return ("attachments", site, lst, item)
        if name == "getcomments":
            return ApiResponse.json({"d": {"results": []}})
        if name == "setcommentsdisabled" and method == "POST":
            disabled = seg.args[0] if seg.args else _unwrap(ctx.request.json()).get("value")
            item["CommentsDisabled"] = bool(disabled)
            self.store.put_item(lst["Id"], item)
            return ApiResponse.empty(200)
        if name == "versions" and method == "GET":
            return self._versions_json(ctx, lst, item)
        # navigation to a lookup/user value: items(1)/Author
        fld = self._field_by_entity(lst, seg.name)
        if fld is not None and F.is_user(fld) and not F.is_multi(fld) and item.get(fld["InternalName"]):
            return ("user", site, self._user_by_id(site, item[fld["InternalName"]]))
        return None

    # ------------------------------------------------------------------ fields
    def _step_fields(self, ctx: Ctx, state, seg, name, last, method):
        site, lst = state[1], state[2]
        if name == "getbytitle":
            return ("field", site, lst, self._field_by_title(site, lst, str(seg.args[0] if seg.args else "")))
        if name == "getbyinternalnameortitle":
            return (
                "field",
                site,
                lst,
                self._field_by_name_or_title(site, lst, str(seg.args[0] if seg.args else "")),
            )
        if name == "getbyid":
            return ("field", site, lst, self._field_by_id(site, lst, seg.args[0] if seg.args else ""))
        if name == "addfield" and method == "POST":
            info = _unwrap(ctx.request.json(), "parameters")
            fld = self._add_field_from_info(site, lst, info)
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        if name == "createfieldasxml" and method == "POST":
            info = _unwrap(ctx.request.json(), "parameters")
            xml = info.get("SchemaXml")
            if not isinstance(xml, str):
                raise SharePointError(400, ARGUMENT, "CreateFieldAsXml needs parameters.SchemaXml.")
            fld = self._add_field_from_xml(site, lst, xml, int(info.get("Options") or 0))
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        if name == "addfieldasxml" and method == "POST":
            info = _unwrap(ctx.request.json(), "parameters")
            fld = self._add_field_from_xml(site, lst, str(info.get("schemaXml") or info.get("SchemaXml")), 0)
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        if name == "adddependentlookupfield" and method == "POST":
            body = _unwrap(ctx.request.json())
            primary = self._field_by_id(site, lst, body.get("primaryLookupFieldId"))
            fld = self._add_dependent_lookup(
                site, lst, primary, str(body.get("displayName")), str(body.get("showField"))
            )
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 200)
        return None

    def _step_field(self, ctx: Ctx, state, seg, name, last, method):
        if name == "setshowineditform" or name == "setshowindisplayform" or name == "setshowinnewform":
            return ApiResponse.empty(200)
        return None

    # ------------------------------------------------------------------ content types
    def _step_ctypes(self, ctx: Ctx, state, seg, name, last, method):
        site, lst = state[1], state[2]
        if name == "getbyid":
            return ("ctype", site, lst, self._ctype(site, lst, str(seg.args[0] if seg.args else "")))
        if name == "create" and method == "POST":
            info = _unwrap(ctx.request.json(), "parameters")
            ct = self._create_ctype(site, lst, info)
            self._log(site, lst, None, 1, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)})
        if name == "addavailablecontenttype" and method == "POST" and lst is not None:
            ct_id = seg.args[0] if seg.args else _unwrap(ctx.request.json()).get("contentTypeId")
            ct = self._add_list_ctype(site, lst, str(ct_id))
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)})
        if name == "addexistingcontenttype" and method == "POST" and lst is not None:
            body = _unwrap(ctx.request.json())
            ct = self._add_list_ctype(site, lst, str(body.get("contentType") or body.get("contentTypeId")))
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)})
        return None

    def _step_ctype(self, ctx: Ctx, state, seg, name, last, method):
        site, lst, ct = state[1], state[2], state[3]
        if name in ("nameresource", "descriptionresource"):
            return ("resource", site, lst, ct, "Name" if name == "nameresource" else "Description")
        if name == "fieldlinks":
            if seg.args:
                return ("fieldlink", site, lst, ct, str(seg.args[0]))
            return ("fieldlinks", site, lst, ct)
        if name == "fields":
            return ("ctfields", site, lst, ct)
        return None

    def _step_fieldlinks(self, ctx: Ctx, state, seg, name, last, method):
        if name == "getbyid":
            return ("fieldlink", state[1], state[2], state[3], str(seg.args[0] if seg.args else ""))
        return None

    # ------------------------------------------------------------------ views
    def _step_views(self, ctx: Ctx, state, seg, name, last, method):
        site, lst = state[1], state[2]
        if name == "getbytitle":
            title = str(seg.args[0] if seg.args else "")
            for view in self.store.under("view", lst["Id"]):
                if view["Title"].lower() == title.lower():
                    return ("view", site, lst, view)
            raise SharePointError(
                404, ARGUMENT, f"The view '{title}' does not exist in list '{lst['Title']}'."
            )
        if name == "getbyid":
            return ("view", site, lst, self._view_by_id(lst, seg.args[0] if seg.args else ""))
        if name == "add" and method == "POST":
            info = _unwrap(ctx.request.json(), "parameters")
            view = self._add_view(site, lst, info)
            return ApiResponse.json({"d": self._view_json(ctx, lst, view)})
        return None

    def _step_view(self, ctx: Ctx, state, seg, name, last, method):
        site, lst, view = state[1], state[2], state[3]
        if name == "viewfields":
            return ("viewfields", site, lst, view)
        if name == "renderashtml":
            return ApiResponse.json({"d": {"RenderAsHtml": "<table></table>"}})
        return None

    def _step_viewfields(self, ctx: Ctx, state, seg, name, last, method):
        site, lst, view = state[1], state[2], state[3]
        if method != "POST":
            return None
        names: list[str] = view["ViewFields"]
        if name == "addviewfield":
            fname = str(seg.args[0] if seg.args else _unwrap(ctx.request.json()).get("strField"))
            self._check_view_field(site, lst, fname)
            if fname not in names:
                names.append(fname)
        elif name == "removeviewfield":
            fname = str(seg.args[0] if seg.args else _unwrap(ctx.request.json()).get("strField"))
            if fname not in names:
                raise SharePointError(404, ARGUMENT, f"Field '{fname}' is not in view '{view['Title']}'.")
            names.remove(fname)
        elif name == "removeallviewfields":
            names.clear()
        elif name == "moveviewfieldto":
            body = _unwrap(ctx.request.json())
            fname = str(body.get("field") or body.get("Field") or "")
            index = int(body.get("index") or 0)
            if fname not in names:
                raise SharePointError(404, ARGUMENT, f"Field '{fname}' is not in view '{view['Title']}'.")
            names.remove(fname)
            names.insert(max(0, min(index, len(names))), fname)
        else:
            return None
        self.store.put("view", view)
        self._log(site, lst, None, 2, "View", {"ViewId": view["Id"]})
        return ApiResponse.empty(200)

    # ------------------------------------------------------------------ users, hubs, tenant
    def _step_users(self, ctx: Ctx, state, seg, name, last, method):
        site = state[1]
        if name == "getbyid":
            return ("user", site, self._user_by_id(site, seg.args[0] if seg.args else None))
        if name in ("getbyemail", "getbyloginname"):
            login = str(seg.args[0] if seg.args else "")
            for user in self.store.under("user", site["Id"]):
                if login.lower() in (str(user["Email"]).lower(), user["LoginName"].lower()):
                    return ("user", site, user)
            raise SharePointError(
                404, "-2146232832, Microsoft.SharePoint.SPException", "User cannot be found."
            )
        return None

    def _step_sitemanager(self, ctx: Ctx, state, seg, name, last, method):
        if name == "create" and method == "POST":
            req = _unwrap(ctx.request.json(), "request")
            return ApiResponse.json({"d": {"Create": self._site_manager_create(ctx, req)}})
        if name == "status":
            url = seg.args[0] if seg.args else (ctx.opts.get("url") or "")
            url = str(url).strip("'")
            return ApiResponse.json({"d": {"Status": self._site_status(ctx, url)}})
        if name == "delete" and method == "POST":
            body = _unwrap(ctx.request.json())
            site = self.store.get("site", _guid(body.get("siteId")))
            if site is None:
                raise SharePointError(404, NO_SITE, f"Site '{body.get('siteId')}' does not exist.")
            self._remove_site(site)
            return ApiResponse.empty(200)
        return None

    def _step_sitepages(self, ctx: Ctx, state, seg, name, last, method):
        if name == "communicationsite":
            return ("commsite",)
        return None

    def _step_commsite(self, ctx: Ctx, state, seg, name, last, method):
        if name == "create" and method == "POST":
            req = _unwrap(ctx.request.json(), "request")
            req.setdefault("WebTemplate", "SITEPAGEPUBLISHING#0")
            result = self._site_manager_create(ctx, req)
            return ApiResponse.json(
                {"d": {"Create": {"SiteStatus": result["SiteStatus"], "SiteUrl": result["SiteUrl"]}}}
            )
        return None

    def _step_hubsites(self, ctx: Ctx, state, seg, name, last, method):
        if name == "getbyid":
            return ("hub", self._hub_by_id(_guid(seg.args[0] if seg.args else "")))
        return None

    def _step_hubutil(self, ctx: Ctx, state, seg, name, last, method):
        if name == "gethubsites":
            hubs = [self._hub_json(ctx, s) for s in self._sites() if s["IsHubSite"]]
            return ApiResponse.json({"d": {"GetHubSites": {"results": hubs}}})
        if name == "gethubsitebyid":
            return ApiResponse.json(
                {"d": self._hub_json(ctx, self._hub_by_id(_guid(seg.args[0] if seg.args else "")))}
            )
        return None

    def _step_tenant(self, ctx: Ctx, state, seg, name, last, method):
        if method != "POST":
            return None
        body = _strip_meta(ctx.request.json())
        if name == "createsite":
            props = _unwrap(body, "siteCreationProperties")
            req = {
                "Url": props.get("Url"),
                "Title": props.get("Title") or "",
                "Owner": props.get("Owner"),
                "Lcid": props.get("Lcid") or 1033,
                "WebTemplate": props.get("Template") or "STS#3",
            }
            result = self._site_manager_create(ctx, req)
            if result["SiteStatus"] != 2:
                raise SharePointError(500, SP_EXCEPTION, f"A site already exists at url {req['Url']}.")
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
            return ApiResponse.empty(200)
        if name == "connectsitetohubsitebyid":
            site = self._site_from_url(ctx, str(body.get("siteUrl") or ""))
            self._join_hub(site, _guid(body.get("hubSiteId")))
            return ApiResponse.empty(200)
        if name == "getsitepropertiesfromsharepointbyfilters":
            # The tenant's site list, each row with its HubSiteId (how SPO tells which sites joined a hub).
            spe = _strip_meta(_unwrap(body, "speFilter") or {})
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
                raise SharePointError(400, SP_EXCEPTION, "The root site collection cannot be removed.")
            self._remove_site(site)
            return ApiResponse.json({"d": self._spo_operation()})
        return None

    # ================================================================== final verbs
    def _finish(self, ctx: Ctx, state: tuple[Any, ...], method: str) -> ApiResponse:
        kind = state[0]
        handler = getattr(self, f"_finish_{kind}", None)
        if handler is None:
            raise SharePointError(405, NOT_SUPPORTED, f"The HTTP method '{method}' cannot be used here.")
        result = handler(ctx, state, method)
        if result is None:
            raise SharePointError(405, NOT_SUPPORTED, f"The HTTP method '{method}' cannot be used here.")
        return result

    def _ok(self, ctx: Ctx, payload: dict[str, Any]) -> ApiResponse:
        return ApiResponse.json({"d": self._select(ctx, payload)})

    def _select(self, ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
        sel = ctx.opts.select
        if not sel or "*" in sel:
            return payload
        wanted = {s.split("/")[0].lower() for s in sel}
        return {k: v for k, v in payload.items() if k == "__metadata" or k.lower() in wanted}

    def _finish_web(self, ctx: Ctx, state, method):
        site = state[1]
        if method == "GET":
            return self._ok(ctx, self._web_json(ctx, site))
        if method in ("MERGE", "PATCH", "PUT"):
            body = _strip_meta(ctx.request.json())
            for key, value in body.items():
                if key in ("Title", "Description"):
                    site[key] = value
                elif key == "AllProperties":
                    continue  # SPO ignores property bag writes over REST (reference section 5)
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

    def _finish_site(self, ctx: Ctx, state, method):
        if method == "GET":
            return self._ok(ctx, self._site_json(ctx, state[1]))
        return None

    def _finish_allprops(self, ctx: Ctx, state, method):
        site = state[1]
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

    def _finish_lists(self, ctx: Ctx, state, method):
        site = state[1]
        if method == "GET":
            lists = [self._list_json(ctx, lst) for lst in self.store.under("list", site["WebId"])]
            if any(s.lower() == "currentchangetoken" for s in ctx.opts.select):
                # SPO returns each list's token when the collection is read with $select=CurrentChangeToken
                # (not by default), so a client gets every list's token in one request.
                tail = f"{max(_ticks(), self._last_ticks)};{self.store.last_change_no()}"
                for row in lists:
                    row["CurrentChangeToken"] = {
                        "__metadata": {"type": "SP.ChangeToken"},
                        "StringValue": f"1;3;{row['Id']};{tail}",
                    }
            return self._collection_response(ctx, lists)
        if method == "POST":
            body = ctx.request.json()
            data = _unwrap(body, "parameters")
            title = data.get("Title")
            if not isinstance(title, str) or not title.strip():
                raise SharePointError(400, ARGUMENT, "A list needs a non-empty Title.")
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

    def _finish_list(self, ctx: Ctx, state, method):
        site, lst = state[1], state[2]
        if method == "GET":
            payload = self._list_json(ctx, lst)
            if any(s.lower() == "currentchangetoken" for s in ctx.opts.select):
                payload["CurrentChangeToken"] = {
                    "__metadata": {"type": "SP.ChangeToken"},
                    "StringValue": self._token(3, lst["Id"]),
                }
            return self._ok(ctx, payload)
        if method in ("MERGE", "PATCH", "PUT"):
            body = _strip_meta(ctx.request.json())
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
                if key == "Title":
                    other = self._find_list_by_title(site, str(value))
                    if other is not None and other["Id"] != lst["Id"]:
                        raise SharePointError(
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

    def _finish_rootfolder(self, ctx: Ctx, state, method):
        lst = state[2]
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

    def _finish_fields(self, ctx: Ctx, state, method):
        site, lst = state[1], state[2]
        if method == "GET":
            flds = [self._field_json(ctx, lst, f) for f in self._fields(site, lst)]
            return self._collection_response(ctx, flds, entity_filter=True)
        if method == "POST":
            body = ctx.request.json()
            if not isinstance(body, dict):
                raise bad_query("The request body must be a JSON object.")
            mtype = (body.get("__metadata") or {}).get("type", "SP.Field")
            data = _strip_meta(body)
            type_name = F.METADATA_TO_TYPE.get(mtype)
            if "FieldTypeKind" in data:
                type_name = F.KIND_TO_TYPE.get(int(data["FieldTypeKind"]), type_name)
            if type_name is None:
                raise bad_query(f"A type named '{mtype}' could not be resolved by the model.")
            if "TypeAsString" in data:
                type_name = str(data.pop("TypeAsString"))
            fld = self._add_field_from_info(site, lst, {**data, "_type": type_name})
            return ApiResponse.json({"d": self._field_json(ctx, lst, fld)}, 201)
        return None

    def _finish_field(self, ctx: Ctx, state, method):
        site, lst, fld = state[1], state[2], state[3]
        if method == "GET":
            return self._ok(ctx, self._field_json(ctx, lst, fld))
        if method in ("MERGE", "PATCH", "PUT"):
            body = _strip_meta(ctx.request.json())
            for key, value in body.items():
                if key not in F.SETTABLE:
                    raise bad_query(
                        f"The property '{key}' does not exist on type '{F.TYPES[fld['TypeAsString']][1]}' "
                        "or is read-only."
                    )
                if key == "Choices":
                    if isinstance(value, list):
                        raise bad_query(
                            "An unexpected 'StartArray' node was found; send Choices as {\"results\": [...]}."
                        )
                    value = _results(value)
                if key == "FieldTypeKind":
                    continue
                if key == "Formula":
                    F.compile_formula(str(value))
                fld[key] = value
            self.store.put("field", fld)
            if lst is not None:
                self._log(site, lst, None, 2, "Field", {"FieldId": fld["Id"]})
            return ApiResponse.empty(204)
        if method == "DELETE":
            if not fld.get("CanBeDeleted", True):
                raise SharePointError(400, SP_EXCEPTION, f"The field '{fld['Title']}' cannot be deleted.")
            self.store.delete("field", fld["_id"])
            if lst is not None:
                self._log(site, lst, None, 3, "Field", {"FieldId": fld["Id"]})
            return ApiResponse.empty(200)
        return None

    def _finish_ctypes(self, ctx: Ctx, state, method):
        site, lst = state[1], state[2]
        if method == "GET":
            cts = [self._ctype_json(ctx, lst, ct) for ct in self._ctypes(site, lst)]
            return self._collection_response(ctx, cts, entity_filter=True)
        if method == "POST":
            body = _strip_meta(ctx.request.json())
            ct_id = body.get("Id")
            if isinstance(ct_id, dict):
                ct_id = ct_id.get("StringValue")
            info = {
                "Name": body.get("Name"),
                "Description": body.get("Description"),
                "Group": body.get("Group"),
                "Id": ct_id,
            }
            ct = self._create_ctype(site, lst, info)
            self._log(site, lst, None, 1, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.json({"d": self._ctype_json(ctx, lst, ct)}, 201)
        return None

    def _finish_ctype(self, ctx: Ctx, state, method):
        site, lst, ct = state[1], state[2], state[3]
        if method == "GET":
            return self._ok(ctx, self._ctype_json(ctx, lst, ct))
        if method in ("MERGE", "PATCH"):
            body = _strip_meta(ctx.request.json())
            for key, value in body.items():
                if key not in (
                    "Name",
                    "Description",
                    "Group",
                    "Hidden",
                    "ReadOnly",
                    "Sealed",
                    "JSLink",
                    "NewFormUrl",
                    "EditFormUrl",
                    "DisplayFormUrl",
                    "DocumentTemplate",
                ):
                    raise bad_query(
                        f"The property '{key}' does not exist on type 'SP.ContentType' or is read-only."
                    )
                ct[key] = value
            self.store.put("ctype", ct)
            self._log(site, lst, None, 2, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.empty(204)
        if method == "DELETE":
            if lst is not None:
                in_use = any(
                    i.get("ContentTypeId") == ct["StringId"] for i in self.store.items(lst["Id"]).values()
                )
            else:
                in_use = any(
                    c["StringId"].startswith(ct["StringId"]) and c is not ct
                    for c in self.store.under("ctype", site["WebId"])
                )
            if in_use:
                raise SharePointError(400, SP_EXCEPTION, "The content type is in use.")
            self.store.delete("ctype", ct["_id"])
            self._log(site, lst, None, 3, "ContentType", {"ContentTypeId": ct["StringId"]})
            return ApiResponse.empty(200)
        return None

    def _finish_fieldlinks(self, ctx: Ctx, state, method):
        site, lst, ct = state[1], state[2], state[3]
        if method == "GET":
            links = [self._fieldlink_json(site, lst, ct, n) for n in ct["FieldLinks"]]
            return self._collection_response(ctx, [x for x in links if x])
        if method == "POST":
            body = _unwrap(ctx.request.json(), "parameters")
            name = body.get("FieldInternalName")
            if not name and isinstance(body.get("Field"), dict):
                name = body["Field"].get("InternalName")
            fld = self._field_by_name_or_title(site, lst, str(name or ""))
            if fld["InternalName"] not in ct["FieldLinks"]:
                ct["FieldLinks"].append(fld["InternalName"])
                self.store.put("ctype", ct)
            return ApiResponse.json({"d": self._fieldlink_json(site, lst, ct, fld["InternalName"])}, 201)
        return None

    def _finish_fieldlink(self, ctx: Ctx, state, method):
        site, lst, ct, key = state[1], state[2], state[3], state[4]
        name = None
        for n in ct["FieldLinks"]:
            link = self._fieldlink_json(site, lst, ct, n)
            if link and (link["Id"] == _guid(key) or n == key):
                name = n
        if name is None:
            raise SharePointError(
                404, ARGUMENT, f"Field link '{key}' does not exist in content type '{ct['Name']}'."
            )
        if method == "GET":
            return self._ok(ctx, self._fieldlink_json(site, lst, ct, name) or {})
        if method == "DELETE":
            ct["FieldLinks"].remove(name)
            self.store.put("ctype", ct)
            return ApiResponse.empty(200)
        return None

    def _finish_ctfields(self, ctx: Ctx, state, method):
        site, lst, ct = state[1], state[2], state[3]
        if method == "GET":
            out = []
            for n in ct["FieldLinks"]:
                fld = self._find_field(site, lst, n)
                if fld:
                    out.append(self._field_json(ctx, lst, fld))
            return self._collection_response(ctx, out)
        return None

    def _finish_views(self, ctx: Ctx, state, method):
        site, lst = state[1], state[2]
        if method == "GET":
            views = [self._view_json(ctx, lst, v) for v in self.store.under("view", lst["Id"])]
            return self._collection_response(ctx, views, entity_filter=True)
        if method == "POST":
            body = _strip_meta(ctx.request.json())
            view = self._add_view(site, lst, body)
            return ApiResponse.json({"d": self._view_json(ctx, lst, view)}, 201)
        return None

    def _finish_view(self, ctx: Ctx, state, method):
        site, lst, view = state[1], state[2], state[3]
        if method == "GET":
            payload = self._view_json(ctx, lst, view)
            if any(e.lower() == "viewfields" for e in ctx.opts.expand):
                payload["ViewFields"] = self._view_fields_json(ctx, lst, view)
            return self._ok(ctx, payload)
        if method in ("MERGE", "PATCH"):
            body = _strip_meta(ctx.request.json())
            for key, value in body.items():
                if key not in (
                    "Title",
                    "RowLimit",
                    "ViewQuery",
                    "Paged",
                    "Hidden",
                    "DefaultView",
                    "JSLink",
                    "Scope",
                    "Toolbar",
                    "ViewData",
                    "ViewJoins",
                    "ViewProjectedFields",
                    "TabularView",
                    "IncludeRootFolder",
                    "CustomFormatter",
                    "MobileView",
                    "MobileDefaultView",
                ):
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
                raise SharePointError(400, SP_EXCEPTION, "The default view of a list cannot be deleted.")
            self.store.delete("view", view["_id"])
            return ApiResponse.empty(200)
        return None

    def _finish_viewfields(self, ctx: Ctx, state, method):
        view = state[3]
        if method == "GET":
            return self._ok(ctx, self._view_fields_json(ctx, state[2], view))
        return None

    def _view_fields_json(self, ctx: Ctx, lst, view: dict[str, Any]) -> dict[str, Any]:
        names = view["ViewFields"]
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Views(guid'{view['Id']}')/ViewFields"
        xml = '<FieldRef Name="' + '" /><FieldRef Name="'.join(names) + '" />' if names else ""
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.ViewFieldCollection"},
            "SchemaXml": xml,
            "Items": _collection(list(names)),
        }

    def _finish_users(self, ctx: Ctx, state, method):
        site = state[1]
        if method == "GET":
            users = [self._user_json(ctx, u) for u in self.store.under("user", site["Id"])]
            return self._collection_response(ctx, users, entity_filter=True)
        if method == "POST":
            body = _strip_meta(ctx.request.json())
            login = body.get("LoginName")
            if not login:
                raise SharePointError(400, ARGUMENT, "A user needs a LoginName.")
            return ApiResponse.json({"d": self._user_json(ctx, self._ensure_user(site, str(login)))}, 201)
        return None

    def _finish_user(self, ctx: Ctx, state, method):
        if method == "GET":
            return self._ok(ctx, self._user_json(ctx, state[2]))
        return None

    def _finish_hubsites(self, ctx: Ctx, state, method):
        if method == "GET":
            hubs = [self._hub_json(ctx, s) for s in self._sites() if s["IsHubSite"]]
            return self._collection_response(ctx, hubs)
        return None

    def _finish_hub(self, ctx: Ctx, state, method):
        if method == "GET":
            return self._ok(ctx, self._hub_json(ctx, state[1]))
        return None

    def _finish_items(self, ctx: Ctx, state, method):
        lst = state[2]
        if method == "GET":
            return self._query_items(ctx, lst)
        if method == "POST":
            item = self._create_item(ctx, lst, ctx.request.json())
            return ApiResponse.json({"d": self._item_json(ctx, lst, item)}, 201)
        return None

    def _finish_item(self, ctx: Ctx, state, method):
        site, lst, item = state[1], state[2], state[3]
        if method == "GET":
            return ApiResponse.json({"d": self._item_json(ctx, lst, item, ctx.opts)})
        if method in ("MERGE", "PATCH", "PUT"):
            self._update_item(ctx, lst, item, ctx.request.json())
            return ApiResponse.empty(204)
        if method == "DELETE":
            self.store.delete_item(lst["Id"], item["ID"])
            self._touch_list(lst)
            self._log(site, lst, item["ID"], 3, "Item")
            return ApiResponse.empty(200)
        return None

    # ================================================================== collections
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
                rows.sort(
                    key=lambda r, k=key: (
                        r.get(k) is not None,
                        str(r.get(k)) if not isinstance(r.get(k), (int, float)) else r.get(k),
                    ),
                    reverse=desc,
                )
        if opts.top is not None:
            rows = rows[: opts.top]
        return ApiResponse.json({"d": {"results": [self._select(ctx, r) for r in rows]}})

    # ================================================================== lists
    def _find_list_by_title(self, site: dict[str, Any], title: str) -> dict[str, Any] | None:
        low = title.lower()
        for lst in self.store.under("list", site["WebId"]):
            if lst["Title"].lower() == low:
                return lst
        return None

    def _list_missing(self, ctx: Ctx, title: str) -> SharePointError:
        return SharePointError(
            404, LIST_MISSING, f"List '{title}' does not exist at site with URL '{ctx.site_url}'."
        )

    def _list_by_title(self, ctx: Ctx, title: str) -> dict[str, Any]:
        lst = self._find_list_by_title(ctx.site, title)
        if lst is None:
            raise self._list_missing(ctx, title)
        return lst

    def _list_by_id(self, ctx: Ctx, list_id: Any) -> dict[str, Any]:
        lst = self.store.get("list", _guid(list_id))
        if lst is None or lst["_parent"] != ctx.site["WebId"]:
            raise SharePointError(
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
        raise SharePointError(
            404, "-2147024894, System.IO.FileNotFoundException", f"List '{url}' does not exist."
        )

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
            raise SharePointError(
                500,
                DUPLICATE,
                "A list, survey, discussion board, or document library with the "
                "specified title already exists in this Web site.  Please choose another title.",
            )
        if template not in (100, 101, 103, 104, 105, 106, 107, 108, 119, 171):
            raise SharePointError(
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
        now = _iso(_now())
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
        if template in (107, 171):
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
        # The template's base view (BaseViewID 1): its fields are also what a view created without
        # ViewFields gets.
        if template in LIBRARY_TEMPLATES:
            lst["BaseViewFields"] = ["DocIcon", "LinkFilename", "Modified", "Editor"]
        elif template in (107, 171):
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
        lst["LastItemModifiedDate"] = _iso(_now())
        self.store.put("list", lst)

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

    # ================================================================== fields
    _BUILTIN: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
        # (type, title, internal, extra)
        ("Counter", "ID", "ID", {"ReadOnlyField": True, "CanBeDeleted": False}),
        ("Text", "Title", "Title", {"Required": True}),
        ("ContentTypeId", "Content Type ID", "ContentTypeId", {"ReadOnlyField": True, "Hidden": True}),
        ("Computed", "Content Type", "ContentType", {"ReadOnlyField": True}),
        ("DateTime", "Modified", "Modified", {"ReadOnlyField": True}),
        ("DateTime", "Created", "Created", {"ReadOnlyField": True}),
        ("User", "Created By", "Author", {"ReadOnlyField": True}),
        ("User", "Modified By", "Editor", {"ReadOnlyField": True}),
        ("Attachments", "Attachments", "Attachments", {"ReadOnlyField": True}),
        ("Guid", "GUID", "GUID", {"ReadOnlyField": True, "Hidden": True}),
        ("Computed", "Title", "LinkTitle", {"ReadOnlyField": True}),
        ("Computed", "Title", "LinkTitleNoMenu", {"ReadOnlyField": True}),
        ("Computed", "Edit", "Edit", {"ReadOnlyField": True}),
        ("Computed", "Type", "DocIcon", {"ReadOnlyField": True}),
        ("Computed", "Name", "LinkFilename", {"ReadOnlyField": True}),
    )

    def _seed_fields(
        self, site: dict[str, Any], parent: str, builtin_only: bool, library: bool = False
    ) -> None:
        for ftype, title, internal, extra in self._BUILTIN:
            if library and internal == "Title":
                extra = {**extra, "Required": False}
            extra = {"CanBeDeleted": False, **extra}
            fld = F.new_field(
                ftype,
                title,
                internal,
                Group="_Hidden" if extra.get("Hidden") else "Base Columns",
                FromBaseType=True,
                Sealed=True,
                **extra,
            )
            fld["Id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"builtin:{internal}"))
            fld["_id"] = f"{parent}:{fld['Id']}"
            fld["_parent"] = parent
            self.store.put("field", fld)
        if library:
            for title, internal in (("Name", "FileLeafRef"), ("URL Path", "FileRef")):
                fld = F.new_field(
                    "Text",
                    title,
                    internal,
                    ReadOnlyField=internal == "FileRef",
                    FromBaseType=True,
                    CanBeDeleted=False,
                )
                fld["Id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"builtin:{internal}"))
                fld["_id"], fld["_parent"] = f"{parent}:{fld['Id']}", parent
                self.store.put("field", fld)

    def _fields(self, site: dict[str, Any], lst: dict[str, Any] | None) -> list[dict[str, Any]]:
        return self.store.under("field", lst["Id"] if lst else site["WebId"])

    def _find_field(
        self, site: dict[str, Any], lst: dict[str, Any] | None, name: str
    ) -> dict[str, Any] | None:
        low = name.lower()
        flds = self._fields(site, lst)
        for fld in flds:
            if fld["InternalName"].lower() == low:
                return fld
        for fld in flds:
            if fld["Title"].lower() == low:
                return fld
        return None

    def _field_missing(self, name: str) -> SharePointError:
        return SharePointError(
            404, ARGUMENT, f"Column '{name}' does not exist. It may have been deleted by another user."
        )

    def _field_by_title(self, site, lst, title: str) -> dict[str, Any]:
        for fld in self._fields(site, lst):
            if fld["Title"].lower() == title.lower():
                return fld
        raise self._field_missing(title)

    def _field_by_name_or_title(self, site, lst, name: str) -> dict[str, Any]:
        fld = self._find_field(site, lst, name)
        if fld is None:
            raise self._field_missing(name)
        return fld

    def _field_by_id(self, site, lst, field_id: Any) -> dict[str, Any]:
        key = _guid(field_id)
        for fld in self._fields(site, lst):
            if fld["Id"] == key:
                return fld
        raise SharePointError(404, ARGUMENT, f"Invalid field name. {{{key}}}  {ctx_url(site)} ")

    def _field_by_entity(self, lst: dict[str, Any], key: str) -> dict[str, Any] | None:
        return self._entity_map(lst).get(key)

    def _entity_map(self, lst: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {f["EntityPropertyName"]: f for f in self.store.under("field", lst["Id"])}

    def _store_field(self, site, lst, fld: dict[str, Any]) -> dict[str, Any]:
        parent = lst["Id"] if lst else site["WebId"]
        existing = self._fields(site, lst)
        if any(f["Id"] == fld["Id"] for f in existing):
            raise SharePointError(
                500,
                DUPLICATE,
                f"A field with ID '{fld['Id']}' already exists in this {'list' if lst else 'site'}.",
            )
        fld["_id"] = f"{parent}:{fld['Id']}"
        fld["_parent"] = parent
        if fld["TypeAsString"] in ("Lookup", "LookupMulti") and fld.get("LookupList"):
            fld["LookupList"] = "{" + _guid(fld["LookupList"]) + "}"
        if fld["TypeAsString"] == "Calculated":
            names = {f["InternalName"] for f in existing}
            for ref in F.formula_names(fld.get("Formula") or ""):
                if ref not in names:
                    raise SharePointError(
                        400,
                        "-2130575245, Microsoft.SharePoint.SPException",
                        f"The formula refers to a column that does not exist: '{ref}'. Check the "
                        "formula for spelling mistakes or change the column to an existing one.",
                    )
        self.store.put("field", fld)
        if fld["TypeAsString"].startswith("Taxonomy") and lst is not None and not fld.get("TextField"):
            note = F.new_field(
                "Note",
                f"{fld['InternalName']}_0",
                uuid.uuid4().hex[:32].replace("-", ""),
                Hidden=True,
                CanBeDeleted=True,
            )
            note["_id"], note["_parent"] = f"{parent}:{note['Id']}", parent
            self.store.put("field", note)
            fld["TextField"] = note["Id"]
            self.store.put("field", fld)
        if lst is not None:
            self._log(site, lst, None, 1, "Field", {"FieldId": fld["Id"]})
        return fld

    def _add_field_from_info(self, site, lst, info: dict[str, Any]) -> dict[str, Any]:
        title = info.get("Title")
        if not isinstance(title, str) or not title:
            raise SharePointError(400, ARGUMENT, "A field needs a Title.")
        type_name = info.pop("_type", None)
        if type_name is None:
            kind = info.get("FieldTypeKind")
            type_name = F.KIND_TO_TYPE.get(int(kind)) if kind is not None else None
        if type_name is None:
            raise SharePointError(
                400, ARGUMENT, f"FieldTypeKind {info.get('FieldTypeKind')} is not supported."
            )
        props: dict[str, Any] = {}
        for key, value in info.items():
            if key in ("Title", "FieldTypeKind", "TypeAsString"):
                continue
            if key == "Choices":
                if isinstance(value, list):
                    raise bad_query(
                        "An unexpected 'StartArray' node was found; send Choices as {\"results\": [...]}."
                    )
                props["Choices"] = _results(value)
            elif key == "LookupListId":
                props["LookupList"] = value
            elif key == "LookupFieldName":
                props["LookupField"] = value
            elif (
                key
                in (
                    "IsCompactName",
                    "ClientSideComponentId",
                    "ClientSideComponentProperties",
                    "CustomFormatter",
                    "StaticName",
                    "DefaultFormula",
                    "ValidationFormula",
                    "ValidationMessage",
                )
                or key in F.SETTABLE
            ):
                if key not in ("IsCompactName",):
                    props[key] = value
            else:
                raise bad_query(f"The property '{key}' does not exist on type 'SP.FieldCreationInformation'.")
        if type_name == "Lookup" and props.get("AllowMultipleValues"):
            type_name = "LookupMulti"
        if type_name == "User" and props.get("AllowMultipleValues"):
            type_name = "UserMulti"
        if type_name == "Calculated":
            F.compile_formula(str(props.get("Formula") or ""))
        taken = {f["InternalName"] for f in self._fields(site, lst)}
        name = unique_internal_name(F.field_internal_name(title), taken)
        fld = F.new_field(type_name, title, name, **props)
        if type_name in ("Lookup", "LookupMulti"):
            self._check_lookup_target(site, fld)
        return self._store_field(site, lst, fld)

    def _add_field_from_xml(self, site, lst, xml: str, options: int) -> dict[str, Any]:
        fld, attrs = F.from_schema_xml(xml)
        taken = {f["InternalName"] for f in self._fields(site, lst)}
        use_title = bool(options & 8) and not attrs.get("Name") and False
        del use_title
        if fld["InternalName"].lower() in {t.lower() for t in taken}:
            raise SharePointError(
                500, DUPLICATE, f'A duplicate field name "{fld["InternalName"]}" was found.'
            )
        if fld["TypeAsString"] in ("Lookup", "LookupMulti"):
            target = attrs.get("List", "")
            if target and not _looks_like_guid(target):
                found = self._find_list_by_title(site, target) or next(
                    (
                        x
                        for x in self.store.under("list", site["WebId"])
                        if target.lower().rstrip("/").endswith(x["UrlLeaf"].lower())
                    ),
                    None,
                )
                if found is None:
                    raise SharePointError(400, SP_EXCEPTION, f"The lookup list '{target}' does not exist.")
                target = found["Id"]
            fld["LookupList"] = target
            if fld.get("IsDependentLookup"):
                primary = next((f for f in self._fields(site, lst) if f["Id"] == fld["PrimaryFieldId"]), None)
                if primary is None:
                    raise SharePointError(
                        400,
                        SP_EXCEPTION,
                        f"The primary lookup field {fld['PrimaryFieldId']} "
                        "of a dependent lookup does not exist.",
                    )
                fld["LookupList"] = primary.get("LookupList")
            self._check_lookup_target(site, fld)
        if fld["TypeAsString"] == "Calculated":
            refs = fld.pop("FieldRefs", [])
            del refs
        return self._store_field(site, lst, fld)

    def _add_dependent_lookup(self, site, lst, primary, title: str, show_field: str) -> dict[str, Any]:
        taken = {f["InternalName"] for f in self._fields(site, lst)}
        name = unique_internal_name(F.field_internal_name(f"{primary['InternalName']}_{show_field}"), taken)
        fld = F.new_field(
            "Lookup",
            title,
            name,
            LookupList=primary.get("LookupList"),
            LookupField=show_field,
            IsDependentLookup=True,
            PrimaryFieldId=primary["Id"],
            ReadOnlyField=True,
        )
        return self._store_field(site, lst, fld)

    def _check_lookup_target(self, site, fld: dict[str, Any]) -> None:
        target = _guid(fld.get("LookupList"))
        if not target:
            return
        if self.store.get("list", target) is None:
            raise SharePointError(
                400, SP_EXCEPTION, f"The lookup list {{{target}}} does not exist on this site."
            )

    def _field_json(self, ctx: Ctx, lst: dict[str, Any] | None, fld: dict[str, Any]) -> dict[str, Any]:
        base = f"{ctx.api}Web/Lists(guid'{lst['Id']}')" if lst else f"{ctx.api}Web"
        uri = f"{base}/Fields(guid'{fld['Id']}')"
        out: dict[str, Any] = {"__metadata": {"id": uri, "uri": uri, "type": F.TYPES[fld["TypeAsString"]][1]}}
        for key, value in fld.items():
            if key.startswith("_") or key in ("FieldRefs",):
                continue
            if key == "Choices":
                value = _collection(list(value))
            out[key] = value
        out["SchemaXml"] = F.schema_xml(fld)
        if F.is_user(fld):
            out["LookupList"] = ""
        if fld["TypeAsString"] == "Calculated":
            out["DateFormat"] = 0
        return out

    # ================================================================== content types
    def _ctypes(self, site, lst) -> list[dict[str, Any]]:
        return self.store.under("ctype", lst["Id"] if lst else site["WebId"])

    def _ctype(self, site, lst, ct_id: str) -> dict[str, Any]:
        for ct in self._ctypes(site, lst):
            if ct["StringId"].lower() == str(ct_id).lower():
                return ct
        raise SharePointError(404, ARGUMENT, f"Content type '{ct_id}' does not exist.")

    def _create_ctype(self, site, lst, info: dict[str, Any]) -> dict[str, Any]:
        name = info.get("Name")
        if not name:
            raise SharePointError(400, ARGUMENT, "A content type needs a Name.")
        parent = lst["Id"] if lst else site["WebId"]
        existing = self._ctypes(site, lst)
        if any(c["Name"].lower() == str(name).lower() for c in existing):
            raise SharePointError(
                500,
                "-2130575342, Microsoft.SharePoint.SPException",
                f'A duplicate content type "{name}" was found.',
            )
        ct_id = info.get("Id")
        if not ct_id:
            parent_id = info.get("ParentId") or "0x01"
            ct_id = f"{parent_id}00{uuid.uuid4().hex.upper()}"
        ct_id = str(ct_id)
        if not ct_id.lower().startswith("0x") or any(
            c["StringId"].lower() == ct_id.lower() for c in existing
        ):
            raise SharePointError(
                500,
                DUPLICATE if ct_id.lower().startswith("0x") else ARGUMENT,
                f"A duplicate content type ID or an invalid ID was given: '{ct_id}'.",
            )
        parent_ct = None
        for c in sorted(existing, key=lambda c: -len(c["StringId"])):
            if ct_id.lower().startswith(c["StringId"].lower()) and ct_id.lower() != c["StringId"].lower():
                parent_ct = c
                break
        if parent_ct is None:
            raise SharePointError(400, SP_EXCEPTION, f"The parent of content type '{ct_id}' does not exist.")
        ct = {
            "_id": f"{parent}:{ct_id}",
            "_parent": parent,
            "StringId": ct_id,
            "Name": name,
            "Description": info.get("Description") or "",
            "Group": info.get("Group") or "Custom Content Types",
            "Hidden": False,
            "ReadOnly": False,
            "Sealed": False,
            "FieldLinks": list(parent_ct["FieldLinks"]),
        }
        self.store.put("ctype", ct)
        return ct

    def _add_list_ctype(self, site, lst, ct_id: str, log: bool = True) -> dict[str, Any]:
        site_ct = self._ctype(site, None, ct_id)
        for ct in self._ctypes(site, lst):
            if ct.get("Parent") == site_ct["StringId"]:
                raise SharePointError(
                    500, DUPLICATE, f'A duplicate content type "{site_ct["Name"]}" was found.'
                )
        list_ct_id = f"{site_ct['StringId']}00{uuid.uuid4().hex.upper()}"
        for name in site_ct["FieldLinks"]:
            if self._find_field(site, lst, name) is None:
                site_field = self._find_field(site, None, name)
                if site_field is not None:
                    copy = {k: v for k, v in site_field.items() if not k.startswith("_")}
                    self._store_field(site, lst, copy)
        ct = {
            **{k: v for k, v in site_ct.items() if not k.startswith("_")},
            "_id": f"{lst['Id']}:{list_ct_id}",
            "_parent": lst["Id"],
            "StringId": list_ct_id,
            "Parent": site_ct["StringId"],
            "FieldLinks": list(site_ct["FieldLinks"]),
        }
        self.store.put("ctype", ct)
        if log:
            self._log(site, lst, None, 2, "ContentType", {"ContentTypeId": list_ct_id})
        return ct

    def _ctype_json(self, ctx: Ctx, lst, ct: dict[str, Any]) -> dict[str, Any]:
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

    def _fieldlink_json(self, site, lst, ct, name: str) -> dict[str, Any] | None:
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

    # ================================================================== views
    def _view_by_id(self, lst, view_id: Any) -> dict[str, Any]:
        view = self.store.get("view", _guid(view_id))
        if view is None or view["_parent"] != lst["Id"]:
            raise SharePointError(
                404, ARGUMENT, f"The view {view_id} does not exist in list '{lst['Title']}'."
            )
        return view

    def _check_view_field(self, site, lst, name: str) -> None:
        if self._find_field(site, lst, name) is None:
            raise self._field_missing(name)

    def _add_view(self, site, lst, info: dict[str, Any], url_name: str | None = None) -> dict[str, Any]:
        title = info.get("Title")
        if not title:
            raise SharePointError(400, ARGUMENT, "A view needs a Title.")
        fields_in = info.get("ViewFields")
        names = (
            [str(x) for x in _results(fields_in)]
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

    def _view_json(self, ctx: Ctx, lst, view: dict[str, Any]) -> dict[str, Any]:
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

    # ================================================================== users
    def _ensure_user(self, site: dict[str, Any], login: str, title: str | None = None) -> dict[str, Any]:
        login = login.strip()
        email = login.split("|")[-1] if "|" in login else login
        full_login = login if "|" in login else f"i:0#.f|membership|{login.lower()}"
        for user in self.store.under("user", site["Id"]):
            if user["LoginName"].lower() == full_login.lower() or (
                "@" in email and str(user["Email"]).lower() == email.lower()
            ):
                return user
        if "@" not in email and "|" not in login:
            raise SharePointError(
                404,
                "-2146232832, Microsoft.SharePoint.SPException",
                f"The specified user {login} could not be found.",
            )
        user_id = site["NextUserId"]
        site["NextUserId"] = user_id + 1
        self.store.put("site", site)
        local = email.split("@")[0]
        user = {
            "_id": f"{site['Id']}:{user_id}",
            "_parent": site["Id"],
            "Id": user_id,
            "Title": title or " ".join(p.capitalize() for p in local.replace("_", ".").split(".")),
            "Email": email if "@" in email and not login.startswith("i:0i.t") else "",
            "LoginName": full_login,
            "IsSiteAdmin": False,
            "PrincipalType": 1,
            "IsHiddenInUI": False,
            "UserPrincipalName": email if "@" in email and not login.startswith("i:0i.t") else None,
        }
        self.store.put("user", user)
        self._log(site, None, None, 1, "User", {"UserId": user_id})
        return user

    def _user_by_id(self, site, user_id: Any) -> dict[str, Any]:
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            key = -1
        user = self.store.get("user", f"{site['Id']}:{key}")
        if user is None:
            raise SharePointError(
                404, "-2146232832, Microsoft.SharePoint.SPException", "User cannot be found."
            )
        return user

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

    # ================================================================== hubs and site admin
    def _hub_by_id(self, hub_id: str) -> dict[str, Any]:
        site = self.store.get("site", hub_id)
        if site is None or not site["IsHubSite"]:
            raise SharePointError(
                404, "-1, System.IO.FileNotFoundException", f"Hub site with ID '{hub_id}' was not found."
            )
        return site

    def _register_hub(self, site: dict[str, Any]) -> dict[str, Any]:
        if site["IsHubSite"]:
            raise SharePointError(
                400, "-1, System.InvalidOperationException", "This site is already a HubSite."
            )
        site["IsHubSite"] = True
        site["HubSiteId"] = site["Id"]
        self.store.put("site", site)
        return site

    def _unregister_hub(self, site: dict[str, Any]) -> None:
        if not site["IsHubSite"]:
            raise SharePointError(400, "-1, System.InvalidOperationException", "This site is not a HubSite.")
        site["IsHubSite"] = False
        site["HubSiteId"] = ZERO_GUID
        self.store.put("site", site)
        for other in self._sites():
            if other["HubSiteId"] == site["Id"]:
                other["HubSiteId"] = ZERO_GUID
                self.store.put("site", other)

    def _join_hub(self, site: dict[str, Any], hub_id: str) -> None:
        if site["IsHubSite"]:
            raise SharePointError(
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

    def _site_from_url(self, ctx: Ctx, url: str) -> dict[str, Any]:
        path = urlsplit(url).path if "://" in url else url
        site = self._site_by_path(path)
        if site is None:
            raise SharePointError(404, NO_SITE, f"Cannot get site {url}.")
        return site

    def _site_manager_create(self, ctx: Ctx, req: dict[str, Any]) -> dict[str, Any]:
        url = str(req.get("Url") or "")
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        segs = [p for p in path.split("/") if p]
        if len(segs) != 2 or segs[0].lower() not in ("sites", "teams"):
            raise SharePointError(400, ARGUMENT, f"The site URL '{url}' must look like <host>/sites/<alias>.")
        if not req.get("Owner"):
            raise SharePointError(
                400,
                "-1, System.ArgumentException",
                "Owner is required when creating a site with an app-only token.",
            )
        template = str(req.get("WebTemplate") or "SITEPAGEPUBLISHING#0")
        if template not in TEMPLATES:
            raise SharePointError(
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
            "LastItemModifiedDate": _iso(_now()),
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

    # ================================================================== items
    def _item(self, ctx: Ctx, lst: dict[str, Any], item_id: Any) -> dict[str, Any]:
        try:
            key = int(item_id)
        except (TypeError, ValueError) as exc:
            raise bad_query(f"Invalid item id '{item_id}'.") from exc
        item = self.store.items(lst["Id"]).get(key)
        if item is None:
            raise SharePointError(
                404, ARGUMENT, "Item does not exist. It may have been deleted by another user."
            )
        return item

    def _list_ctype_for(self, site, lst, ct_id: Any) -> str:
        cts = self._ctypes(site, lst)
        if ct_id is None:
            return cts[0]["StringId"] if cts else "0x01"
        ct_id = str(ct_id)
        for ct in cts:
            if ct["StringId"].lower() == ct_id.lower():
                return ct["StringId"]
        for ct in cts:
            if ct.get("Parent", "").lower() == ct_id.lower():
                return ct["StringId"]
        raise SharePointError(
            400,
            SP_EXCEPTION,
            f"Content type '{ct_id}' is not available on list "
            f"'{lst['Title']}'; add it with AddAvailableContentType first.",
        )

    def _apply_values(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], body: dict[str, Any], entity: str
    ) -> None:
        """Validate and apply written properties to ``item`` (in place)."""
        site = ctx.site
        emap = self._entity_map(lst)
        note_to_tax = {f["TextField"]: f for f in emap.values() if f.get("TextField")}
        for key, value in body.items():
            if key == "__metadata":
                continue
            fld = emap.get(key)
            if key == "ContentTypeId":
                item["ContentTypeId"] = self._list_ctype_for(site, lst, value)
                continue
            if key in (
                "Id",
                "ID",
                "Created",
                "Modified",
                "AuthorId",
                "EditorId",
                "GUID",
                "Attachments",
                "FileSystemObjectType",
                "OData__UIVersionString",
                "ServerRedirectedEmbedUri",
                "ServerRedirectedEmbedUrl",
                "ContentType",
            ):
                continue  # read-only system properties are ignored like SPO does
            if fld is None and key.endswith("Id"):
                lk = emap.get(key[:-2])
                if lk is not None and F.is_lookup(lk):
                    if lk.get("IsDependentLookup") or lk.get("ReadOnlyField"):
                        raise bad_query(f"The property '{key}' is read-only (dependent lookup).")
                    converted = F.convert(lk, value, key)
                    self._check_lookup_values(ctx, lk, converted, key)
                    item[lk["InternalName"]] = converted
                    continue
            if fld is None and key.endswith("StringId"):
                lk = emap.get(key[:-8])
                if lk is not None and F.is_user(lk):
                    if isinstance(value, dict):
                        value = {"results": [int(v) for v in _results(value)]}
                    elif value is not None:
                        value = int(value)
                    converted = F.convert(lk, value, key)
                    self._check_lookup_values(ctx, lk, converted, key)
                    item[lk["InternalName"]] = converted
                    continue
            if fld is None:
                raise bad_query(
                    f"The property '{key}' does not exist on type '{entity}'. Make sure to only use "
                    "property names that are defined by the type."
                )
            if fld["Id"] in note_to_tax:
                tax = note_to_tax[fld["Id"]]
                terms = F.parse_taxonomy_text(str(value or ""))
                if not F.is_multi(tax) and len(terms) > 1:
                    raise SharePointError(400, F.VALIDATION, f"Field '{tax['Title']}' takes a single term.")
                item[tax["InternalName"]] = (
                    (terms or None) if F.is_multi(tax) else (terms[0] if terms else None)
                )
                continue
            if F.is_lookup(fld):
                raise bad_query(
                    f"A primitive value was specified for navigation property '{key}'; write lookup and "
                    f"person values as '{key}Id'."
                )
            if fld.get("ReadOnlyField") or fld["TypeAsString"] in ("Calculated", "Computed", "Counter"):
                raise bad_query(f"The property '{key}' cannot be set; it is read-only.")
            item[fld["InternalName"]] = F.convert(fld, value, key)

    def _check_lookup_values(self, ctx: Ctx, fld: dict[str, Any], value: Any, key: str) -> None:
        ids = value if isinstance(value, list) else ([value] if value is not None else [])
        if not ids:
            return
        if F.is_user(fld):
            for uid in ids:
                if self.store.get("user", f"{ctx.site['Id']}:{uid}") is None:
                    raise SharePointError(
                        400,
                        SP_EXCEPTION,
                        f"The user with ID {uid} in '{key}' does not exist on "
                        "this site; resolve people with EnsureUser first.",
                    )
            return
        target = _guid(fld.get("LookupList"))
        if not target or self.store.get("list", target) is None:
            return
        items = self.store.items(target)
        for lid in ids:
            if lid not in items:
                raise SharePointError(
                    400, SP_EXCEPTION, f"The lookup value {lid} in '{key}' does not exist in the target list."
                )

    def _finalize(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], creating: bool, require: bool = True
    ) -> None:
        """Defaults, required checks (unless ``require`` is False) and calculated values."""
        flds = self.store.under("field", lst["Id"])
        for fld in flds:
            name = fld["InternalName"]
            if fld.get("FromBaseType") and name != "Title":
                continue
            if creating and item.get(name) is None and fld.get("DefaultValue") not in (None, ""):
                item[name] = self._default_value(fld)
            if (
                require
                and fld.get("Required")
                and item.get(name) in (None, "", [])
                and fld["TypeAsString"] not in ("Calculated", "Computed")
            ):
                raise SharePointError(
                    400,
                    F.VALIDATION,
                    f"Field '{fld['Title']}' ({name}) is required on list '{lst['Title']}'; give it a value.",
                )
        for fld in flds:
            if fld["TypeAsString"] == "Calculated":
                item[fld["InternalName"]] = F.evaluate_formula(fld.get("Formula") or "", item)

    def _default_value(self, fld: dict[str, Any]) -> Any:
        raw = fld.get("DefaultValue")
        t = fld["TypeAsString"]
        if t == "Boolean":
            return str(raw) in ("1", "true", "True", "TRUE")
        if t in ("Number", "Currency", "Integer"):
            try:
                v = float(raw)
                return int(v) if v.is_integer() else v
            except (TypeError, ValueError):
                return None
        if t == "DateTime":
            if str(raw).lower() == "[today]":
                return _now().strftime("%Y-%m-%dT00:00:00Z")
            return None
        if t == "MultiChoice":
            return [c for c in str(raw).split(";#") if c]
        if t in ("Text", "Note", "Choice"):
            return str(raw)
        return None

    def _create_item(self, ctx: Ctx, lst: dict[str, Any], body: Any, require: bool = True) -> dict[str, Any]:
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        if not isinstance(body, dict):
            raise bad_query("The request body must be a JSON object describing the item.")
        mtype = (
            (body.get("__metadata") or {}).get("type") if isinstance(body.get("__metadata"), dict) else None
        )
        if mtype != entity:
            raise bad_query(
                f"A type named '{mtype}' could not be resolved by the model. When a model is available, "
                f"each type name must resolve to a valid type. List '{lst['Title']}' expects "
                f"__metadata.type '{entity}' (read ListItemEntityTypeFullName)."
            )
        site = ctx.site
        user = self._ensure_user(site, APP_LOGIN, title="SharePoint App")
        item_id = int(lst["NextItemId"])
        now = _iso(_now())
        item: dict[str, Any] = {
            "ID": item_id,
            "Created": now,
            "Modified": now,
            "Author": user["Id"],
            "Editor": user["Id"],
            "GUID": str(uuid.uuid4()),
            "Version": 1,
            "ContentTypeId": self._list_ctype_for(site, lst, None),
        }
        self._apply_values(ctx, lst, item, body, entity)
        self._finalize(ctx, lst, item, creating=True, require=require)
        lst["NextItemId"] = item_id + 1
        lst["LastItemModifiedDate"] = now
        self.store.put("list", lst)
        self.store.put_item(lst["Id"], item)
        self._log(site, lst, item_id, 1, "Item")
        return item

    def _update_item(
        self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any], body: Any, system: bool = False
    ) -> dict[str, Any]:
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        if not isinstance(body, dict):
            raise bad_query("The request body must be a JSON object.")
        meta = body.get("__metadata")
        if isinstance(meta, dict) and meta.get("type") not in (None, entity):
            raise bad_query(
                f"A type named '{meta.get('type')}' could not be resolved by the model. List "
                f"'{lst['Title']}' expects __metadata.type '{entity}'."
            )
        updated = dict(item)
        self._apply_values(ctx, lst, updated, body, entity)
        self._finalize(ctx, lst, updated, creating=False)
        if not system:
            user = self._ensure_user(ctx.site, APP_LOGIN, title="SharePoint App")
            now = _now()
            stamp = _iso(now)
            if stamp <= item["Modified"]:  # keep Modified strictly increasing within a second
                stamp = item["Modified"]
            updated["Modified"] = _iso(now) if _iso(now) > item["Modified"] else stamp
            updated["Editor"] = user["Id"]
            updated["Version"] = int(item.get("Version", 1)) + 1
        self.store.put_item(lst["Id"], updated)
        self._touch_list(lst)
        self._log(ctx.site, lst, item["ID"], 15 if system else 2, "Item")
        return updated

    def _validate_update(self, ctx: Ctx, lst, item) -> ApiResponse:
        body = _strip_meta(ctx.request.json())
        values = _results(body.get("formValues"))
        emap = self._entity_map(lst)
        results = []
        patch: dict[str, Any] = {}
        for fv in values:
            name, raw = fv.get("FieldName"), fv.get("FieldValue")
            fld = emap.get(name) or self._find_field(ctx.site, lst, str(name))
            entry = {
                "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                "ErrorCode": 0,
                "ErrorMessage": None,
                "FieldName": name,
                "FieldValue": raw,
                "HasException": False,
                "ItemId": item["ID"],
            }
            if fld is None:
                entry.update(
                    HasException=True, ErrorCode=-2147024809, ErrorMessage=f"Column '{name}' does not exist."
                )
            elif fld["InternalName"] in ("Modified", "Created"):
                patch[fld["InternalName"]] = raw
            else:
                try:
                    patch[fld["EntityPropertyName"] + ("Id" if F.is_lookup(fld) else "")] = self._form_value(
                        fld, raw
                    )
                except SharePointError as exc:
                    entry.update(HasException=True, ErrorCode=-1, ErrorMessage=exc.message)
            results.append(entry)
        if not any(r["HasException"] for r in results):
            system = {k: patch.pop(k) for k in ("Modified", "Created") if k in patch}
            updated = self._update_item(ctx, lst, item, patch, system=bool(body.get("bNewDocumentUpdate")))
            for key, raw in system.items():
                if raw:
                    updated[key] = F.convert(F.new_field("DateTime", key), _form_date(str(raw)), key)
            self.store.put_item(lst["Id"], updated)
        return ApiResponse.json(
            {
                "d": {
                    "ValidateUpdateListItem": {
                        "__metadata": {"type": "Collection(SP.ListItemFormUpdateValue)"},
                        "results": results,
                    }
                }
            }
        )

    def _form_value(self, fld: dict[str, Any], raw: Any) -> Any:
        t = fld["TypeAsString"]
        if raw in (None, ""):
            return None
        raw = str(raw)
        if t in ("Number", "Currency", "Integer"):
            return float(raw.replace(",", ".")) if raw else None
        if t == "Boolean":
            return raw.lower() in ("1", "true", "yes", "ja")
        if t == "MultiChoice":
            return {"results": [v for v in raw.split(";#") if v]}
        if t in ("Lookup", "User"):
            return int(raw.split(";#")[0])
        if t in ("LookupMulti", "UserMulti"):
            return {"results": [int(v) for v in raw.split(";#")[::2] if v]}
        if t == "DateTime":
            return _form_date(raw)
        return raw

    # ------------------------------------------------------------------ item output
    def _wss_id(self, site: dict[str, Any], term_guid: str) -> int:
        wss = site.setdefault("Wss", {})
        if term_guid not in wss:
            wss[term_guid] = site.get("NextWss", 1)
            site["NextWss"] = wss[term_guid] + 1
            self.store.put("site", site)
        return int(wss[term_guid])

    def _tax_value(self, site, term: dict[str, str]) -> dict[str, Any]:
        wss = self._wss_id(site, term["TermGuid"])
        # SPO's REST item payload carries the WssId (as text) in Label; the label itself is in the hidden
        # note field <name>_0 ("Label|TermGuid") — see the report for this choice.
        return {
            "__metadata": {"type": "SP.Taxonomy.TaxonomyFieldValue"},
            "Label": str(wss),
            "TermGuid": term["TermGuid"],
            "WssId": wss,
        }

    def _field_value(self, ctx: Ctx, fld: dict[str, Any], item: dict[str, Any]) -> Any:
        t = fld["TypeAsString"]
        value = item.get(fld["InternalName"])
        if t in ("MultiChoice",):
            return _collection(list(value or []))
        if t == "URL" and value is not None:
            return {"__metadata": {"type": "SP.FieldUrlValue"}, **value}
        if t == "TaxonomyFieldType":
            return self._tax_value(ctx.site, value) if value else None
        if t == "TaxonomyFieldTypeMulti":
            return _collection(
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
        target_list = self.store.get("list", _guid(fld.get("LookupList")))
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
            **{nav: {"__deferred": {"uri": f"{uri}/{nav}"}} for nav in _ITEM_NAVIGATION},
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
                    primary = by_id.get(_guid(fld.get("PrimaryFieldId")))
                    value = item.get(primary["InternalName"]) if primary else None
                    primaries[key] = fld
                else:
                    value = item.get(name)
                full[key] = {"__deferred": {"uri": f"{uri}/{key}"}}
                if F.is_multi(fld):
                    full[key + "Id"] = _collection(list(value or []), "Collection(Edm.Int32)")
                    if F.is_user(fld):
                        full[key + "StringId"] = _collection([str(v) for v in value or []])
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

    def _project_item(self, ctx: Ctx, lst, item, full, opts: QueryOptions, flds) -> dict[str, Any]:
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
                raise SharePointError(
                    400, ARGUMENT, f"Column '{sel}' does not exist. It may have been deleted by another user."
                )
            if (
                isinstance(full[key], dict)
                and "__deferred" in full[key]
                and key.lower() not in expand
                and key in emap
            ):
                raise SharePointError(
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
                raise SharePointError(400, ARGUMENT, f"Column '{head}' does not exist or cannot be expanded.")
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

    # ------------------------------------------------------------------ item queries
    def _resolver(self, ctx: Ctx, lst: dict[str, Any], emap: dict[str, dict[str, Any]]):
        lowmap = {k.lower(): v for k, v in emap.items()}
        ct_names = {c["StringId"]: c["Name"] for c in self._ctypes(ctx.site, lst)}

        def field_for(name: str) -> tuple[dict[str, Any] | None, str]:
            fld = emap.get(name) or lowmap.get(name.lower())
            if fld is not None:
                return fld, "value"
            if name.lower().endswith("id"):
                lk = emap.get(name[:-2]) or lowmap.get(name[:-2].lower())
                if lk is not None and F.is_lookup(lk):
                    return lk, "id"
            return None, ""

        def check(path: str) -> None:
            head = path.split("/")[0]
            if head.lower() in ("id", "contenttype", "contenttypeid"):
                return
            fld, _ = field_for(head)
            if fld is None:
                raise SharePointError(
                    400,
                    ARGUMENT,
                    f"Column '{head}' does not exist. It may have been deleted by another user.",
                )

        def indexed(path: str) -> bool:
            head = path.split("/")[0]
            if head.lower() in ("id",):
                return True
            fld, _ = field_for(head)
            return bool(fld and fld.get("Indexed"))

        def resolve_in(item: dict[str, Any], path: str) -> Any:
            head, _, sub = path.partition("/")
            low = head.lower()
            if low == "id":
                return item["ID"]
            if low == "contenttype":
                return ct_names.get(item.get("ContentTypeId"))
            if low == "contenttypeid":
                return item.get("ContentTypeId")
            fld, mode = field_for(head)
            if fld is None:
                return None
            if fld.get("IsDependentLookup"):
                primary = next(
                    (f for f in emap.values() if f["Id"] == _guid(fld.get("PrimaryFieldId"))), None
                )
                value = item.get(primary["InternalName"]) if primary else None
            else:
                value = item.get(fld["InternalName"])
            if F.is_lookup(fld) and mode == "id":
                return value
            if F.is_lookup(fld) and not sub:
                sub = "Id" if F.is_user(fld) else (fld.get("LookupField") or "Title")
            if F.is_lookup(fld) and sub:
                ids = value if isinstance(value, list) else ([value] if value is not None else [])
                vals = []
                for tid in ids:
                    target = self._lookup_target(ctx, {**fld, "IsDependentLookup": False}, tid)
                    vals.append(target.get(sub, target.get(sub.capitalize())))
                return vals if isinstance(value, list) else (vals[0] if vals else None)
            t = fld["TypeAsString"]
            if t.startswith("Taxonomy") and value:
                terms = value if isinstance(value, list) else [value]
                labels = [x["Label"] for x in terms]
                return labels if isinstance(value, list) else labels[0]
            if t == "URL" and value:
                return value.get("Url")
            return value

        return check, indexed, resolve_in

    def _query_items(self, ctx: Ctx, lst: dict[str, Any]) -> ApiResponse:
        opts = ctx.opts
        items = self.store.items(lst["Id"])
        flds = self.store.under("field", lst["Id"])
        emap = {f["EntityPropertyName"]: f for f in flds}
        check, indexed, resolve_in = self._resolver(ctx, lst, emap)
        tree = parse_filter(opts.filter) if opts.filter else None
        order = parse_orderby(opts.orderby) if opts.orderby else []
        if opts.get("$order_by") is not None:
            raise bad_query("The query parameter '$order_by' is not supported; use $orderby.")
        referenced = (filter_fields(tree) if tree is not None else []) + [k for k, _ in order]
        for path in referenced:
            check(path)
        if len(items) > VIEW_THRESHOLD and any(not indexed(p) for p in referenced):
            raise SharePointError(
                500,
                THROTTLED,
                "The attempted operation is prohibited because it exceeds the list view threshold.",
            )
        top = DEFAULT_PAGE if opts.top is None else min(opts.top, MAX_PAGE)
        after = opts.skiptoken.get("p_ID")
        try:
            after_id = int(after) if after not in (None, "") else None
        except ValueError as exc:
            raise bad_query(f"Invalid $skiptoken p_ID '{after}'.") from exc
        rows: list[dict[str, Any]]
        more = False
        if tree is None and not order:
            ids = list(items.keys())
            start = 0
            if after_id is not None:
                import bisect

                start = bisect.bisect_right(ids, after_id)
            chosen = ids[start : start + top]
            more = start + top < len(ids)
            rows = [items[i] for i in chosen]
        else:
            candidates = list(items.values())
            if tree is not None:
                candidates = [it for it in candidates if evaluate(tree, lambda p, it=it: resolve_in(it, p))]
            if order:
                candidates.sort(key=lambda it: it["ID"])
                for key, desc in reversed(order):
                    candidates.sort(key=lambda it, k=key: _sort_key(resolve_in(it, k)), reverse=desc)
            start = 0
            if after_id is not None:
                pos = next((i for i, it in enumerate(candidates) if it["ID"] == after_id), None)
                if pos is not None:
                    start = pos + 1
                elif not order:
                    start = next(
                        (i for i, it in enumerate(candidates) if it["ID"] > after_id), len(candidates)
                    )
            rows = candidates[start : start + top]
            more = start + top < len(candidates)
        results = [self._item_json(ctx, lst, it, opts, flds) for it in rows]
        payload: dict[str, Any] = {"results": results}
        if more and rows:
            payload["__next"] = self._next_url(ctx, rows[-1]["ID"])
        return ApiResponse.json({"d": payload})

    def _next_url(self, ctx: Ctx, last_id: int) -> str:
        parts = [(k, v) for k, v in ctx.opts.raw if k.lower() not in ("$skiptoken", "p_id", "paged", "$skip")]
        token = quote(f"Paged=TRUE&p_ID={last_id}", safe="")
        safe = "$',/:()*@"
        query = "&".join(f"{k}={quote(v, safe=safe)}" for k, v in parts)
        path = quote(ctx.request.path, safe="/()'$:@,=")
        sep = "&" if query else ""
        return f"{ctx.request.scheme}://{ctx.request.host}{path}?{query}{sep}$skiptoken={token}"

    def _get_items_caml(self, ctx: Ctx, lst: dict[str, Any]) -> ApiResponse:
        import re

        query = _unwrap(ctx.request.json(), "query")
        view_xml = str(query.get("ViewXml") or "")
        m = re.search(r"<RowLimit[^>]*>\s*(\d+)\s*</RowLimit>", view_xml, re.I)
        limit = int(m.group(1)) if m else None
        paging = query.get("ListItemCollectionPosition")
        after = 0
        if isinstance(paging, dict):
            pm = re.search(r"p_ID=(\d+)", str(paging.get("PagingInfo") or ""))
            after = int(pm.group(1)) if pm else 0
        items = self.store.items(lst["Id"])
        chosen = [it for iid, it in items.items() if iid > after]
        if len(items) > VIEW_THRESHOLD and "<where>" in view_xml.lower():
            raise SharePointError(
                500,
                THROTTLED,
                "The attempted operation is prohibited because it exceeds the list view threshold.",
            )
        if limit is not None:
            chosen = chosen[:limit]
        flds = self.store.under("field", lst["Id"])
        return ApiResponse.json(
            {"d": {"results": [self._item_json(ctx, lst, it, None, flds) for it in chosen]}}
        )

    # ================================================================== changes
    def _get_changes(
        self, ctx: Ctx, scope: str, site: dict[str, Any], lst: dict[str, Any] | None
    ) -> ApiResponse:
        query = _unwrap(ctx.request.json(), "query")
        start = query.get("ChangeTokenStart")
        end = query.get("ChangeTokenEnd")
        if isinstance(start, str) or isinstance(end, str):
            raise bad_query(
                'ChangeTokenStart must be an SP.ChangeToken object {"StringValue": …}, not a string '
                "(trap T13)."
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
        rows = []
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

    def _change_json(self, scope_no: int, object_id: str, row: tuple) -> dict[str, Any]:
        import json as _json

        no, site_id, web_id, list_id, item_id, ctype, ticks, obj, extra = row
        extra = _json.loads(extra or "{}")
        out: dict[str, Any] = {
            "__metadata": {"type": f"SP.Change{obj if obj != 'Site' else ''}"},
            "ChangeToken": {
                "__metadata": {"type": "SP.ChangeToken"},
                "StringValue": f"1;{scope_no};{object_id};{ticks};{no}",
            },
            "ChangeType": ctype,
            "SiteId": site_id,
            "Time": _ticks_to_iso(ticks),
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
        from xml.sax.saxutils import quoteattr

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
        from .api import Headers

        return ApiResponse(200, Headers({"Content-Type": "text/xml; charset=utf-8"}), xml.encode("utf-8"))

    # ================================================================== fidelity extras
    # Endpoints the client's own tests use (reference section 17).
    def _effective_permissions(self, ctx: Ctx, seg: Segment) -> ApiResponse:
        """``GetUserEffectivePermissions('login')``: the emulator's principals all hold full control."""
        login = str(seg.args[0] if seg.args else "")
        if not login:
            raise SharePointError(400, ARGUMENT, "GetUserEffectivePermissions needs a user login name.")
        known = {u["LoginName"].lower() for u in self.store.under("user", ctx.site["Id"])}
        if login.lower() not in known:
            raise SharePointError(
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
                    and _guid(fld.get("LookupList")).lower() == target
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

    def _add_folder(self, site, lst, leaf: str) -> dict[str, Any]:
        """``RootFolder/Folders/add``: in a list (not a library) SPO creates the folder in the list's
        file system only; it gets no list item, so ``items`` does not show it."""
        folders = lst.setdefault("Folders", {})
        folder = folders.get(leaf.lower())
        if folder is None:
            folder = {"Name": leaf, "UniqueId": str(uuid.uuid4()), "Created": _iso(_now())}
            folders[leaf.lower()] = folder
            self.store.put("list", lst)
            self._log(site, lst, None, 1, "Folder", {"UniqueId": folder["UniqueId"]})
        return folder

    def _folder_json(self, ctx: Ctx, lst, folder: dict[str, Any]) -> dict[str, Any]:
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

    def _recycle_item(self, site, lst, item: dict[str, Any]) -> str:
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
                "DeletedDate": _iso(_now()),
                "DirName": self._list_server_url(site, lst)[1:],
            },
        )
        self.store.delete_item(lst["Id"], item["ID"])
        self._touch_list(lst)
        self._log(site, lst, item["ID"], 3, "Item")
        return rb_id

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

    def _recycled(self, site, rb_id: Any) -> dict[str, Any]:
        rb = self.store.get("recycle", _guid(rb_id))
        if rb is None or rb["_parent"] != site["WebId"]:
            raise SharePointError(
                404, "-2147024809, System.ArgumentException", "Value does not fall within the expected range."
            )
        return rb

    def _step_recyclebin(self, ctx: Ctx, state, seg, name, last, method):
        if name == "getbyid":
            return ("recycleitem", state[1], self._recycled(state[1], seg.args[0] if seg.args else ""))
        return None

    def _step_recycleitem(self, ctx: Ctx, state, seg, name, last, method):
        site, rb = state[1], state[2]
        if name == "restore" and method == "POST":
            lst = self.store.get("list", rb["ListId"])
            if lst is None:
                raise SharePointError(
                    404, LIST_MISSING, "The list this item was deleted from no longer exists."
                )
            item = rb["Item"]
            if item["ID"] in self.store.items(lst["Id"]):
                raise SharePointError(
                    400, SP_EXCEPTION, "An item with the same ID already exists in the list."
                )
            self.store.put_item(lst["Id"], item)
            self.store.delete("recycle", rb["_id"])
            self._touch_list(lst)
            self._log(site, lst, item["ID"], 7, "Item")
            return ApiResponse.empty(200)
        if name == "deleteobject" and method == "POST":
            self.store.delete("recycle", rb["_id"])
            return ApiResponse.empty(200)
        return None

    def _finish_recyclebin(self, ctx: Ctx, state, method):
        if method == "GET":
            rows = [self._recycle_json(ctx, rb) for rb in self.store.under("recycle", state[1]["WebId"])]
            return self._collection_response(ctx, rows)
        return None

    def _finish_recycleitem(self, ctx: Ctx, state, method):
        if method == "GET":
            return self._ok(ctx, self._recycle_json(ctx, state[2]))
        if method == "DELETE":
            self.store.delete("recycle", state[2]["_id"])
            return ApiResponse.empty(200)
        return None

    def _finish_folders(self, ctx: Ctx, state, method):
        if method == "GET":
            lst = state[2]
            rows = [self._folder_json(ctx, lst, f) for f in (lst.get("Folders") or {}).values()]
            return self._collection_response(ctx, rows)
        return None

    def _finish_attachments(self, ctx: Ctx, state, method):
        if method == "GET":
            return ApiResponse.json({"d": {"results": []}})
        return None

    def _add_item_with_info(self, ctx: Ctx, site, lst: dict[str, Any]) -> ApiResponse:
        """``<list>/addItem`` with SP.ListItemCreationInformation: an empty item in the list's root folder.

        ``FolderUrl`` may be empty, server-relative or absolute but must name the list's root folder;
        the client's ``add_item(ListItemCreationInformation)`` sends ``base_url + ServerRelativeUrl``,
        i.e. ``/sites/x`` twice (trap T16), which names no folder and is refused.
        """
        info = _unwrap(ctx.request.json(), "parameters")
        if int(info.get("UnderlyingObjectType") or 0) != 0:
            raise SharePointError(
                400,
                NOT_SUPPORTED,
                "The emulator creates list folders through "
                "RootFolder/Folders/add only; addItem supports UnderlyingObjectType 0 (a file/item).",
            )
        folder = str(info.get("FolderUrl") or "")
        path = urlsplit(folder).path if "://" in folder else folder
        root = self._list_server_url(site, lst)
        if path and path.rstrip("/").lower() != root.lower():
            raise SharePointError(
                400,
                ARGUMENT,
                f"Value does not fall within the expected range. FolderUrl "
                f"'{folder}' is not the root folder of list '{lst['Title']}' ({root}); the "
                "office365 client doubles the site path here (trap T16): POST to <list>/items.",
            )
        entity = list_item_entity_type_full_name(lst["UrlLeaf"], lst["BaseTemplate"])
        item = self._create_item(ctx, lst, {"__metadata": {"type": entity}}, require=False)
        return ApiResponse.json({"d": self._item_json(ctx, lst, item)})

    def _step_resource(self, ctx: Ctx, state, seg, name, last, method):
        """``<content type>/NameResource`` (SP.UserResource): per-culture values of Name/Description."""
        ct, prop = state[3], state[4]
        if method != "POST" or name not in ("setvalueforuiculture", "getvalueforuiculture"):
            return None
        body = _unwrap(ctx.request.json())
        culture = str(body.get("cultureName") or "")
        if not culture:
            raise SharePointError(400, ARGUMENT, f"{seg.name} needs a cultureName such as 'nb-NO'.")
        values = ct.setdefault("Resources", {}).setdefault(prop, {})
        if name == "setvalueforuiculture":
            values[culture.lower()] = str(body.get("value") or "")
            self.store.put("ctype", ct)
            return ApiResponse.json({"d": {"SetValueForUICulture": None}})
        return ApiResponse.json(
            {"d": {"GetValueForUICulture": values.get(culture.lower(), ct.get(prop, ""))}}
        )

    def _versions_json(self, ctx: Ctx, lst: dict[str, Any], item: dict[str, Any]) -> ApiResponse:
        """``items(n)/versions``: the emulator keeps no history, so only the current version is listed."""
        version = int(item.get("Version", 1))
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Items({item['ID']})/Versions({512 * version})"
        return ApiResponse.json(
            {
                "d": {
                    "results": [
                        {
                            "__metadata": {"id": uri, "uri": uri, "type": "SP.ListItemVersion"},
                            "Created": item["Modified"],
                            "IsCurrentVersion": True,
                            "VersionId": 512 * version,
                            "VersionLabel": f"{version}.0",
                        }
                    ]
                }
            }
        )

    # ------------------------------------------------------------------ User Information List
    def _user_info_list(self, site: dict[str, Any]) -> dict[str, Any]:
        """The hidden User Information List (template 112, ``/_catalogs/users``) over the site's users."""
        list_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"userinfo:{site['Id']}"))
        return {
            "Id": list_id,
            "Title": "User Information List",
            "BaseTemplate": 112,
            "BaseType": 0,
            "UrlLeaf": "users",
            "Created": site["Created"],
            "LastItemModifiedDate": site["Created"],
            "LastItemDeletedDate": site["Created"],
            "Hidden": True,
            "EnableAttachments": False,
        }

    def _user_info_item(self, ctx: Ctx, lst: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        uri = f"{ctx.api}Web/Lists(guid'{lst['Id']}')/Items({user['Id']})"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": "SP.Data.UserInfoItem"},
            "FileSystemObjectType": 0,
            "Id": user["Id"],
            "ID": user["Id"],
            "ContentTypeId": "0x010A",
            "Title": user.get("Title"),
            "Name": user["LoginName"],
            "EMail": user.get("Email"),
            "IsSiteAdmin": bool(user.get("IsSiteAdmin")),
            "Deleted": False,
            "UserName": user.get("UserPrincipalName") or user.get("Email"),
        }

    def _step_userinfolist(self, ctx: Ctx, state, seg, name, last, method):
        if name == "items" and method == "GET":
            site = state[1]
            lst = self._user_info_list(site)
            users = self.store.under("user", site["Id"])
            if seg.args:
                found = next((u for u in users if str(u["Id"]) == str(seg.args[0])), None)
                if found is None:
                    raise SharePointError(
                        404, ARGUMENT, "Item does not exist. It may have been deleted by another user."
                    )
                return ApiResponse.json({"d": self._user_info_item(ctx, lst, found)})
            rows = [self._user_info_item(ctx, lst, u) for u in sorted(users, key=lambda u: u["Id"])]
            return self._collection_response(ctx, rows, entity_filter=True)
        return None

    def _finish_userinfolist(self, ctx: Ctx, state, method):
        if method != "GET":
            return None
        site = state[1]
        lst = self._user_info_list(site)
        payload = self._list_json(ctx, lst)
        payload.update(
            ItemCount=len(self.store.under("user", site["Id"])),
            EntityTypeName="UserInfo",
            ListItemEntityTypeFullName="SP.Data.UserInfoItem",
            DefaultViewUrl=f"{site['Path']}/_catalogs/users/simple.aspx",
        )
        return self._ok(ctx, payload)

    def _seed_task_fields(self, site, lst: dict[str, Any]) -> None:
        """The columns SPO's Tasks templates (107, 171) carry, with their fixed field IDs (fieldswss.xml)."""
        specs = [
            (
                "Computed",
                "Completed",
                "Checkmark",
                "ebf1c037-47eb-4355-998d-47ce9f2cc047",
                {"ReadOnlyField": True},
            ),
            (
                "LookupMulti",
                "Predecessors",
                "Predecessors",
                "c3a92d97-2b77-4a25-9698-3ab54874bc6f",
                {"LookupList": "{" + lst["Id"] + "}", "LookupField": "Title"},
            ),
            (
                "Choice",
                "Priority",
                "Priority",
                "a8eb573e-9e11-481a-a8c9-1104a54b2fbd",
                {"Choices": ["(1) High", "(2) Normal", "(3) Low"], "DefaultValue": "(2) Normal"},
            ),
            (
                "Choice",
                "Task Status",
                "Status",
                "c15b34c3-ce7d-490a-b133-3f4de8801b76",
                {
                    "Choices": [
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Deferred",
                        "Waiting on someone else",
                    ],
                    "DefaultValue": "Not Started",
                },
            ),
            (
                "Number",
                "% Complete",
                "PercentComplete",
                "d2311440-1ed6-46ea-b46d-daa643dc3886",
                {"MinimumValue": 0.0, "MaximumValue": 1.0},
            ),
            ("UserMulti", "Assigned To", "AssignedTo", "53101f38-dd2e-458c-b245-0c236cc13d1a", {}),
            ("Note", "Description", "Body", "7662cd2c-f069-4dba-9e35-082cf976e170", {}),
            ("DateTime", "Start Date", "StartDate", "64cd368d-2f95-4bfc-a1f9-8d4324ecb007", {}),
            ("DateTime", "Due Date", "DueDate", "cd21b4c2-6841-4f9e-a23a-738a65f99889", {}),
        ]
        for ftype, title, internal, fid, extra in specs:
            fld = F.new_field(
                ftype,
                title,
                internal,
                Id=fid,
                FromBaseType=False,
                CanBeDeleted=True,
                Group="Base Columns",
                **extra,
            )
            fld["_id"], fld["_parent"] = f"{lst['Id']}:{fid}", lst["Id"]
            self.store.put("field", fld)


# Navigation properties SPO emits as ``__deferred`` on every list item (verbose OData).
_ITEM_NAVIGATION = (
    "FirstUniqueAncestorSecurableObject",
    "RoleAssignments",
    "AttachmentFiles",
    "ContentType",
    "GetDlpPolicyTip",
    "FieldValuesAsHtml",
    "FieldValuesAsText",
    "FieldValuesForEdit",
    "File",
    "Folder",
    "LikedByInformation",
    "ParentList",
    "Properties",
    "Versions",
)


def _looks_like_guid(text: str) -> bool:
    try:
        uuid.UUID(text.strip("{}"))
        return True
    except ValueError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def _form_date(raw: str) -> str:
    """Form values use the site's locale; accept ISO and ``dd.mm.yyyy [hh:mm]``."""
    import re

    m = re.match(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2}))?$", raw.strip())
    if m:
        d, mo, y, h, mi = m.groups()
        return f"{int(y):04d}-{int(mo):02d}-{int(d):02d}T{int(h or 0):02d}:{int(mi or 0):02d}:00Z"
    return raw


def ctx_url(site: dict[str, Any]) -> str:
    return site["Path"] or "/"
