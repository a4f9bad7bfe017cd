"""The Trondheim portfolio file provisioned in bulk against the emulator, resumable, with costs."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from veiviser.emulator.faults import FaultRule
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.bulk import journal_path, provision_bulk
from veiviser.provisioning.engine import Provisioner

TRONDHEIM = "trondheim-portefolje-2018-2021.csv"


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    target = tmp_path / TRONDHEIM
    with resources.as_file(resources.files("veiviser").joinpath("data", TRONDHEIM)) as src:
        shutil.copyfile(src, target)
    return target


@pytest.mark.slow
def test_trondheim_bulk_interrupted_then_resumed(
    prov: Provisioner, server: EmulatorServer, csv_file: Path, count_writes
) -> None:
    # Interrupt: the first eight site creations fail, as if the run were cut off for those rows.
    server.faults.add(
        FaultRule(
            path=r"spSiteManager/Create",
            method="POST",
            status=400,
            count=8,
            body={
                "error": {
                    "code": "-1, System.InvalidOperationException",
                    "message": {"value": "Avbrutt (test)"},
                }
            },
        )
    )
    first = provision_bulk(prov, csv_file, workers=4)
    assert len(first.results) == 23
    failed = [r for r in first.results if r.outcome == "failed"]
    assert failed and all("Avbrutt" in (r.error or "") for r in failed)
    assert journal_path(csv_file).exists()
    server.faults.clear()
    second = provision_bulk(prov, csv_file, workers=4)
    assert second.ok, [r.error for r in second.results if not r.ok]
    assert sorted({r.outcome for r in second.results}) in (["created", "up to date"], ["created"])
    hub = prov.client(prov.hub_url)
    register = list(hub.iter_items("Prosjekter"))
    assert len(register) == 23
    assert len({r["GtSiteId"] for r in register}) == 23
    costs = list(hub.iter_items("Driftskostnader"))
    assert len({c["GtCostKey"] for c in costs}) == len(costs) > 0
    assert any(c["GtOperatingCost"] and float(c["GtOperatingCost"]) % 1000 == 0 for c in costs)
    server.log.reset()
    third = provision_bulk(prov, csv_file, workers=4)
    assert all(r.outcome == "up to date" for r in third.results)
    assert count_writes() == 0
