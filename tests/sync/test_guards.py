"""The pure guards of one site's sync: missing lists kept for N runs, the mass-deletion guard."""

from __future__ import annotations

import pytest

from tests.sync.test_diff import SITE, full, key, states
from veiviser.sync import diff
from veiviser.sync.diff import LIST_MISSING, MassDeletion
from veiviser.sync.read import ListState


def rows(name: str, n: int) -> dict[str, dict]:
    return {key(name, i): {"Title": f"{name} {i}", "source_key": key(name, i)} for i in range(1, n + 1)}


def missing(name: str) -> ListState:
    return ListState(name, f"Liste {name}", missing=True)


def test_a_missing_list_keeps_its_rows_and_deletes_nothing():
    previous = {"risks": rows("risks", 3), "stakeholders": rows("stakeholders", 2)}
    st = states(risks=missing("risks"), stakeholders=full("stakeholders", [{"ID": 1, "Title": "S"}]))
    current, deleted = diff.new_rows(st, previous, {}, SITE)
    assert current["risks"].keys() == previous["risks"].keys()
    assert deleted["risks"] == set()
    assert deleted["stakeholders"] == {key("stakeholders", 2)}  # the other lists sync as usual


def test_a_list_confirmed_gone_loses_every_row_it_had_or_wrote():
    previous = {"risks": rows("risks", 2)}
    cmap = {"risks": {key("risks", 9): (90, "h")}}
    current, deleted = diff.new_rows(
        states(risks=missing("risks")), previous, cmap, SITE, gone_lists={"risks"}
    )
    assert current["risks"] == {}
    assert deleted["risks"] == {key("risks", 1), key("risks", 2), key("risks", 9)}


def test_missing_runs_count_up_from_the_stored_finding_and_confirm_at_n():
    st = states(risks=missing("risks"), benefits=missing("benefits"))
    stored = [
        {"rule": LIST_MISSING, "list": "liste RISKS", "value": 2},  # titles match without case
        {"rule": "risk-scale-range", "list": "Liste benefits", "value": 7},  # not a count
    ]
    runs, gone = diff.missing_lists(st, stored, 3)
    assert runs == {"risks": 3, "benefits": 1}
    assert gone == {"risks"}
    assert diff.missing_lists(states(), stored, 3) == ({}, set())  # back again: no count


@pytest.mark.parametrize(
    ("had", "deleting", "held"),
    [
        ({"risks": 10}, {"risks": 10}, MassDeletion(10, 10, ("risks",))),  # a whole list of 10
        ({"risks": 9}, {"risks": 9}, None),  # a site of fewer than 10 rows is never held
        ({"risks": 10, "stakeholders": 10}, {"risks": 10}, MassDeletion(10, 20, ("risks",))),
        ({"risks": 12, "stakeholders": 8}, {"risks": 6, "stakeholders": 5}, MassDeletion(11, 20, ())),
        ({"risks": 12, "stakeholders": 8}, {"risks": 6, "stakeholders": 4}, None),  # exactly half
        ({"risks": 4, "stakeholders": 4}, {"risks": 4, "stakeholders": 4}, None),  # small site
        ({"risks": 30}, {"risks": 3}, None),
    ],
)
def test_mass_deletion_thresholds(had, deleting, held):
    previous = {name: rows(name, n) for name, n in had.items()}
    deleted = {name: set(list(previous[name])[:n]) for name, n in deleting.items()}
    assert diff.mass_deletion(previous, deleted) == held


def test_mass_deletion_thresholds_are_tunable():
    previous = {"risks": rows("risks", 4)}
    deleted = {"risks": set(previous["risks"])}
    assert diff.mass_deletion(previous, deleted) is None
    assert diff.mass_deletion(previous, deleted, min_rows=4) == MassDeletion(4, 4, ("risks",))
    assert diff.mass_deletion(previous, {"risks": {key("risks", 1)}}, min_rows=1, max_share=0.2) == (
        MassDeletion(1, 4, ())
    )


def test_held_deletions_keep_the_rows_as_they_were():
    previous = {"risks": rows("risks", 3)}
    current = {"risks": {key("risks", 1): {"Title": "changed"}}}
    deleted = {"risks": {key("risks", 2), key("risks", 3), key("risks", 7)}}  # 7: only on the hub
    kept, none = diff.hold_deletions(current, deleted, previous)
    assert kept["risks"][key("risks", 1)] == {"Title": "changed"}  # the change still goes through
    assert kept["risks"][key("risks", 2)] == previous["risks"][key("risks", 2)]
    assert key("risks", 7) not in kept["risks"]
    assert all(not keys for keys in none.values())
    assert current["risks"].keys() == {key("risks", 1)}  # the input is not changed


def test_keys_nothing_recorded_do_not_count_as_losses():
    previous = {"risks": rows("risks", 10)}
    unrecorded = {key("risks", i) for i in range(100, 120)}  # gone before any run recorded them
    assert diff.mass_deletion(previous, {"risks": unrecorded}) is None
    assert diff.mass_deletion(previous, {"risks": unrecorded | {key("risks", 1)}}) is None
