"""The emulator's SharePoint object model: sites, webs, lists, fields, items, views, users, changes.

:class:`SharePointApp` answers one REST call at a time (see ``api.py`` for the contract). It is
composed of one mixin per object kind, each in ``veiviser.emulator.model``; the router there walks
the path through a dispatch table. The SharePoint Online behaviour imitated is described in
docs/emulator.md.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .api import ApiRequest, ApiResponse, RestError, SiteLocation
from .model.changes import Changes
from .model.common import READ_ONLY_OPERATIONS, is_mutating
from .model.content_types import ContentTypes
from .model.core import ModelCore
from .model.directory import EMULATOR_ADMIN, Directory, DirectoryUser, default_users
from .model.fields import Fields
from .model.item_shapes import ItemShapes
from .model.items import Items
from .model.lists import Lists
from .model.queries import Queries
from .model.recycle import RecycleBin
from .model.router import Router
from .model.shapes import Shapes
from .model.sites import Sites
from .model.tenant import Tenant
from .model.users import Users
from .model.views import Views
from .store import Store

__all__ = ["READ_ONLY_OPERATIONS", "SharePointApp", "is_mutating"]

log = logging.getLogger(__name__)


class SharePointApp(
    Router,
    Sites,
    Lists,
    Fields,
    ContentTypes,
    Views,
    Items,
    Queries,
    Changes,
    Users,
    Tenant,
    RecycleBin,
    Shapes,
    ItemShapes,
    ModelCore,
):
    """The object model behind the emulator's HTTP layer (thread-safe; one lock around the store)."""

    def __init__(self, db_path: str | None = None, users: list[DirectoryUser] | None = None) -> None:
        # the tenant directory: ``users`` or the default one (docs/emulator.md, "Tenant directory")
        self.directory = Directory(default_users() if users is None else users)
        self.store = Store(db_path)
        self.lock = threading.RLock()
        self._last_ticks = 0
        self._may_mutate = True
        self._path_index: dict[str, dict[str, Any]] = {}
        self._path_index_generation = -1
        with self.lock:
            self.store.begin()
            if not self._sites():
                self._create_site("/", "Communication site", "SITEPAGEPUBLISHING#0", 1033, EMULATOR_ADMIN)
            self.store.commit()

    def add_user(self, user: DirectoryUser) -> DirectoryUser:
        """Add a person to the tenant directory (EnsureUser may resolve them from now on)."""
        with self.lock:
            return self.directory.add(user)

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
        except RestError as exc:
            return exc.to_response()
        except Exception:
            log.exception("emulator: unexpected error on %s %s", request.method, request.path)
            return RestError(
                500,
                "-2146233088, System.Exception",
                "An unexpected error occurred in the SharePoint emulator; see its log.",
            ).to_response()
        finally:
            elapsed = time.perf_counter() - started
            if elapsed > 1.0:
                log.debug("emulator: slow request %s %s %.2fs", request.method, request.path, elapsed)
