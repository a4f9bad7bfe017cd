"""The RU meter's cost table and running totals (docs/emulator.md, "Resource units per request"),
observed through the real client on the real object model."""

from __future__ import annotations

import requests

from tests.support.sync import client, make_site
from veiviser.emulator.throttle import ResourceMeter, request_cost


def test_cost_table():
    assert request_cost("GET", "/sites/a/_api/Web") == 1
    assert request_cost("GET", "/sites/a/_api/Web/lists") == 2
    assert request_cost("GET", "/sites/a/_api/Web/lists/GetByTitle('x')/items", "$filter=ID%20eq%201") == 2
    assert request_cost("POST", "/sites/a/_api/contextinfo") == 1
    assert request_cost("POST", "/sites/a/_api/Web/lists/GetByTitle('x')/items") == 2
    assert request_cost("DELETE", "/sites/a/_api/Web/lists/GetByTitle('x')/items(3)") == 2
    changes = "/sites/a/_api/Web/lists/GetByTitle('x')/GetChanges"
    assert request_cost("POST", changes, body=b'{"query": {"Item": true}}') == 2
    with_token = b'{"query": {"ChangeTokenStart": {"StringValue": "1;3;x;1;2"}}}'
    assert request_cost("POST", changes, body=with_token) == 1
    assert request_cost("POST", "/sites/a/_api/Web/BreakRoleInheritance(true)") == 5
    assert request_cost("GET", "/sites/a/_api/Web/lists('x')/items(3)", "$expand=RoleAssignments") == 5


def test_totals_count_what_was_allowed_and_reset():
    meter = ResourceMeter(5, window_s=10)
    assert meter.charge(2, now=0).allowed and meter.charge(2, now=1).allowed
    assert not meter.charge(2, now=2).allowed
    assert meter.totals() == (4, 2, 1)
    meter.reset_totals()
    assert meter.totals() == (0, 0, 0)
    assert not meter.charge(1, now=3).allowed  # the window and the block are kept


def test_batch_members_are_charged_one_by_one(server):
    site = make_site(server, "maaler")
    site.call(
        "POST",
        "Web/lists",
        {"Title": "Maal", "BaseTemplate": 100, "Description": "", "__metadata": {"type": "SP.List"}},
    )
    assert all(r.ok for r in site.create_items("Maal", [{"Title": "varm"}]))  # digest and list known
    server.set_throttle(10**9)
    assert server.meter is not None
    assert site.call("GET", "Web?$select=Title")["Title"] == "maaler"
    assert server.meter.totals() == (1, 1, 0)
    server.meter.reset_totals()
    created = site.create_items("Maal", [{"Title": f"R{i}"} for i in range(3)])
    assert all(r.ok for r in created)
    assert server.meter.totals() == (6, 3, 0)  # three writes of 2 RU; the $batch envelope is free
    assert len(list(client(server, site.url).iter_items("Maal", select=["ID"]))) == 4


def _read_batch(server, site_url: str, reads: int) -> requests.Response:
    """A raw ``$batch`` of ``reads`` GETs of the web (1 RU each)."""
    auth = {"Authorization": f"Bearer {server.token}"}
    digest = requests.post(site_url + "/_api/contextinfo", headers=auth, timeout=10).json()
    value = digest["d"]["GetContextWebInformation"]["FormDigestValue"]
    part = (
        "--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {site_url}/_api/Web HTTP/1.1\r\nAccept: application/json;odata=verbose\r\n\r\n"
    )
    return requests.post(
        site_url + "/_api/$batch",
        data=(part * reads + "--batch_1--\r\n").encode(),
        headers=auth | {"X-RequestDigest": value, "Content-Type": "multipart/mixed; boundary=batch_1"},
        timeout=10,
    )


def test_a_batch_envelope_carries_the_rate_limit_headers(server):
    site = make_site(server, "konvolutt")
    server.set_throttle(20)
    first = _read_batch(server, site.url, 5)  # contextinfo 1 + 5 members = 6 of 20: no headers
    assert first.status_code == 200 and "RateLimit-Remaining" not in first.headers
    second = _read_batch(server, site.url, 10)  # 6 + 1 + 10 = 17 of 20 (85 %)
    assert second.status_code == 200
    assert second.headers["RateLimit-Limit"] == "20"
    assert second.headers["RateLimit-Remaining"] == "3"
    assert int(second.headers["RateLimit-Reset"]) >= 1
