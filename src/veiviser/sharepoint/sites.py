"""Site collections and hubs (docs/sharepoint.md, "Client-library habits we work around").

Sites are created with our own ``SPSiteCreationRequest`` body posted to ``spSiteManager/Create``
(Lcid 1044, ``STS#3`` and an owner; the client's ``SPSiteManager.create`` hard-codes 1033 and a
communication site). The caller's client is never re-pointed to the new site, as the library's would be:
work on the new site through ``client.for_site(url)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from veiviser.sharepoint import schema
from veiviser.sharepoint.client import SiteClient
from veiviser.sharepoint.errors import NotFoundError, SharePointError, ValidationError

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
SITE_STATUS = {0: "not found", 1: "provisioning", 2: "ready", 3: "error"}


@dataclass(frozen=True)
class SiteStatus:
    """``spSiteManager`` status: 0 not found, 1 provisioning, 2 ready, 3 error."""

    status: int
    url: str
    site_id: str | None

    @property
    def ready(self) -> bool:
        return self.status == 2

    @property
    def label(self) -> str:
        return SITE_STATUS.get(self.status, f"unknown ({self.status})")


@dataclass(frozen=True)
class SiteInfo:
    site_id: str
    web_id: str
    is_hub: bool
    hub_site_id: str | None
    title: str
    url: str


def site_url_for(root_url: str, alias: str) -> str:
    """``<scheme://host>/sites/<alias>`` for a root (or any) URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(root_url)
    if not alias or not all(c.isalnum() or c in "-_" for c in alias):
        raise ValidationError(f"site alias {alias!r} must be non-empty ASCII letters, digits, '-' or '_'")
    return f"{parts.scheme}://{parts.netloc}/sites/{alias}"


def _status(d: Any, url: str) -> SiteStatus:
    if not isinstance(d, dict):
        raise SharePointError(f"unexpected site status answer for {url}")
    return SiteStatus(int(d.get("SiteStatus") or 0), str(d.get("SiteUrl") or url), d.get("SiteId"))


def create_site(
    root: SiteClient,
    alias: str,
    title: str,
    owner: str,
    *,
    lcid: int = 1044,
    template: str = "STS#3",
) -> SiteStatus:
    """Ask SharePoint to create ``<root host>/sites/<alias>``; returns the status (poll with :func:`wait_until_ready`)."""
    url = site_url_for(root.url, alias)
    request = {
        "request": {
            "Title": title,
            "Url": url,
            "Owner": owner,
            "Lcid": lcid,
            "WebTemplate": template,
            "__metadata": {"type": "Microsoft.SharePoint.Portal.SPSiteCreationRequest"},
        }
    }
    d = root.call("POST", "spSiteManager/Create", request)
    status = _status(d, url)
    if status.status == 3:
        raise SharePointError(
            f"SharePoint could not create the site {url}",
            site=url,
            hint="Check the owner account and that the alias is free, then run again.",
        )
    return status


def site_status(root: SiteClient, url: str) -> SiteStatus:
    """The creation status of a site URL (``SiteStatus`` 0 means it does not exist)."""
    d = root.get("spSiteManager/Status", {"url": "'" + url.replace("'", "''") + "'"})
    return _status(d, url)


def wait_until_ready(
    root: SiteClient,
    url: str,
    *,
    timeout: float = 600.0,
    interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SiteStatus:
    """Poll :func:`site_status` until the site is ready; errors on status 3 or after ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        status = site_status(root, url)
        if status.ready:
            return status
        if status.status == 3:
            raise SharePointError(
                f"site creation failed for {url}",
                site=url,
                hint="Delete the half-created site in the admin centre and run again.",
            )
        if clock() + interval > deadline:
            raise SharePointError(
                f"site {url} is still {status.label} after {timeout:.0f} s",
                site=url,
                hint="SharePoint may be slow; run the command again later (it is idempotent).",
            )
        sleep(interval)


def site_info(site: SiteClient) -> SiteInfo:
    """Ids, hub state, title and URL of the site the client points at."""
    s = site.run(schema.read_site())
    w = site.run(schema.read_web())
    hub = s.get("HubSiteId")
    return SiteInfo(
        site_id=str(s["Id"]),
        web_id=str(w["Id"]),
        is_hub=bool(s.get("IsHubSite")),
        hub_site_id=None if not hub or hub == ZERO_GUID else str(hub),
        title=str(w.get("Title") or ""),
        url=str(w.get("Url") or site.url),
    )


def register_hub(site: SiteClient) -> str:
    """Make the site a hub (no-op if it already is); returns the hub id (= the site id)."""
    info = site_info(site)
    if info.is_hub:
        return info.hub_site_id or info.site_id
    d = site.run(schema.register_hub_site())
    hub_id = (d or {}).get("ID") or (d or {}).get("Id") if isinstance(d, dict) else None
    return str(hub_id or info.site_id)


def join_hub(site: SiteClient, hub_id: str) -> None:
    """Associate the site with a hub (``ZERO_GUID`` leaves it); a no-op when already joined."""
    if site_info(site).hub_site_id == (None if hub_id == ZERO_GUID else hub_id):
        return
    site.run(schema.join_hub_site(hub_id))
    if site_info(site).hub_site_id != (None if hub_id == ZERO_GUID else hub_id):
        raise SharePointError(
            f"the site did not join hub {hub_id}",
            site=site.url,
            hint="Check that the hub exists (register_hub) and that the app may join sites to it.",
        )


def ensure_user(site: SiteClient, email: str) -> int:
    """The per-site user id of a person (cached on the SiteClient)."""
    try:
        return site.ensure_user(email)
    except NotFoundError as exc:
        raise exc.located(site=site.url) from None


TENANT = "Microsoft.Online.SharePoint.TenantAdministration.Tenant"


def hub_joined_site_urls(admin: SiteClient, hub_id: str, *, exclude: str | None = None) -> list[str]:
    """URLs of the site collections joined to hub ``hub_id``, from the tenant's site list.

    ``admin`` is a client for the tenant admin site. ``Tenant/GetSitePropertiesFromSharePointByFilters``
    pages through every site collection with its ``HubSiteId`` (``_nextStartIndexFromSharePoint``);
    ``exclude`` (the hub's own URL) is left out. Raises :class:`SharePointError` when it cannot.
    """
    wanted = hub_id.strip("{}").lower()
    skip = (exclude or "").rstrip("/").lower()
    urls: list[str] = []
    start: str | None = "0"
    while start is not None:
        body = {
            "speFilter": {
                "StartIndex": start,
                "IncludeDetail": True,
                "__metadata": {"type": f"{TENANT.rsplit('.', 1)[0]}.SPOSitePropertiesEnumerableFilter"},
            }
        }
        page = admin.call("POST", f"{TENANT}/GetSitePropertiesFromSharePointByFilters", body) or {}
        rows = (page.get("_Child_Items_") or page.get("results") or []) if isinstance(page, dict) else page
        for row in rows:
            url = str(row.get("Url") or "").rstrip("/")
            if str(row.get("HubSiteId") or "").strip("{}").lower() == wanted and url and url.lower() != skip:
                urls.append(url)
        nxt = page.get("_nextStartIndexFromSharePoint") if isinstance(page, dict) else None
        start = str(nxt) if nxt and str(nxt) != start else None
    return urls
