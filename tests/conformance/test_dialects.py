"""The JSON light dialects (``odata=nometadata``, ``odata=minimalmetadata``) next to verbose,
with plain ``requests`` as PnPjs, PnP Core or the CLI for Microsoft 365 would send them
(docs/emulator.md, "Dialects")."""

from __future__ import annotations

import pytest

from tests.conformance.spo import MINIMAL, NOMETADATA, VERBOSE, SiteData, build_site
from veiviser.emulator.odata import dialect_of


@pytest.fixture
def data(server) -> SiteData:
    return build_site(server)


@pytest.mark.parametrize(
    ("accept", "dialect"),
    [
        ("application/json;odata=verbose", "verbose"),
        ("application/json;odata=nometadata", "nometadata"),
        ("application/json; odata=minimalmetadata", "minimalmetadata"),
        ("application/json", "minimalmetadata"),
        ("text/html, application/json;q=0.9", "minimalmetadata"),
        ("*/*", "verbose"),
        (None, "verbose"),
    ],
)
def test_accept_header_picks_the_dialect(accept, dialect):
    assert dialect_of(accept) == dialect


def test_entity_in_nometadata_has_no_wrapper_metadata_or_deferred_links(data):
    r = data.rest.call("GET", "/_api/web/lists/getbytitle('Sample')", accept=NOMETADATA)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json;odata=nometadata")
    body = r.json()
    assert "d" not in body and "__metadata" not in body
    assert body["Title"] == "Sample" and body["BaseTemplate"] == 100
    assert "Fields" not in body  # deferred navigation properties are left out
    assert set(body["CurrentChangeToken"]) == {"StringValue"}  # a complex value without its type
    verbose = data.rest.call("GET", "/_api/web/lists/getbytitle('Sample')", accept=VERBOSE).json()["d"]
    plain = {
        k for k, v in verbose.items() if k != "__metadata" and not (isinstance(v, dict) and "__deferred" in v)
    }
    assert set(body) == plain


def test_collections_are_value_arrays_and_paging_uses_odata_nextlink(data):
    r = data.rest.call("GET", "/_api/web/lists/getbytitle('Sample')/items?$top=2", accept=NOMETADATA)
    body = r.json()
    assert set(body) == {"value", "odata.nextLink"}
    assert [row["Title"] for row in body["value"]] == ["Item 0", "Item 1"]
    nxt = data.rest.call("GET", body["odata.nextLink"], accept=NOMETADATA).json()
    assert [row["Title"] for row in nxt["value"]] == ["Item 2"] and "odata.nextLink" not in nxt


def test_item_values_of_every_kind_in_nometadata(data):
    r = data.rest.call(
        "GET", f"/_api/web/lists/getbytitle('Sample')/items({data.items[0]})", accept=NOMETADATA
    )
    item = r.json()
    assert item["KMulti"] == ["A", "C"]  # a collection is a plain array
    assert item["KUrl"] == {"Url": "https://example.org/", "Description": "Ex"}
    assert item["KLookupMultiId"] == [1, 2]
    assert item["KPeopleId"] == list(data.users.values())
    assert set(item["KTerm"]) == {"Label", "TermGuid", "WssId"}
    assert not any(isinstance(v, dict) and "__metadata" in v for v in item.values())


def test_expanded_lookups_are_inline_objects(data):
    path = (
        f"/_api/web/lists/getbytitle('Sample')/items({data.items[0]})"
        "?$select=Title,KLookup/Title,KPeople/Title&$expand=KLookup,KPeople"
    )
    item = data.rest.call("GET", path, accept=NOMETADATA).json()
    assert item["KLookup"] == {"Title": "Alpha"}
    assert [p["Title"] for p in item["KPeople"]] == ["Kari Nordmann", "Ola Nordmann"]


def test_minimalmetadata_carries_context_type_and_edit_link(data):
    r = data.rest.call("GET", "/_api/web/lists/getbytitle('Sample')/items", accept=MINIMAL)
    assert r.headers["Content-Type"].startswith("application/json;odata=minimalmetadata")
    body = r.json()
    assert body["odata.metadata"].startswith(data.rest.base + "/_api/$metadata#")
    first = body["value"][0]
    assert first["odata.type"] == data.lists["Sample"]["ListItemEntityTypeFullName"]
    assert first["odata.editLink"].startswith("Web/Lists(guid'")
    assert first["odata.etag"].startswith('"')
    single = data.rest.call("GET", "/_api/web", accept=MINIMAL).json()
    assert single["odata.metadata"].endswith("#SP.Web/@Element") and single["odata.type"] == "SP.Web"


def test_errors_in_json_light_are_odata_error(data):
    r = data.rest.call("GET", "/_api/web/lists/getbytitle('Nope')", accept=NOMETADATA)
    assert r.status_code == 404
    err = r.json()["odata.error"]
    assert err["code"] == "-1, System.ArgumentException"
    assert err["message"]["value"].startswith("List 'Nope' does not exist")


def test_service_operation_results(data):
    scalar = data.rest.call(
        "POST", f"/_api/web/lists/getbytitle('Sample')/items({data.items[2]})/recycle", accept=NOMETADATA
    ).json()
    assert set(scalar) == {"value"} and len(scalar["value"]) == 36
    info = data.rest.call("POST", "/_api/contextinfo", accept=NOMETADATA).json()
    assert "FormDigestValue" in info and "GetContextWebInformation" not in info
    user = data.rest.call(
        "POST",
        "/_api/web/ensureuser",
        {"logonName": "i:0#.f|membership|leder@kommune.no"},
        accept=NOMETADATA,
    ).json()
    assert user["LoginName"] == "i:0#.f|membership|leder@kommune.no" and "__metadata" not in user


def test_batch_parts_answer_in_their_own_dialect(data):
    rest = data.rest
    boundary = "batch_6f0b"
    parts = []
    for accept in (NOMETADATA, VERBOSE):
        parts.append(
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"GET {rest.base}/_api/web/lists/getbytitle('Sample')?$select=Title HTTP/1.1\r\n"
            f"Accept: {accept}\r\n\r\n"
        )
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    r = rest.call(
        "POST", "/_api/$batch", raw=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}
    )
    assert r.status_code == 200
    text = r.text
    assert '{"Title":"Sample"}' in text
    assert '"d":{"__metadata"' in text


def test_item_body_without_metadata_as_json_light_clients_send_it(data):
    def add(body: bytes, dialect: str):
        return data.rest.call(
            "POST",
            "/_api/web/lists/getbytitle('Targets')/items",
            raw=body,
            accept=NOMETADATA,
            headers={"Content-Type": f"application/json;odata={dialect}"},
        )

    r = add(b'{"Title":"Gamma"}', "nometadata")
    assert r.status_code == 201, r.text
    assert r.json()["Title"] == "Gamma"
    minimal = add(b'{"Title":"Delta"}', "minimalmetadata")
    assert minimal.status_code == 201, minimal.text
    # a verbose body must still name its type, and a wrong type is refused in any dialect
    verbose = add(b'{"Title":"Epsilon"}', "verbose")
    assert verbose.status_code == 400 and "ListItemEntityTypeFullName" in verbose.text
    wrong = add(b'{"__metadata":{"type":"SP.Data.OtherListItem"},"Title":"Zeta"}', "nometadata")
    assert wrong.status_code == 400
