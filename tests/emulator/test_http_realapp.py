"""The HTTP-layer contract tests ($batch, faults, throttling, auth) again, over the real SharePointApp.

The originals in ``test_batch_wire.py``, ``test_faults_throttle.py`` and ``test_server_http.py``
run over the test-only ``MiniApp``. Importing them here re-runs them unchanged with this module's
``emulator`` fixture: the real object model with ``/sites/demo`` and the lists they use created
up front (SharePoint does not create lists on first use, MiniApp does). The raw-wire ``$batch``
test gets a variant that reads the list's real ``ListItemEntityTypeFullName``.
"""

from __future__ import annotations

import json

import pytest
import requests
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

from tests.emulator.test_batch_wire import (  # noqa: F401  (re-collected here over the real app)
    RAW_BATCH,
    _digest,
    _parts,
    test_changeset_and_gets_mapped_positionally,
    test_expired_digest_on_a_batch_is_recovered,
    test_one_failing_part_does_not_undo_the_others,
)
from tests.emulator.test_faults_throttle import (  # noqa: F401
    test_batch_members_are_charged_and_throttled_individually,
    test_client_honours_retry_after_and_early_retry_is_punished,
    test_path_rule_nth_count_and_body_fragment,
    test_plain_execute_query_surfaces_429,
    test_random_faults_per_batch_sub_response,
    test_ratelimit_headers_from_80_percent_then_429,
    test_scripted_sub_response_faults,
)
from tests.emulator.test_server_http import (  # noqa: F401
    test_connect_is_refused_with_a_clear_error,
    test_expired_digest_is_recovered_by_the_client,
    test_malformed_requests_get_sharepoint_errors_and_server_survives,
    test_missing_and_wrong_token_get_401,
    test_oversized_body_is_refused_with_413,
    test_web_get_with_real_client_and_headers,
    test_x_http_method_merge_and_delete,
)
from veiviser.emulator.server import EmulatorServer

SITE = "/sites/demo"
LISTS = ("Gevinster", "Risiko", "Interessenter", "R", "Prosjekt Status æøå")


@pytest.fixture
def emulator(server: EmulatorServer) -> EmulatorServer:
    """The shared ``server`` (the real object model) with /sites/demo and the tests' lists."""
    auth = {"Authorization": f"Bearer {server.token}", "Accept": "application/json;odata=verbose"}
    digest = requests.post(server.url + "/_api/contextinfo", headers=auth, timeout=10).json()
    auth["X-RequestDigest"] = digest["d"]["GetContextWebInformation"]["FormDigestValue"]
    for alias in ("demo", "other"):
        r = requests.post(
            server.url + "/_api/spSiteManager/Create",
            headers=auth,
            timeout=10,
            json={
                "request": {
                    "Title": alias.title(),
                    "Url": f"{server.url}/sites/{alias}",
                    "Owner": "eier@kommune.no",
                    "Lcid": 1044,
                    "WebTemplate": "STS#3",
                }
            },
        )
        assert r.status_code == 200, r.text
    ctx = ClientContext(server.url + SITE).with_access_token(server.access_token)
    for title in LISTS:
        ctx.web.lists.add(ListCreationInformation(title, None, 100))
    ctx.execute_batch()
    server.log.reset()
    return server


