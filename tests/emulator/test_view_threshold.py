"""The list view threshold as SPO enforces it (docs/emulator.md, "List view threshold").

The list is filled through the object model directly (5 200 items); every query goes through the
real office365 client over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext

from tests.support.emulator_model import call_app, client, create_site
from veiviser.emulator.server import EmulatorServer

SIZE = 5200
THROTTLED = "-2147024860, Microsoft.SharePoint.SPQueryThrottledException"
MESSAGE = "The attempted operation is prohibited because it exceeds the list view threshold."


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[EmulatorServer, ClientContext]]:
    with EmulatorServer() as server:
        host = server.url.split("://", 1)[1]
        path = create_site(server.app, host=host)
        app = server.app
        lists = f"{path}/_api/Web/lists"
        made = call_app(
            app, "POST", lists, {"__metadata": {"type": "SP.List"}, "Title": "Stor", "BaseTemplate": 100}
        )
        list_id = made.body["d"]["Id"]
        for xml in (
            '<Field Type="Number" Name="N" DisplayName="N" />',
            '<Field Type="Text" Name="Key" DisplayName="Key" Indexed="TRUE" />',
            '<Field Type="Text" Name="Group" DisplayName="Group" Indexed="TRUE" />',
        ):
            body = {
                "parameters": {
                    "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
                    "SchemaXml": xml,
                }
            }
            assert call_app(app, "POST", f"{lists}('{list_id}')/fields/CreateFieldAsXml", body).status == 200
        entity = made.body["d"]["ListItemEntityTypeFullName"]
        for i in range(SIZE):
            item = {"__metadata": {"type": entity}, "Title": "x", "N": i, "Key": f"k{i}", "Group": "alle"}
            assert call_app(app, "POST", f"{lists}('{list_id}')/items", item).status == 201
        yield server, client(server, server.url + path)


def _get(ctx: ClientContext, **query: Any) -> Any:
    """GET the list's items with ``$filter``/``$orderby``/``$top`` through the client's request
    pipeline (its ``order_by`` writes ``$order_by``, which SPO does not know: docs/emulator.md)."""
    parts = [("$select", "Id"), ("$top", str(query.get("top", 100)))]
    if "filter" in query:
        parts.append(("$filter", query["filter"]))
    if "order" in query:
        parts.append(("$orderby", query["order"]))
    qs = "&".join(f"{k}={quote(v)}" for k, v in parts)
    try:
        return ctx.execute_request_direct(f"web/lists/GetByTitle('Stor')/items?{qs}")
    except ClientRequestException as exc:
        return exc.response


def _items(ctx: ClientContext, **query: Any) -> list[int]:
    response = _get(ctx, **query)
    assert response.status_code == 200, response.text
    return [r["Id"] for r in response.json()["d"]["results"]]


@pytest.mark.parametrize(
    "query",
    [
        {"filter": "N eq 5"},  # not indexed
        {"order": "N"},  # ordering on a column that is not indexed
        {"filter": "Group eq 'alle'"},  # indexed, but matches more than 5 000
        {"filter": "Key eq 'k7' or N eq 5"},  # an or with a branch that is not indexed
        {"filter": "N eq 5", "top": 1},  # a small $top does not help
    ],
)
def test_queries_that_must_scan_are_refused_with_spo_error(
    big: tuple[EmulatorServer, ClientContext], query: dict[str, Any]
) -> None:
    _, ctx = big
    response = _get(ctx, **query)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == THROTTLED and error["message"]["value"] == MESSAGE


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter": "Key eq 'k7'"}, [8]),
        ({"filter": "Key eq 'k7' and N eq 7"}, [8]),  # the indexed condition narrows first
        ({"filter": "Key eq 'k7' and N eq 8"}, []),
        ({"filter": "ID gt 5195"}, [5196, 5197, 5198, 5199, 5200]),
        ({"filter": "ID gt 100 and ID le 5200", "top": 5000}, list(range(101, 5101))),
        ({"order": "Key desc", "top": 1}, [1000]),  # "k999" sorts last as text (item 1000)
        ({"order": "ID desc", "top": 2}, [5200, 5199]),
    ],
)
def test_indexed_and_id_queries_work_at_any_size(
    big: tuple[EmulatorServer, ClientContext], query: dict[str, Any], expected: list[int]
) -> None:
    _, ctx = big
    assert _items(ctx, **query) == expected


def test_paging_by_id_reads_the_whole_list(big: tuple[EmulatorServer, ClientContext]) -> None:
    _, ctx = big
    items = ctx.web.lists.get_by_title("Stor").items.select(["Id"]).get_all(5000).execute_query()
    assert [i.id for i in items] == list(range(1, SIZE + 1))
