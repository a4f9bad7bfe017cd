"""A small stand-in for provisioning: hub and project sites on the emulator from the template models.

Replaced by the provisioning engine once it exists. Lists are created through the gateway with
their fields as SchemaXml (lookups after their targets), then items are written through batches.
"""

from __future__ import annotations

from typing import Any

from veiviser.emulator.server import EmulatorServer
from veiviser.schemas.settings import ConnectionSettings
from veiviser.schemas.template import Template
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint import RateLimiter, SiteClient, connect
from veiviser.sharepoint.sites import create_site, join_hub, register_hub, site_status, wait_until_ready

OWNER = "admin@kommune.no"
HUB_LISTS = (
    "projects",
    "portfolio_risks",
    "portfolio_stakeholders",
    "portfolio_benefits",
    "portfolio_indicators",
    "portfolio_measurements",
)
PROJECT_LISTS = ("risks", "stakeholders", "benefits", "indicators", "measurements", "properties")


def settings(server: EmulatorServer, **extra: Any) -> ConnectionSettings:
    values: dict[str, Any] = {
        "auth": "token",
        "access_token": server.token,
        "org": "Testkommune",
        "admin_url": server.url,
        "retry_max_total_seconds": 60,
    }
    values.update(extra)
    return ConnectionSettings(**values)


def client(server: EmulatorServer, url: str) -> SiteClient:
    return connect(url, settings(server), limiter=RateLimiter(1e9, 1))


def make_site(server: EmulatorServer, alias: str) -> SiteClient:
    root = client(server, server.url)
    url = f"{server.url}/sites/{alias}"
    if not site_status(root, url).ready:
        create_site(root, alias, alias, OWNER)
        wait_until_ready(root, url, timeout=30, interval=0.05)
    return client(server, url)


def apply_lists(
    site: SiteClient, template: Template, keys: tuple[str, ...], *, skip_fields: set[str] = frozenset()
) -> dict[str, str]:
    """Create the template's lists ``keys`` with their fields; returns list key -> list id."""
    ids: dict[str, str] = {}
    for key in keys:
        ldef = template.get_list(key)
        leaf = ldef.url.split("/")[-1]
        d = site.call(
            "POST",
            "Web/lists",
            {"Title": leaf, "BaseTemplate": 100, "Description": "", "__metadata": {"type": "SP.List"}},
        )
        ids[key] = str(d["Id"])
        if leaf != ldef.title:
            site.call(
                "MERGE",
                f"Web/lists(guid'{ids[key]}')",
                {"Title": ldef.title, "__metadata": {"type": "SP.List"}},
            )
    for key in keys:
        ldef = template.get_list(key)
        for fdef in ldef.fields:
            if fdef.name in skip_fields:
                continue
            if fdef.lookup_list and fdef.lookup_list not in ids:
                continue
            xml = ldef.schema_xml(fdef.name, list_ids=ids)
            site.call(
                "POST",
                f"Web/lists(guid'{ids[key]}')/Fields/CreateFieldAsXml",
                {
                    "parameters": {
                        "SchemaXml": xml,
                        "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                    }
                },
            )
    return ids


def make_hub(server: EmulatorServer, alias: str = "portefolje") -> tuple[SiteClient, str]:
    hub = make_site(server, alias)
    hub_id = register_hub(hub)
    apply_lists(hub, load_bundle().hub, HUB_LISTS)
    return hub, hub_id


def make_project(
    server: EmulatorServer,
    hub: SiteClient,
    hub_id: str,
    alias: str,
    *,
    title: str | None = None,
    phase: str = "Konsept",
    skip_fields: set[str] = frozenset(),
    register: bool = True,
) -> SiteClient:
    """A project site with the source lists, joined to the hub and registered in Prosjekter."""
    site = make_site(server, alias)
    join_hub(site, hub_id)
    apply_lists(site, load_bundle().project, PROJECT_LISTS, skip_fields=skip_fields)
    props = {"Title": title or alias, "GtProjectPhase": phase}
    assert all(r.ok for r in site.create_items("Prosjektegenskaper", [props]))
    if register:
        assert all(
            r.ok for r in hub.create_items("Prosjekter", [{"Title": title or alias, "GtSiteUrl": site.url}])
        )
    return site


def add_items(site: SiteClient, title: str, rows: list[dict[str, Any]]) -> list[int]:
    results = site.create_items(title, rows)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    return [int(r.value["Id"]) for r in results]
