"""A source list far past SharePoint's list view threshold (5 000) syncs fully and then
incrementally: the sync reads by ID (pages in ID order, changed items by ``ID eq …``, the hub by its
indexed source key), never by a filter the threshold refuses (the real client, the emulator
enforcing the threshold)."""

from __future__ import annotations

import time

import pytest

from tests.support.sync import assert_exact, central_state, portfolio, run_sync
from veiviser.sharepoint.errors import SharePointError
from veiviser.sync.report import EXIT_OK

# 30 000 creates on the source and 30 000 on the hub through the emulator: minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

N = 30_000


def test_list_of_30000_items_syncs_fully_and_incrementally(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("stor")
    started = time.monotonic()
    results = site.create_items(
        "Usikkerhet", [{"Title": f"R{i}", "GtRiskProbability": i % 6} for i in range(N)]
    )
    assert all(r.ok for r in results)
    seeded = time.monotonic() - started
    # The emulator enforces the threshold on this list: a filter on a column without an index fails.
    with pytest.raises(SharePointError, match="threshold"):
        list(site.iter_items("Usikkerhet", select=["ID"], filter="Title eq 'R7'"))

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert report.sites[0].counts["created"] == N
    initial = time.monotonic() - started - seeded

    ids = [1, 5_001, 29_999]
    assert all(r.ok for r in site.update_items("Usikkerhet", {i: {"Title": f"Endret {i}"} for i in ids}))
    assert all(r.ok for r in site.delete_items("Usikkerhet", [2, 15_000]))
    site.create_items("Usikkerhet", [{"Title": "Ny etter 30 000"}])
    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    counts = report.sites[0].counts
    assert (counts["updated"], counts["deleted"], counts["created"], counts["full_reads"]) == (3, 2, 1, 0)
    assert report.requests < 20  # incremental: a few batches, not 30 000 items again
    risks = central_state(pf.hub)["risks"]
    assert len(risks) == N - 2 + 1 and ("Endret 5001" in {t for _, t in risks})
    assert_exact(pf.hub, [site], state_store)
    print(f"large list: seeded {seeded:.0f} s, initial sync {initial:.0f} s")
