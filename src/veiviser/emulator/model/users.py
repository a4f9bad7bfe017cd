"""Site users: ``EnsureUser``, lookup, and the hidden User Information List."""

from __future__ import annotations

import uuid
from typing import Any

from ..api import ApiResponse, RestError
from ..paths import Segment
from .common import APP_LOGIN, ARGUMENT, ITEM_MISSING, SP_EXCEPTION, Ctx, strip_meta
from .core import ModelCore
from .state import Node, NodeKind, Step

EVERYONE = "c:0(.s|true"  # the claim of everyone signed in to the tenant


class Users(ModelCore):
    """Site users and the hidden User Information List."""

    def _step_users(self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str) -> Step:
        site = node.site
        if name == "getbyid":
            return Node(NodeKind.USER, site, target=self._user_by_id(site, seg.args[0] if seg.args else None))
        if name in ("getbyemail", "getbyloginname"):
            login = str(seg.args[0] if seg.args else "")
            for user in self.store.under("user", site["Id"]):
                if login.lower() in (str(user["Email"]).lower(), user["LoginName"].lower()):
                    return Node(NodeKind.USER, site, target=user)
            raise RestError(404, "-2146232832, Microsoft.SharePoint.SPException", "User cannot be found.")
        return None

    def _finish_users(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        site = node.site
        if method == "GET":
            users = [self._user_json(ctx, u) for u in self.store.under("user", site["Id"])]
            return self._collection_response(ctx, users, entity_filter=True)
        if method == "POST":
            body = strip_meta(ctx.request.json())
            login = body.get("LoginName")
            if not login:
                raise RestError(400, ARGUMENT, "A user needs a LoginName.")
            return ApiResponse.json({"d": self._user_json(ctx, self._ensure_user(site, str(login)))}, 201)
        return None

    def _finish_user(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method == "GET":
            return self._ok(ctx, self._user_json(ctx, node.obj))
        return None

    def _ensure_user(self, site: dict[str, Any], login: str, title: str | None = None) -> dict[str, Any]:
        """The site's user for a login, added from the tenant directory on first use.

        SPO resolves a UPN, an e-mail or a claims login (``i:0#.f|membership|<upn>``) through the
        directory and refuses one it does not know (docs/emulator.md, "Tenant directory"); the app
        principal (``APP_LOGIN``) and the "Everyone" claim are always known.
        """
        login = login.strip()
        low = login.lower()
        for user in self.store.under("user", site["Id"]):
            if user["LoginName"].lower() == low or (
                "@" in low
                and low.split("|")[-1]
                in (str(user["Email"]).lower(), user["LoginName"].lower().split("|")[-1])
            ):
                return user
        if low == APP_LOGIN.lower():
            record = self._site_user(site, APP_LOGIN, title or "SharePoint App", "", None, 1)
        elif low == EVERYONE:
            record = self._site_user(site, EVERYONE, "Everyone", "", None, 4)
        else:
            person = self.directory.find(login)
            if person is None:
                raise RestError(400, SP_EXCEPTION, f"The specified user {login} could not be found.")
            record = self._site_user(site, person.login, person.title, person.email, person.upn, 1)
            record["AadObjectId"] = {
                "__metadata": {"type": "SP.UserIdInfo"},
                "NameId": person.object_id,
                "NameIdIssuer": "urn:federation:microsoftonline",
            }
        self.store.put("user", record)
        self._log(site, None, None, 1, "User", {"UserId": record["Id"]})
        return record

    def _site_user(
        self, site: dict[str, Any], login: str, title: str, email: str, upn: str | None, principal_type: int
    ) -> dict[str, Any]:
        user_id = site["NextUserId"]
        site["NextUserId"] = user_id + 1
        self.store.put("site", site)
        return {
            "_id": f"{site['Id']}:{user_id}",
            "_parent": site["Id"],
            "Id": user_id,
            "Title": title,
            "Email": email,
            "LoginName": login,
            "IsSiteAdmin": False,
            "PrincipalType": principal_type,
            "IsHiddenInUI": False,
            "UserPrincipalName": upn,
        }

    def _user_by_id(self, site: dict[str, Any], user_id: Any) -> dict[str, Any]:
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            key = -1
        user = self.store.get("user", f"{site['Id']}:{key}")
        if user is None:
            # SPO answers an unknown id with 500, not 404 (docs/emulator.md, "Tenant directory")
            raise RestError(500, SP_EXCEPTION, "User cannot be found.")
        return user

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

    def _step_userinfolist(
        self, ctx: Ctx, node: Node, seg: Segment, name: str, last: bool, method: str
    ) -> Step:
        if name in ("items", "getitembyid") and method == "GET":
            site = node.site
            lst = self._user_info_list(site)
            users = self.store.under("user", site["Id"])
            if seg.args or name == "getitembyid":
                found = next((u for u in users if str(u["Id"]) == str(seg.args[0])), None)
                if found is None:
                    raise RestError(
                        404, ITEM_MISSING, "Item does not exist. It may have been deleted by another user."
                    )
                return ApiResponse.json({"d": self._user_info_item(ctx, lst, found)})
            rows = [self._user_info_item(ctx, lst, u) for u in sorted(users, key=lambda u: u["Id"])]
            return self._collection_response(ctx, rows, entity_filter=True)
        return None

    def _finish_userinfolist(self, ctx: Ctx, node: Node, method: str) -> ApiResponse | None:
        if method != "GET":
            return None
        site = node.site
        lst = self._user_info_list(site)
        payload = self._list_json(ctx, lst)
        payload.update(
            ItemCount=len(self.store.under("user", site["Id"])),
            EntityTypeName="UserInfo",
            ListItemEntityTypeFullName="SP.Data.UserInfoItem",
            DefaultViewUrl=f"{site['Path']}/_catalogs/users/simple.aspx",
        )
        return self._ok(ctx, payload)
