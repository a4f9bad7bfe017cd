"""Which project sites a run syncs: the hub register, sites joined to the hub, explicit extras.

The register's first page and the hub's ``Site`` facts come in one ``$batch``; the tenant's list of
sites joined to the hub costs one admin request and is read while the workers sync the register
(see docs/sync.md, "The shape: discover → read → diff → write").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veiviser.errors import VeiviserError
from veiviser.sharepoint import items as rest
from veiviser.sharepoint.client import SiteClient
from veiviser.sharepoint.errors import SharePointError
from veiviser.sharepoint.sites import hub_joined_site_urls
from veiviser.sharepoint.values import normalise_item
from veiviser.sync.kinds import PROJECTS_LIST_TITLE
from veiviser.sync.lists import PROPERTY_FIELDS
from veiviser.sync.options import SyncOptions


@dataclass
class ProjectSite:
    """A project site to sync, as found in the hub register (or given explicitly)."""

    url: str
    title: str = ""
    register_id: int | None = None
    register: dict[str, Any] = field(default_factory=dict)
    source: str = "register"  # "register", "joined" (joined to the hub, not in the register), "explicit"


def discover_sites(hub: SiteClient, options: SyncOptions) -> tuple[list[ProjectSite], list[str]]:
    """Project sites to sync (register, then joined sites, then ``extra_sites``) and notes for the report."""
    registered, hub_info = register_sites(hub, options)
    extra, notes = joined_sites(hub, hub_info, options, {s.url.lower() for s in registered})
    return sorted([*registered, *extra], key=lambda s: s.url.lower()), notes


def register_sites(hub: SiteClient, options: SyncOptions) -> tuple[list[ProjectSite], dict[str, Any]]:
    """Project sites of the hub register ``Prosjekter`` (``GtSiteUrl``) and the hub's ``Site`` facts.

    The register's first page and ``Site?$select=Id,IsHubSite,HubSiteId`` come in one ``$batch``.
    """
    sites: dict[str, ProjectSite] = {}
    select = ["ID", "Title", "GtSiteUrl", "GtSiteId", "GtProjectPhaseText", *PROPERTY_FIELDS]
    first, site = hub.batch(
        [
            rest.get_items(
                PROJECTS_LIST_TITLE, select=list(dict.fromkeys(select)), top=rest.MAX_PAGE, key="register"
            ),
            rest.get_site(["Id", "IsHubSite", "HubSiteId"], key="site"),
        ]
    )
    for res in (first, site):
        if not res.ok:
            raise res.error or SharePointError(f"HTTP {res.status}", site=hub.url, list=res.key)
    page = first.value if isinstance(first.value, list) else []
    raw_items = [*page, *(hub.rest_of_pages(first, list=PROJECTS_LIST_TITLE) if first.next_url else [])]
    for raw in raw_items:
        item = normalise_item(raw)
        url = str(item.get("GtSiteUrl") or "").strip().rstrip("/")
        if not url:
            continue
        sites.setdefault(
            url.lower(), ProjectSite(url, str(item.get("Title") or ""), int(item["ID"]), dict(item))
        )
    hub_info = site.value if isinstance(site.value, dict) else {}
    return sorted(sites.values(), key=lambda s: s.url.lower()), hub_info


def joined_sites(
    hub: SiteClient, hub_info: dict[str, Any], options: SyncOptions, known: set[str]
) -> tuple[list[ProjectSite], list[str]]:
    """Sites the tenant reports as joined to the hub that ``known`` (lower-case URLs) lacks
    (``source="joined"``; the sync adds them to the register), then ``options.extra_sites``
    (``source="explicit"``); and notes for the run report. Never raises: a listing that fails
    is a note, and the register alone is used.
    """
    notes: list[str] = []
    out: dict[str, ProjectSite] = {}
    if options.joined:
        hub_id = str(hub_info.get("HubSiteId") or hub_info.get("Id") or "").strip("{}").lower()
        joined: list[str] = []
        if not hub_info.get("IsHubSite"):
            notes.append(f"{hub.url} is not a hub site; only the register was used")
        elif not hub.settings.admin_url:
            notes.append(
                "VEIVISER_ADMIN_URL is not set, so sites joined to the hub but missing from the register "
                "could not be listed; only the register was used"
            )
        else:
            try:
                admin = hub.for_site(hub.settings.admin_url, share_digest=True)
                joined = hub_joined_site_urls(admin, hub_id, exclude=hub.url)
            except VeiviserError as exc:
                notes.append(
                    f"could not list the sites joined to the hub ({exc}); only the register was used"
                )
        for url in joined:
            if url.lower() not in known:
                out.setdefault(url.lower(), ProjectSite(url, source="joined"))
    for url in options.extra_sites:
        key = url.rstrip("/").lower()
        if key not in known:
            out.setdefault(key, ProjectSite(url.rstrip("/"), source="explicit"))
    return sorted(out.values(), key=lambda s: s.url.lower()), notes
