"""The typed state of the walk along a request path: which object the path has reached so far.

The router starts at :attr:`NodeKind.ROOT` and, segment by segment, asks the step handler of the
current kind for the next :class:`Node` (or for a finished response); the finish handler of the
last node's kind answers the HTTP method. The dispatch tables that map kinds to handlers are in
``router.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..api import ApiResponse

Record = dict[str, Any]
"""One stored object of the model (a site, list, field, item, …) as the store keeps it."""


class NodeKind(StrEnum):
    """The kinds of object (and collections of objects) a path segment can lead to."""

    ROOT = "root"
    SITE = "site"
    WEB = "web"
    ALL_PROPERTIES = "allprops"
    LISTS = "lists"
    LIST = "list"
    ROOT_FOLDER = "rootfolder"
    FOLDERS = "folders"
    ITEMS = "items"
    ITEM = "item"
    ATTACHMENTS = "attachments"
    FIELDS = "fields"
    FIELD = "field"
    CONTENT_TYPES = "ctypes"
    CONTENT_TYPE = "ctype"
    RESOURCE = "resource"
    FIELD_LINKS = "fieldlinks"
    FIELD_LINK = "fieldlink"
    CONTENT_TYPE_FIELDS = "ctfields"
    VIEWS = "views"
    VIEW = "view"
    VIEW_FIELDS = "viewfields"
    USERS = "users"
    USER = "user"
    USER_INFO_LIST = "userinfolist"
    RECYCLE_BIN = "recyclebin"
    RECYCLE_ITEM = "recycleitem"
    SITE_MANAGER = "sitemanager"
    SITE_PAGES = "sitepages"
    COMMUNICATION_SITE = "commsite"
    HUB_SITES = "hubsites"
    HUB = "hub"
    HUB_UTILITY = "hubutil"
    TENANT = "tenant"


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """Where the walk stands: the kind of object reached and the objects it lies under.

    ``site`` is the addressed site (for :attr:`NodeKind.HUB`, the hub site); ``parent_list`` is
    the list, or ``None`` for the web's own fields and content types; ``target`` is the item,
    field, content type, view, user or recycle-bin entry; ``key`` is a field link's field id or a
    resource's property name (``Name``/``Description``).
    """

    kind: NodeKind
    site: Record
    parent_list: Record | None = None
    target: Record | None = None
    key: str = ""

    @property
    def lst(self) -> Record:
        """The list; only for kinds that always lie under one."""
        assert self.parent_list is not None, f"a {self.kind} node has no list"
        return self.parent_list

    @property
    def obj(self) -> Record:
        """The target object; only for kinds that address one."""
        assert self.target is not None, f"a {self.kind} node has no target object"
        return self.target


Step = Node | ApiResponse | None
"""What a step handler returns: the next node, a finished response (a service operation answered
on the spot; only allowed on the last segment), or ``None`` when the segment is unknown here."""
