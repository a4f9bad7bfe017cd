"""Request cost: failed read-only service POSTs keep the caches; list collection reads with tokens.

Driven by the real office365 client over HTTP against the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.changes.query import ChangeQuery
from office365.sharepoint.changes.token import ChangeToken
from office365.sharepoint.lists.creation_information import ListCreationInformation

from tests.support.emulator_model import client
from veiviser.emulator.app import READ_ONLY_OPERATIONS, is_mutating
from veiviser.emulator.server import EmulatorServer


@pytest.fixture
def reloads(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the store's reloads from disk (the cost a failed request must not pay needlessly)."""
    store = server.app.store
    calls: list[int] = []
    original = store._load_objects

    def counting() -> None:
        calls.append(1)
        original()

    monkeypatch.setattr(store, "_load_objects", counting)
    yield calls


def _list(ctx, title: str = "Usikkerhet"):
    return ctx.web.lists.add(ListCreationInformation(title, None, 100)).execute_query()


def test_failed_get_changes_does_not_reload(server, site, reloads):
    ctx = client(server, site)
    lst = _list(ctx)
    lst.add_item({"Title": "a"}).execute_query()
    bad = ChangeQuery(Item=True, ChangeTokenStart=ChangeToken("not-a-token"))
    for target in (lst, ctx.web, ctx.site):
        with pytest.raises(ClientRequestException) as info:
            target.get_changes(bad).execute_query()
        assert info.value.response.status_code == 400
    assert reloads == []
    # the caches still answer correctly afterwards
    assert [i.properties["Title"] for i in lst.items.get().execute_query()] == ["a"]


def test_failed_write_still_reloads(server, site, reloads):
    ctx = client(server, site)
    lst = _list(ctx)
    with pytest.raises(ClientRequestException):
        lst.add_item({"Title": "a", "NoSuchField": 1}).execute_query()
    assert len(reloads) == 1
    assert len(lst.items.get().execute_query()) == 0


def test_failed_ensure_user_counts_as_a_write():
    # EnsureUser adds the user to the site: a write, so a failure reloads.
    assert is_mutating("POST", "ensureuser")
    assert "ensureuser" not in READ_ONLY_OPERATIONS
    for name in ("getchanges", "getitems", "getlistitemchangessincetoken"):
        assert not is_mutating("POST", name)
        assert is_mutating("MERGE", name) and is_mutating("DELETE", name)
    assert not is_mutating("GET", "items")
    assert is_mutating("POST", "items") and is_mutating("POST", "recycle")


def _token_value(value) -> str:
    return value.StringValue if isinstance(value, ChangeToken) else value["StringValue"]


def test_list_collection_with_select_returns_each_lists_change_token(server, site):
    ctx = client(server, site)
    risks, other = _list(ctx, "Usikkerhet"), _list(ctx, "Interessentregister")
    risks.add_item({"Title": "før"}).execute_query()
    lists = ctx.web.lists.select(["Id", "Title", "CurrentChangeToken"]).get().execute_query()
    tokens = {lst.properties["Title"]: _token_value(lst.properties["CurrentChangeToken"]) for lst in lists}
    assert set(tokens) >= {"Usikkerhet", "Interessentregister"}
    assert tokens["Usikkerhet"].startswith(f"1;3;{risks.id};")
    assert tokens["Interessentregister"].startswith(f"1;3;{other.id};")
    # the same token a single list read gives (change number and all)
    single = risks.select(["CurrentChangeToken"]).get().execute_query()
    assert (
        _token_value(single.properties["CurrentChangeToken"]).split(";")[4]
        == tokens["Usikkerhet"].split(";")[4]
    )
    # and it works as a starting point: only what came after it
    risks.add_item({"Title": "etter"}).execute_query()
    since = ChangeQuery(Item=True, ChangeTokenStart=ChangeToken(tokens["Usikkerhet"]))
    changes = risks.get_changes(since).execute_query()
    assert [c.properties["ItemId"] for c in changes] == [2]
    assert (
        len(
            other.get_changes(
                ChangeQuery(Item=True, ChangeTokenStart=ChangeToken(tokens["Interessentregister"]))
            ).execute_query()
        )
        == 0
    )
    # part of the default property set too, as SPO's recorded answers show (docs/emulator.md,
    # "Conformance")
    plain = ctx.web.lists.get().execute_query()
    assert all("CurrentChangeToken" in lst.properties for lst in plain)


def test_batch_delimiters_only_at_line_start_and_alone():
    from veiviser.emulator.batch import _split_parts

    text = "preamble --b not a delimiter\n--b\nA --b inside\n--bx not one either\n--b \t\nB\n--b--\nepilogue\n--b\nC\n"
    assert _split_parts(text, "b") == ["\nA --b inside\n--bx not one either\n", "\nB\n"]
    with pytest.raises(Exception, match="no closing delimiter"):
        _split_parts("--b\nA\n--b--x\n", "b")


def test_site_lookup_follows_new_and_rolled_back_sites(server, site, reloads):
    # the path index is rebuilt when sites change, also after a failed write reloads from disk
    ctx = client(server, site)
    assert ctx.web.get().execute_query().url.rstrip("/") == site
    with pytest.raises(ClientRequestException):
        _list(ctx).add_item({"Title": "a", "NoSuchField": 1}).execute_query()
    assert len(reloads) == 1
    assert ctx.web.get().execute_query().url.rstrip("/") == site
    missing = client(server, site + "x")
    with pytest.raises(ClientRequestException) as info:
        missing.web.get().execute_query()
    assert info.value.response.status_code == 404