def test_raw_dialect_over_the_real_model(emulator):
    """Section 7's raw dialect (LF, preamble, UTF-8 and spaces in URLs, changeset) with the real entity type."""
    headers = _digest(emulator)
    base_list = emulator.url + SITE + "/_api/Web/lists/GetByTitle('Prosjekt Status æøå')"
    entity = requests.get(
        base_list, headers=headers | {"Accept": "application/json;odata=verbose"}, timeout=10
    ).json()["d"]["ListItemEntityTypeFullName"]
    assert entity.startswith("SP.Data.") and entity.endswith("ListItem")
    for title in ("one", "two"):
        r = requests.post(
            base_list + "/items",
            headers=headers,
            timeout=10,
            json={"Title": title, "__metadata": {"type": entity}},
        )
        assert r.status_code == 201, r.text
    body = RAW_BATCH.replace("SP.Data.MiniListItem", entity).format(base=emulator.url).encode("utf-8")
    r = requests.post(
        emulator.url + SITE + "/_api/$batch",
        data=body,
        timeout=10,
        headers=headers | {"Content-Type": "multipart/mixed; boundary=batch_1"},
    )
    assert r.status_code == 200
    parts = _parts(r)
    assert [s for s, _ in parts] == [201, 204, 200, 200, 400]
    assert json.loads(parts[0][1])["d"]["Title"] == "Ny rad"
    assert json.loads(parts[3][1])["d"]["Title"] == "Endret"
    rows = requests.get(
        base_list + "/items", headers=headers | {"Accept": "application/json;odata=verbose"}, timeout=10
    ).json()["d"]["results"]
    assert [row["Title"] for row in rows] == ["Endret", "Ny rad"]


def test_250_operations_over_the_real_model(emulator, make_context):
    """100-operation batches; reading back needs $top or paging (SPO's default page is 100 rows)."""
    ctx = make_context()
    lst = ctx.web.lists.get_by_title("Gevinster")
    lst.items.queue_records([{"Title": f"G{i:03d}"} for i in range(250)])
    ctx.execute_batch()
    assert len(lst.items.get().execute_query()) == 100
    titles = [i.properties["Title"] for i in lst.items.top(5000).get().execute_query()]
    assert titles == [f"G{i:03d}" for i in range(250)]
    assert emulator.log.count("POST", "/_api/$batch", kind="batch") == 4
    assert emulator.log.count("POST", kind="batch-part") == 250


def test_write_without_digest_then_with_one(emulator):
    auth = {"Authorization": f"Bearer {emulator.token}", "Accept": "application/json;odata=verbose"}
    url = emulator.url + SITE + "/_api/Web/lists/GetByTitle('R')/items"
    r = requests.post(url, headers=auth, json={"Title": "x", "__metadata": {"type": "SP.Data.RListItem"}})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "-2130575251, Microsoft.SharePoint.SPException"
    info = requests.post(emulator.url + SITE + "/_api/ContextInfo", headers=auth).json()["d"][
        "GetContextWebInformation"
    ]
    assert info["WebFullUrl"] == emulator.url + SITE
    r = requests.post(
        url,
        headers=auth | {"X-RequestDigest": info["FormDigestValue"]},
        json={"Title": "x", "__metadata": {"type": "SP.Data.RListItem"}},
    )
    assert r.status_code == 201, r.text
    # SharePoint checks the entity type: a body without the list's __metadata.type is refused
    r = requests.post(url, headers=auth | {"X-RequestDigest": info["FormDigestValue"]}, json={"Title": "y"})
    assert r.status_code == 400


def test_proxy_mode_over_the_real_model(emulator):
    proxies = {"http": emulator.url}
    ctx = ClientContext("http://contoso.sharepoint.com/sites/demo").with_access_token(emulator.access_token)
    ctx.with_transport(proxies=proxies, timeout=(10, 60))
    assert ctx.web.get().execute_query().properties["Url"] == "http://contoso.sharepoint.com/sites/demo"
    lst = ctx.web.lists.get_by_title("Prosjekt Status æøå")
    lst.items.queue_records([{"Title": "æ ø å"}, {"Title": "b"}])
    ctx.execute_batch()
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == ["æ ø å", "b"]
    admin = ClientContext("http://contoso-admin.sharepoint.com").with_access_token(emulator.access_token)
    admin.with_transport(proxies=proxies, timeout=(10, 60))
    assert admin.web.get().execute_query().properties["Url"] == "http://contoso-admin.sharepoint.com"
