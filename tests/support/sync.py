"""Helpers for the sync tests: sites built on the gateway, exact source/central comparison, a
Retry-After watch and a seeded killer.

Most tests provision with the real :class:`~veiviser.provisioning.engine.Provisioner` (the shared
``provisioned_hub`` fixture). The site builders here make what the provisioner deliberately never
makes: project sites with some fields left out, Prosjektportalen 365-style sites, sites joined to
the hub but missing from the register. Lists are created through the gateway with their fields as
SchemaXml (lookups after their targets).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.emulator import OWNER, connection_settings
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import ProjectRequest, Provisioner
from veiviser.schemas.template import Template
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint import RateLimiter, RequestCounter, SiteClient, connect
from veiviser.sharepoint.sites import (
    create_site,
    join_hub,
    register_hub,
    site_info,
    site_status,
    wait_until_ready,
)
from veiviser.sync.kinds import SOURCE_KINDS
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import SyncReport
from veiviser.sync.run import sync_portfolio
from veiviser.sync.state import StateStore

PROJECT_LISTS = ("risks", "stakeholders", "changes", "benefits", "indicators", "measurements", "properties")


def client(server: EmulatorServer, url: str) -> SiteClient:
    """A client for ``url`` on ``server``, unpaced."""
    return connect(url, connection_settings(server), limiter=RateLimiter(1e9, 1))


def make_site(server: EmulatorServer, alias: str) -> SiteClient:
    """An empty site ``/sites/<alias>`` (created when missing)."""
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


@dataclass
class Portfolio:
    """A hub provisioned by the real :class:`Provisioner`, and its project sites."""

    prov: Provisioner
    hub: SiteClient
    hub_id: str

    def project(self, alias: str, *, title: str | None = None, phase: str = "Konsept") -> SiteClient:
        """A project site with the full project template, joined to the hub and in its register."""
        result = self.prov.project(ProjectRequest(title=title or alias, alias=alias, phase=phase))
        assert result.ok, result.error
        return self.prov.client(result.url)

    def joined_only(self, server: EmulatorServer, alias: str, *, title: str | None = None) -> SiteClient:
        """A project site joined to the hub but missing from its register (the provisioner never
        leaves one like that)."""
        return make_joined_site(server, self.hub_id, alias, title=title)


def portfolio(provisioned_hub: Callable[..., Provisioner], **kwargs: Any) -> Portfolio:
    """:class:`Portfolio` from the shared ``provisioned_hub`` fixture."""
    prov = provisioned_hub(**kwargs)
    hub = prov.client(prov.hub_url)
    return Portfolio(prov, hub, register_hub(hub))


def make_joined_site(
    server: EmulatorServer, hub_id: str, alias: str, *, title: str | None = None, phase: str = "Konsept"
) -> SiteClient:
    """A project site built on the gateway with only the source lists, joined to the hub and not
    entered in its register."""
    site = make_site(server, alias)
    join_hub(site, hub_id)
    apply_lists(site, load_bundle().project, PROJECT_LISTS)
    props = {"Title": title or alias, "GtProjectPhase": phase}
    assert all(r.ok for r in site.create_items("Prosjektegenskaper", [props]))
    return site


def add_items(site: SiteClient, title: str, rows: list[dict[str, Any]]) -> list[int]:
    """Create ``rows`` in the list ``title``; returns their ids."""
    results = site.create_items(title, rows)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    return [int(r.value["Id"]) for r in results]


def run_sync(
    server: EmulatorServer,
    hub: SiteClient,
    store: StateStore,
    *,
    counter: RequestCounter | None = None,
    limiter: RateLimiter | None = None,
    **opts: Any,
) -> SyncReport:
    """One sync run of ``hub`` on ``server`` with :class:`SyncOptions` ``opts`` (and, if given,
    the request ``counter`` and the rate ``limiter``)."""
    return sync_portfolio(
        hub.url,
        settings=connection_settings(server),
        state=store,
        options=SyncOptions(**opts),
        counter=counter,
        limiter=limiter,
    )


def seed(site: SiteClient, n: int = 3, tag: str = "") -> None:
    """A few rows in every source list, the lookups chained (benefit ← indicator ← measurements)."""
    add_items(
        site,
        "Usikkerhet",
        [{"Title": f"R{tag}{i}", "GtRiskProbability": i % 6, "GtRiskConsequence": 2} for i in range(n)],
    )
    add_items(site, "Interessentregister", [{"Title": f"S{tag}{i}"} for i in range(n)])
    add_benefit_chain(
        site,
        [{"Title": f"B{tag}1"}, {"Title": f"B{tag}2"}],
        {"Title": f"I{tag}1", "GtStartValue": 1, "GtDesiredValue": 9},
        [{"Title": f"M{tag}{k}", "GtMeasurementValue": k} for k in range(2)],
    )


def add_benefit_chain(
    site: SiteClient,
    benefits: list[dict[str, Any]],
    indicator: dict[str, Any],
    measurements: list[dict[str, Any]],
) -> None:
    """Benefits, one indicator of the first benefit, and measurements of that indicator."""
    b = add_items(site, "Gevinstanalyse og gevinstrealiseringsplan", benefits)
    i = add_items(site, "Måleindikatorer", [{**indicator, "GtGainLookupId": b[0]}])
    add_items(site, "Gevinstoppfølging", [{**m, "GtMeasureIndicatorLookupId": i[0]} for m in measurements])


def cli_env(server: EmulatorServer) -> dict[str, str]:
    """Environment for the CLI against ``server``."""
    return {
        "VEIVISER_AUTH": "token",
        "VEIVISER_ACCESS_TOKEN": server.token,
        "VEIVISER_ORG": "Testkommune",
        "VEIVISER_ADMIN_URL": server.url,
        "VEIVISER_RETRY_MAX_TOTAL_SECONDS": "20",
        # The emulator throttles only when a test asks it to: no client-side pacing (a process's
        # limiter is shared per tenant, so a default budget would slow every later command).
        "VEIVISER_RU_PER_MINUTE": "1e9",
    }


# --- Prosjektportalen 365-style sites ------------------------------------------------------------


#: The phase term set and two of its terms, as Prosjektportalen 365 ships them.
TERMSET = "abcfc9d9-a263-4abb-8234-be973c46258a"
PLANLEGGE = "cda4f1e1-3488-4e57-8a04-6973df239689"
GJENNOMFORE = "99d7765a-c786-4792-a1a1-866ef0f982b9"


def _xml_field(site: SiteClient, list_title: str, xml: str) -> None:
    info = site.resolve_list(list_title)
    site.call(
        "POST",
        f"Web/lists(guid'{info.id}')/Fields/CreateFieldAsXml",
        {"parameters": {"SchemaXml": xml, "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"}}},
    )


def _taxonomy_phase(site: SiteClient, list_title: str) -> None:
    _xml_field(
        site,
        list_title,
        (
            '<Field Type="TaxonomyFieldType" Name="GtProjectPhase" StaticName="GtProjectPhase" DisplayName="Fase" '
            'ID="{325543a5-815d-485d-a9a5-e0773ad762e9}" ShowField="Term1044"><Customization><ArrayOfProperty>'
            f"<Property><Name>TermSetId</Name><Value>{TERMSET}</Value></Property>"
            "</ArrayOfProperty></Customization></Field>"
        ),
    )


def taxonomy_value(label: str, guid: str) -> dict[str, Any]:
    """A managed metadata value as SharePoint takes it in an item body."""
    return {
        "__metadata": {"type": "SP.Taxonomy.TaxonomyFieldValue"},
        "Label": label,
        "TermGuid": guid,
        "WssId": -1,
    }


def make_pp365_project(server: EmulatorServer, hub: SiteClient, hub_id: str, alias: str) -> SiteClient:
    """A site as Prosjektportalen 365 builds it: phase as a taxonomy value (with its hidden note
    field), probability without limits, the risk factor a calculated column created after its
    operands, and the projected lookup columns of Måleindikatorer/Gevinstoppfølging."""
    site = make_site(server, alias)
    join_hub(site, hub_id)
    pp365 = {"GtProjectPhase", "GtRiskProbability", "GtRiskFactor"}
    apply_lists(site, load_bundle().project, PROJECT_LISTS, skip_fields=pp365)
    for title in ("Usikkerhet", "Prosjektegenskaper"):
        _taxonomy_phase(site, title)
    _xml_field(
        site,
        "Usikkerhet",
        '<Field Type="Number" Name="GtRiskProbability" StaticName="GtRiskProbability" '
        'DisplayName="Sannsynlighet (S)" ID="{1e0c625d-c8b2-575c-9cf7-1b0492d5cdd3}" />',
    )
    _xml_field(
        site,
        "Usikkerhet",
        (
            '<Field Type="Calculated" Name="GtRiskFactor" StaticName="GtRiskFactor" DisplayName="Risikofaktor" '
            'ResultType="Number" ReadOnly="TRUE"><Formula>=GtRiskProbability*GtRiskConsequence</Formula>'
            '<FieldRefs><FieldRef Name="GtRiskProbability" /><FieldRef Name="GtRiskConsequence" /></FieldRefs></Field>'
        ),
    )
    fields = {
        f["InternalName"]
        for f in site.get(
            f"Web/lists(guid'{site.resolve_list('Gevinstoppfølging').id}')/Fields",
            {"$select": "InternalName"},
        )
    }
    assert {"GtMeasureIndicatorLookup_GtDesiredValue", "GtMeasureIndicatorLookup_ID"} <= fields
    assert all(
        r.ok
        for r in site.create_items(
            "Prosjektegenskaper",
            [{"Title": "PP365-prosjektet", "GtProjectPhase": taxonomy_value("Gjennomføre", GJENNOMFORE)}],
        )
    )
    assert all(
        r.ok for r in hub.create_items("Prosjekter", [{"Title": "PP365-prosjektet", "GtSiteUrl": site.url}])
    )
    return site


# --- checks, watches and kills ------------------------------------------------------------


CENTRAL = {
    "risks": "Porteføljeusikkerhet",
    "stakeholders": "Porteføljeinteressenter",
    "benefits": "Porteføljegevinster",
    "indicators": "Porteføljemåleindikatorer",
    "measurements": "Porteføljegevinstoppfølging",
}


def source_state(sites: list[SiteClient]) -> dict[str, set[tuple[str, str]]]:
    """kind -> {(source key, title)} read directly from the project sites."""
    out: dict[str, set[tuple[str, str]]] = {k: set() for k in SOURCE_KINDS}
    for site in sites:
        site_id = site_info(site).site_id.strip("{}").lower()
        for name, kind in SOURCE_KINDS.items():
            info = site.resolve_list(kind.list_title)
            site.forget_list(kind.list_title)
            for item in site.iter_items(info, select=["ID", "Title"]):
                out[name].add((f"{site_id}:{info.id.lower()}:{int(item['ID'])}", item["Title"]))
    return out


def central_state(hub: SiteClient) -> dict[str, list[tuple[str, str]]]:
    """kind -> [(GtSourceKey, Title)] on the hub (a list, so duplicates show)."""
    return {
        name: sorted(
            (r["GtSourceKey"], r["Title"])
            for r in hub.iter_items(title, select=["ID", "Title", "GtSourceKey"])
        )
        for name, title in CENTRAL.items()
    }


def assert_exact(hub: SiteClient, sites: list[SiteClient], store: StateStore | None = None) -> None:
    """Central lists (and the history's current rows) equal the sources: nothing lost or duplicated."""
    expected = source_state(sites)
    got = central_state(hub)
    for name in SOURCE_KINDS:
        dupes = [k for k, n in Counter(k for k, _ in got[name]).items() if n > 1]
        assert not dupes, f"{name}: duplicated on the hub: {dupes}"
        assert set(got[name]) == expected[name], (
            f"{name}: hub {sorted(got[name])} != source {sorted(expected[name])}"
        )
        if store is not None:
            frame = store.history_frame(name)
            current = set(zip(frame["source_key"], frame["Title"], strict=True)) if len(frame) else set()
            assert current == expected[name], (
                f"{name}: history {sorted(current)} != source {sorted(expected[name])}"
            )


@dataclass
class Exchange:
    arrived: float
    answered: float
    signature: tuple[Any, ...]
    status: int
    retry_after: float | None


@dataclass
class RetryWatch:
    """Records every request and ``$batch`` part the emulator serves (server clock) and finds
    re-sends of a throttled request that arrived before its ``Retry-After`` had passed."""

    server: EmulatorServer
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> RetryWatch:
        server = self.server
        top, part = server.handle_http, server._part

        def handle_http(method, scheme, host, path, query, headers, body, too_large=False):
            arrived = time.monotonic()
            resp = top(method, scheme, host, path, query, headers, body, too_large)
            # The client-request-id tells a transport re-send from another worker's equal request.
            self._add(
                arrived, ("top", method, path, query, bytes(body), headers.get("client-request-id")), resp
            )
            return resp

        def run_part(op, envelope, auth):
            arrived = time.monotonic()
            resp = part(op, envelope, auth)
            self._add(arrived, ("part", op.method, op.path, op.query, bytes(op.body or b"")), resp)
            return resp

        server.handle_http = handle_http  # type: ignore[method-assign]
        server._part = run_part  # type: ignore[method-assign]
        return self

    def _add(self, arrived: float, signature: tuple[Any, ...], resp: Any) -> None:
        raw = resp.headers.get("Retry-After")
        with self._lock:
            self.exchanges.append(
                Exchange(
                    arrived, time.monotonic(), signature, resp.status, float(raw) if raw is not None else None
                )
            )

    @property
    def throttled(self) -> int:
        return sum(1 for e in self.exchanges if e.status in (429, 503))

    def early_retries(self) -> list[tuple[Exchange, Exchange]]:
        """(throttled answer, re-send that came too early) pairs."""
        early = []
        with self._lock:
            exchanges = sorted(self.exchanges, key=lambda e: e.arrived)
        for i, first in enumerate(exchanges):
            if first.status not in (429, 503) or first.retry_after is None:
                continue
            for later in exchanges[i + 1 :]:
                if later.signature == first.signature and later.arrived > first.answered - 1e-3:
                    if later.arrived < first.answered + first.retry_after:
                        early.append((first, later))
                    break
        return early


class Killed(BaseException):
    """Stands for the process being killed (not an Exception: nothing may swallow it)."""


@dataclass
class Killer:
    """Raises :class:`Killed` at the ``at``-th event: an HTTP request about to go out, an answer
    just received (so the request took effect but the sync never learns it), or a store write."""

    at: int
    seen: int = 0
    fired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> None:
        with self._lock:
            self.seen += 1
            fire = self.seen == self.at
            self.fired = self.fired or fire
        if fire:
            raise Killed(f"killed at event {self.at}")


STORE_WRITES = ("record_versions", "record_deletions", "set_central", "drop_central", "set_tokens")


def install_killer(monkeypatch: Any, killer: Killer) -> None:
    """Hook :class:`Killer` into the gateway's HTTP session and the store's write methods."""
    from veiviser.sharepoint.transport import GatewaySession

    send = GatewaySession.send

    def killing_send(self, request, **kwargs):
        killer.tick()
        response = send(self, request, **kwargs)
        killer.tick()
        return response

    monkeypatch.setattr(GatewaySession, "send", killing_send)
    for name in STORE_WRITES:
        original = getattr(StateStore, name)

        def wrapper(self, *a, _original=original, **k):
            killer.tick()
            return _original(self, *a, **k)

        monkeypatch.setattr(StateStore, name, wrapper)


def seeded_points(seed: int, count: int, high: int) -> list[int]:
    return sorted(random.Random(seed).sample(range(1, high), count))
