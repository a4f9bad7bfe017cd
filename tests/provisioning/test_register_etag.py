"""The hub register item is written with IF-MATCH: a write that lost a race re-reads and retries
(docs/provisioning.md, "The hub register"; the emulator answers 412 as SPO does)."""

from __future__ import annotations

import pytest

from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import ProjectRequest, Provisioner
from veiviser.provisioning.register import MAX_CONFLICT_RETRIES, read_register, write_register_item
from veiviser.sharepoint import items as rest
from veiviser.sharepoint.values import ETAG, item_etag, normalise_item

ALFA = ProjectRequest(title="Alfa", alias="alfa", owner="eier@kommune.no", unit="IT")


def _register_row(prov: Provisioner, url: str) -> dict:
    hub = prov.client(prov.hub_url)
    rows, _ = read_register(hub, prov.hub_url, url, "", costs=False)
    assert len(rows) == 1
    return rows[0]


def test_read_items_expose_their_etag() -> None:
    raw = {"__metadata": {"type": "SP.Data.XListItem", "etag": '"4"'}, "Id": 1, "Title": "a"}
    assert item_etag(raw) == '"4"'
    assert ETAG not in normalise_item(raw)
    kept = normalise_item(raw, etag=True)
    assert kept[ETAG] == '"4"' and item_etag(kept) == '"4"'
    assert item_etag({"Id": 1}) is None


def test_a_register_write_that_lost_a_race_rereads_and_keeps_the_other_change(
    prov: Provisioner, server: EmulatorServer
) -> None:
    url = prov.project(ALFA).url
    stale = _register_row(prov, url)
    assert stale[ETAG]
    other = prov.client(prov.hub_url)
    info = other.resolve_list("Prosjekter")
    (res,) = other.batch(
        [
            rest.merge_item(
                info.target, int(stale["Id"]), {"GtProjectServiceAreaText": "Helse"}, info.entity_type
            )
        ]
    )
    assert res.ok
    server.log.reset()
    hub = prov.client(prov.hub_url)
    wrote = write_register_item(hub, prov.hub_url, url, {"GtProjectUnit": "Kultur"}, stale)
    assert wrote
    assert server.log.count(kind="batch-part", status=412) == 1  # refused once, then re-read
    now = _register_row(prov, url)
    assert now["GtProjectUnit"] == "Kultur" and now["GtProjectServiceAreaText"] == "Helse"
    assert now[ETAG] != stale[ETAG]


def test_the_retry_is_bounded(
    prov: Provisioner, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = prov.project(ALFA).url
    stale = _register_row(prov, url)
    other = prov.client(prov.hub_url)
    info = other.resolve_list("Prosjekter")

    import veiviser.provisioning.register as register

    def reread_then_lose_again(*args: object) -> dict:
        row = _register_row(prov, url)
        other.batch(
            [rest.merge_item(info.target, int(row["Id"]), {"Title": f"Alfa {row[ETAG]}"}, info.entity_type)]
        )
        return row  # already stale again

    monkeypatch.setattr(register, "_read_register_item", reread_then_lose_again)
    other.batch([rest.merge_item(info.target, int(stale["Id"]), {"Title": "Alfa 0"}, info.entity_type)])
    server.log.reset()
    with pytest.raises(Exception, match="could not write the register item") as caught:
        write_register_item(prov.client(prov.hub_url), prov.hub_url, url, {"GtProjectUnit": "Kultur"}, stale)
    assert "does not match" in str(caught.value)
    assert server.log.count(kind="batch-part", status=412) == MAX_CONFLICT_RETRIES + 1
