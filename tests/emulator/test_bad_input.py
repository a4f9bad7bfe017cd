"""Bad input gets SPO's 4xx answer, never a 500, and never loses what was written
(docs/emulator.md, "Bad input").

The office365 client cannot send a malformed body, so the table is sent as raw HTTP (``requests``,
with the emulator's bearer token and a form digest); the unknown-property answer is also checked
through the real client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

from tests.support.emulator_model import create_site
from veiviser.emulator.server import EmulatorServer

BAD_QUERY = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"
ENTITY = "SP.Data.TListItem"
FIELDS = (
    '<Field Type="Number" Name="N" DisplayName="N"/>',
    '<Field Type="Boolean" Name="B" DisplayName="B"/>',
    '<Field Type="DateTime" Name="D" DisplayName="D"/>',
    '<Field Type="Choice" Name="C" DisplayName="C"><CHOICES><CHOICE>a</CHOICE></CHOICES></Field>',
    '<Field Type="MultiChoice" Name="M" DisplayName="M"><CHOICES><CHOICE>a</CHOICE></CHOICES></Field>',
    '<Field Type="User" Name="U" DisplayName="U"/>',
    '<Field Type="URL" Name="L" DisplayName="L"/>',
)


class Site:
    """A site with list ``T`` (one item, Title ``ok``) and raw-HTTP helpers."""

    def __init__(self, server: EmulatorServer) -> None:
        host = server.url.split("://", 1)[1]
        self.url = server.url + create_site(server.app, host=host)
        self.headers = {
            "Authorization": f"Bearer {server.token}",
            "Accept": "application/json;odata=verbose",
            "Content-Type": "application/json;odata=verbose",
        }
        info = requests.post(self.url + "/_api/contextinfo", headers=self.headers, timeout=30).json()
        self.headers["X-RequestDigest"] = info["d"]["GetContextWebInformation"]["FormDigestValue"]
        self.web = self.url + "/_api/web"
        made = self.send(
            "POST", "/lists", {"__metadata": {"type": "SP.List"}, "Title": "T", "BaseTemplate": 100}
        )
        self.list = f"/lists(guid'{made.json()['d']['Id']}')"
        for xml in FIELDS:
            body = {
                "parameters": {
                    "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                    "SchemaXml": xml,
                }
            }
            assert self.send("POST", self.list + "/fields/CreateFieldAsXml", body).status_code == 200
        assert self.send("POST", self.list + "/items", {"__metadata": {"type": ENTITY}, "Title": "ok"}).ok

    def send(
        self, method: str, path: str, body: Any = None, merge: bool = False, raw: bytes | None = None
    ) -> Any:
        headers = dict(self.headers)
        if merge:
            headers.update({"X-HTTP-Method": "MERGE", "IF-MATCH": "*"})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        url = path if path.startswith("http") else self.web + path
        return requests.request(method, url, headers=headers, data=data, timeout=30)


@pytest.fixture(scope="module")
def bad_site() -> Iterator[Site]:
    with EmulatorServer() as server:
        yield Site(server)


ITEM = "{list}/items(1)"

# (label, path, merge, JSON body or raw bytes, expected status, expected code or None)
WRONG_VALUES = [
    ("number as text", {"N": "abc"}),
    ("number as object", {"N": {"a": 1}}),
    ("yes/no as text", {"B": "x"}),
    ("date as garbage", {"D": "not a date"}),
    ("choice not offered", {"C": "zz"}),
    ("multi choice as bare array", {"M": ["a"]}),
    ("multi choice results not a list", {"M": {"results": "a"}}),
    ("person id as text", {"UId": "x"}),
    ("person id unknown", {"UId": 4711}),
    ("hyperlink as text", {"L": "http://x"}),
    ("title as array", {"Title": ["x"]}),
    ("required title emptied", {"Title": None}),
    ("title too long", {"Title": "x" * 300}),
    ("unknown property", {"Nope": 1}),
]
RAW_BODIES = [
    ("truncated JSON", b"{"),
    ("array body", b"[]"),
    ("string body", b'"str"'),
    ("number body", b"5"),
    ("metadata not an object", b'{"__metadata": 5}'),
    ("not UTF-8", b"\xff\xfe"),
    ("lone surrogate", b'{"Title": "\\ud800"}'),
    ("NaN", b'{"Title": NaN}'),
    ("infinite number", b'{"N": 1e999}'),
]
ENDPOINTS = [
    ("create item", "{list}/items", False),
    ("merge item", ITEM, True),
    ("validate item", ITEM + "/ValidateUpdateListItem", False),
    ("create field", "{list}/fields/CreateFieldAsXml", False),
    ("merge field", "{list}/fields/getbyinternalnameortitle('N')", True),
    ("create list", "/lists", False),
    ("merge list", "{list}", True),
    ("get changes", "{list}/GetChanges", False),
    ("CAML query", "{list}/GetItems", False),
    ("ensure user", "/EnsureUser", False),
]


def _unchanged(site: Site) -> None:
    got = site.send("GET", site.list + "/items(1)").json()["d"]
    assert got["Title"] == "ok" and got["N"] is None, got


@pytest.mark.parametrize(("label", "values"), WRONG_VALUES, ids=[c[0] for c in WRONG_VALUES])
def test_wrong_values_are_a_400_and_change_nothing(
    bad_site: Site, label: str, values: dict[str, Any]
) -> None:
    response = bad_site.send(
        "POST", bad_site.list + "/items(1)", {"__metadata": {"type": ENTITY}, **values}, merge=True
    )
    assert response.status_code == 400, (label, response.text)
    assert "error" in response.json() and "Traceback" not in response.text
    _unchanged(bad_site)


@pytest.mark.parametrize(("body_label", "raw"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES])
@pytest.mark.parametrize(("where", "path", "merge"), ENDPOINTS, ids=[c[0] for c in ENDPOINTS])
def test_malformed_bodies_never_give_500(
    bad_site: Site, body_label: str, raw: bytes, where: str, path: str, merge: bool
) -> None:
    response = bad_site.send("POST", path.format(list=bad_site.list), raw=raw, merge=merge)
    assert 400 <= response.status_code < 500, (where, body_label, response.status_code, response.text)
    assert response.json()["error"]["code"] and "Traceback" not in response.text
    _unchanged(bad_site)


@pytest.mark.parametrize(
    "form_values",
    [5, "x", [5], [{"FieldName": 5, "FieldValue": [1]}], [{"FieldName": "N", "FieldValue": {"a": 1}}]],
)
def test_broken_form_values_never_give_500(bad_site: Site, form_values: Any) -> None:
    response = bad_site.send(
        "POST", bad_site.list + "/items(1)/ValidateUpdateListItem", {"formValues": form_values}
    )
    assert response.status_code in (200, 400), response.text
    _unchanged(bad_site)


@pytest.mark.parametrize(
    "query",
    [
        "$filter=N eq",
        "$filter=(((",
        "$top=abc",
        "$select=Nope",
        "$expand=Nope",
        "$skiptoken=Paged%3DTRUE%26p_ID%3Dx",
    ],
)
def test_bad_query_options_are_a_400(bad_site: Site, query: str) -> None:
    response = bad_site.send("GET", f"{bad_site.list}/items?{query}")
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"garbage",
        b"--batch_x\r\n\r\n--batch_x--",
        b"--batch_x\r\nContent-Type: application/http\r\n\r\nGET\r\n\r\n--batch_x--",
    ],
)
def test_broken_batch_bodies_never_give_500(bad_site: Site, raw: bytes) -> None:
    headers = dict(bad_site.headers, **{"Content-Type": "multipart/mixed; boundary=batch_x"})
    response = requests.post(bad_site.url + "/_api/$batch", headers=headers, data=raw, timeout=30)
    assert response.status_code < 500 and "Traceback" not in response.text
    _unchanged(bad_site)


def test_unknown_property_answer_through_the_client(ctx: ClientContext) -> None:
    lst = ctx.web.lists.add(ListCreationInformation("Ukjent", None, 100)).execute_query()
    with pytest.raises(ClientRequestException) as err:
        lst.add_item({"Title": "a", "Finnesikke": 1}).execute_query()
    assert err.value.response.status_code == 400 and err.value.code == BAD_QUERY
    assert err.value.message == (
        "The property 'Finnesikke' does not exist on type 'SP.Data.UkjentListItem'. "
        "Make sure to only use property names that are defined by the type."
    )
    assert len(lst.items.get().execute_query()) == 0


def test_wrong_list_and_field_property_types_are_a_400(bad_site: Site) -> None:
    for path, body in [
        ("{list}", {"Title": 5}),
        ("{list}", {"Hidden": "yes"}),
        ("{list}/fields/getbyinternalnameortitle('N')", {"Title": 1}),
        ("{list}/fields/getbyinternalnameortitle('N')", {"Required": {"a": 1}}),
        ("{list}/fields/getbyinternalnameortitle('N')", {"CustomFormatter": ["x"]}),
    ]:
        response = bad_site.send("POST", path.format(list=bad_site.list), body, merge=True)
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()["error"]["code"] == BAD_QUERY
    bad = bad_site.send(
        "POST", "/lists", {"__metadata": {"type": "SP.List"}, "Title": "X", "BaseTemplate": "abc"}
    )
    assert bad.status_code == 400
    field = bad_site.send("GET", bad_site.list + "/fields/getbyinternalnameortitle('N')").json()["d"]
    assert field["Title"] == "N" and field["Required"] is False
