"""Round zero of a site's read (docs/sync.md, "One site, step by step"): one site-scope getChanges
settles an unchanged site in one request of one resource unit, item changes come from it as they
are, and a change to a list itself falls back to the full round one."""

from __future__ import annotations

from tests.support.sync import add_items, assert_exact, portfolio, run_sync, seed
from veiviser.sync.read import SITE_TOKEN
from veiviser.sync.state import StateStore


def _metered(server, fn):
    server.set_throttle(10**9)  # a budget no test reaches: the meter only counts
    server.log.reset()
    report = fn()
    assert report.exit_code == 0, report.to_dict()
    ru, _, refused = server.meter.totals()
    assert refused == 0
    return ru, server.log.totals()["http"]


def _get_changes(server) -> int:
    """getChanges calls of any scope, at the top level or in a $batch."""
    return sum(n for (_, m, e), n in server.log.counts().items() if m == "POST" and e.endswith("/getchanges"))


def test_an_unchanged_site_costs_one_request_of_one_ru(server, provisioned_hub, state_store: StateStore):
    pf = portfolio(provisioned_hub)
    sites = [pf.project("alfa"), pf.project("beta")]
    for s in sites:
        seed(s)
    assert run_sync(server, pf.hub, state_store).exit_code == 0
    stored = state_store.tokens_for_url(sites[0].url)
    assert stored[SITE_TOKEN].token.startswith("1;1;")  # the site collection's own token
    ru_empty, requests_empty = _metered(server, lambda: run_sync(server, pf.hub, state_store))
    # two project sites: their share is one request and one RU each; the rest is the hub's
    pf.project("gamma")  # a third, new site: reads in full this time
    assert run_sync(server, pf.hub, state_store).exit_code == 0
    ru_three, requests_three = _metered(server, lambda: run_sync(server, pf.hub, state_store))
    assert requests_three - requests_empty == 1
    assert ru_three - ru_empty == 1


def test_item_changes_come_from_the_site_query_and_list_changes_fall_back(
    server, provisioned_hub, state_store: StateStore
):
    pf = portfolio(provisioned_hub)
    site = pf.project("alfa")
    seed(site)
    assert run_sync(server, pf.hub, state_store).exit_code == 0
    first = next(iter(site.iter_items("Usikkerhet", select=["ID"])))["ID"]
    assert all(r.ok for r in site.update_items("Usikkerhet", {int(first): {"Title": "Ny tittel"}}))
    add_items(site, "Interessentregister", [{"Title": "Ny interessent"}])
    before = state_store.tokens_for_url(site.url)
    server.log.reset()
    assert run_sync(server, pf.hub, state_store).exit_code == 0
    assert_exact(pf.hub, [site], state_store)
    # round zero answered the changes: no list's getChanges was sent, and the list tokens stayed
    assert server.log.count("POST", "/_api/site/getchanges", kind=None) == 1
    assert _get_changes(server) == 1  # no list's own getChanges
    after = state_store.tokens_for_url(site.url)
    assert after["risks"].token == before["risks"].token
    assert after[SITE_TOKEN].token != before[SITE_TOKEN].token
    # a change to a list itself (its properties updated): round one runs, with every list's query
    lst = site.resolve_list("Usikkerhet")
    site.call("MERGE", f"Web/lists(guid'{lst.id}')", {"Description": "x", "__metadata": {"type": "SP.List"}})
    server.log.reset()
    assert run_sync(server, pf.hub, state_store).exit_code == 0
    assert server.log.count("POST", "/_api/site/getchanges", kind=None) == 1
    assert _get_changes(server) == 1 + 6  # then each list's, in round one
