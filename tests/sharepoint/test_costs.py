"""The client's estimate of each request's RU (docs/sharepoint.md, "Resource units per request")
against the emulator's meter: the same figure per call, and the same total for a whole
provisioning and sync through the real client."""

from __future__ import annotations

import pytest

from tests.support.sync import add_items, portfolio, run_sync, seed
from veiviser.emulator.throttle import request_cost
from veiviser.sharepoint import RateLimiter
from veiviser.sharepoint.costs import call_ru

SITE = "https://kommune.sharepoint.com/sites/p1/_api"
TOKEN = b'{"query": {"ChangeTokenStart": {"StringValue": "1;3;x;1;2"}}}'

CALLS = [
    ("GET", "/Web", b"", 1),
    ("GET", "/Web?$select=Title", b"", 1),
    ("GET", "/Web/lists", b"", 2),
    ("GET", "/Web/lists/GetByTitle('Usikkerhet')/items(3)", b"", 1),
    ("GET", "/Web/lists/GetByTitle('Usikkerhet')/items", b"", 2),
    ("GET", "/Web/lists/GetByTitle('Usikkerhet')/items?$filter=ID%20ge%205&$top=500", b"", 2),
    ("GET", "/Web/lists/GetByTitle('Usikkerhet')/items(3)?$expand=RoleAssignments", b"", 5),
    ("POST", "/contextinfo", b"", 1),
    ("POST", "/Web/lists/GetByTitle('Usikkerhet')/items", b"{}", 2),
    ("DELETE", "/Web/lists/GetByTitle('Usikkerhet')/items(3)", b"", 2),
    ("POST", "/site/GetChanges", b'{"query": {"Item": true}}', 2),
    ("POST", "/site/GetChanges", TOKEN, 1),
    ("POST", "/Web/lists/GetByTitle('Usikkerhet')/GetItems", b"{}", 2),
    ("POST", "/Web/BreakRoleInheritance(true)", b"", 5),
]


@pytest.mark.parametrize(("method", "path", "body", "ru"), CALLS)
def test_each_call_is_estimated_as_the_meter_charges_it(method: str, path: str, body: bytes, ru: int) -> None:
    url = SITE + path
    local, _, query = url.partition("?")
    assert call_ru(method, url, body) == ru
    assert request_cost(method, local.split("sharepoint.com", 1)[1], query, body) == ru


def test_a_whole_provisioning_and_sync_is_paced_by_what_the_meter_charges(
    server, provisioned_hub, state_store
) -> None:
    """Every request the real client sends, $batch members included, is charged by the limiter as
    the emulator's meter charges it: the two totals agree to the RU."""
    server.set_throttle(10**9)  # the meter counts, never refuses
    assert server.meter is not None
    limiter = RateLimiter(1e9, learn=False)
    pf = portfolio(provisioned_hub, limiter=limiter)
    site = pf.project("kostnad")
    seed(site, n=4)
    for _ in range(2):  # initial, then after one edit
        report = run_sync(server, pf.hub, state_store, limiter=limiter, feedback=True)
        assert report.exit_code == 0, report.to_dict()
        add_items(site, "Usikkerhet", [{"Title": "Ny"}])
    ru, requests_count, throttled = server.meter.totals()
    assert throttled == 0 and requests_count > 100
    assert limiter.charged == ru
