"""Fast seeding (``veiviser.emulator.seed``): copies of a provisioned project site behave, through the
real client and the real sync, exactly like sites built by REST calls."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.emulator import connection_settings
from tests.support.sync import assert_exact, client, portfolio, run_sync, seed
from veiviser.emulator.seed import Seeder, SeedError
from veiviser.emulator.server import EmulatorServer
from veiviser.sharepoint import RateLimiter, RequestCounter, connect
from veiviser.sync.options import SyncOptions
from veiviser.sync.run import sync_portfolio
from veiviser.sync.state import StateStore


def _copies(server: EmulatorServer, provisioned_hub: Any, aliases: list[str]) -> tuple[Any, list[Any]]:
    """A hub, one project provisioned for real (with items), and copies of it at ``aliases``."""
    pf = portfolio(provisioned_hub)
    proto = pf.project("proto", title="Prototype")
    seed(proto)
    seeder = Seeder(server.app)
    paths = [f"/sites/{a}" for a in aliases]
    assert seeder.clone_site("/sites/proto", paths) == len(aliases)
    register = proto_register_item(pf.hub, proto.url)
    new_ids = seeder.clone_item(
        "/sites/portefolje",
        "Prosjekter",
        register,
        [{"/sites/proto": p, "Prototype": a} for p, a in zip(paths, aliases, strict=True)],
    )
    assert len(new_ids) == len(aliases) and register not in new_ids
    return pf, [proto] + [client(server, f"{server.url}{p}") for p in paths]


def proto_register_item(hub: Any, url: str) -> int:
    rows = [r for r in hub.iter_items("Prosjekter", select=["ID", "GtSiteUrl"]) if r["GtSiteUrl"] == url]
    assert len(rows) == 1
    return int(rows[0]["ID"])


def test_copies_read_like_the_prototype_with_their_own_ids(server, provisioned_hub):
    _, sites = _copies(server, provisioned_hub, ["kopi1", "kopi2"])
    proto, first, second = sites
    ids = {s.url: s.call("GET", "Web?$select=Id")["Id"] for s in sites}
    assert len(set(ids.values())) == 3
    for title in ("Usikkerhet", "Gevinstoppfølging", "Prosjektegenskaper"):
        original = list(proto.iter_items(title, select=["ID", "Title", "GUID"]))
        for copy in (first, second):
            rows = list(copy.iter_items(title, select=["ID", "Title", "GUID"]))
            assert [(r["ID"], r["Title"]) for r in rows] == [(r["ID"], r["Title"]) for r in original]
            assert not {r["GUID"] for r in rows} & {r["GUID"] for r in original}
        list_ids = {s.resolve_list(title).id for s in sites}
        assert len(list_ids) == 3
    # the copies are joined to the hub like the prototype
    hub_ids = {s.call("GET", "Site?$select=HubSiteId")["HubSiteId"] for s in sites}
    assert len(hub_ids) == 1 and next(iter(hub_ids)) != "00000000-0000-0000-0000-000000000000"


def test_copies_sync_exactly_and_their_change_tokens_hold(server, provisioned_hub, state_store: StateStore):
    pf, sites = _copies(server, provisioned_hub, ["kopi1", "kopi2", "kopi3"])
    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == 0, report.to_dict()
    assert_exact(pf.hub, sites, state_store)
    # nothing changed: one request per site, from the tokens the copies answered with
    unchanged = counted_sync(server, pf.hub.url, state_store)
    # one edit in one copy: that copy's change log has it, the others' logs stay empty
    item = next(iter(sites[2].iter_items("Usikkerhet", select=["ID"])))
    edit = sites[2].update_items("Usikkerhet", {int(item["ID"]): {"Title": "Endret i kopi"}})
    assert all(r.ok for r in edit)
    edited = counted_sync(server, pf.hub.url, state_store)
    assert_exact(pf.hub, sites, state_store)
    # only the edited copy costs more than its one request: its items, the central ETags, the write
    assert 0 < edited - unchanged <= 4
    titles = [t for _, t in central_titles(pf.hub)]
    assert titles.count("Endret i kopi") == 1


def counted_sync(server: EmulatorServer, hub_url: str, store: StateStore) -> int:
    """One sync run; returns its HTTP requests."""
    counter = RequestCounter()
    report = sync_portfolio(
        hub_url,
        settings=connection_settings(server),
        state=store,
        counter=counter,
        limiter=RateLimiter(1e9, 1),
        options=SyncOptions(),
    )
    assert report.exit_code == 0, report.to_dict()
    return counter.total


def central_titles(hub: Any) -> list[tuple[str, str]]:
    return [
        (r["GtSourceKey"], r["Title"])
        for r in hub.iter_items("Porteføljeusikkerhet", select=["GtSourceKey", "Title"])
    ]


def test_a_taken_path_is_refused_before_anything_is_written(server, provisioned_hub):
    pf = portfolio(provisioned_hub)
    pf.project("proto")
    seeder = Seeder(server.app)
    before = len(server.app.store.under("site", ""))
    with pytest.raises(SeedError, match="already exists at /sites/portefolje"):
        seeder.clone_site("/sites/proto", ["/sites/ny", "/sites/portefolje"])
    assert len(server.app.store.under("site", "")) == before
    with pytest.raises(SeedError, match="no site at /sites/mangler"):
        seeder.clone_site("/sites/mangler", ["/sites/ny"])


def test_call_answers_in_process_and_names_a_refusal(server):
    seeder = Seeder(server.app)
    assert seeder.call("GET", "", "Web?$select=Title")["Title"]
    with pytest.raises(
        SeedError, match=r"GET /_api/Web/lists/GetByTitle\('Finnes ikke'\) was refused \(404\)"
    ):
        seeder.call("GET", "", "Web/lists/GetByTitle('Finnes ikke')")
    # the meter and the request log never see seeding calls
    assert server.log.count("GET", "/_api/web") == 0
    site = connect(server.url, connection_settings(server), limiter=RateLimiter(1e9, 1))
    assert site.call("GET", "Web?$select=Title")["Title"]
