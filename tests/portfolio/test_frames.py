"""Input-frame validation: required/optional columns, coercion findings, phases, people, renames."""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio import frames
from veiviser.portfolio.frames import FrameError, normalise_phase, person_name, prepare


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("Gjennomføre", "Gjennomføre"),
        ({"Label": "Konsept", "TermGuid": "99e85650-33de-4af4-b8db-edffbc8a310b", "WssId": 3}, "Konsept"),
        ("Planlegge|cda4f1e1-3488-4e57-8a04-6973df239689", "Planlegge"),
        ("-1;#Realisere|b7ba84f0-70b9-45c4-8c50-8f73bf15bbec", "Realisere"),
        (None, None),
        ("", None),
    ],
)
def test_normalise_phase(value, label):
    assert normalise_phase(value) == label


def test_person_name():
    assert person_name({"Title": "Kari Nordmann", "EMail": "k@x"}) == "Kari Nordmann"
    assert person_name({"EMail": "k@x"}) == "k@x"
    assert person_name(None) is None


def test_prepare_projects_optional_and_phase():
    df = prepare(
        "projects",
        pd.DataFrame([{"project_key": "p1", "project_title": "P1", "GtProjectPhase": {"Label": "Idé"}}]),
    )
    assert df.loc[0, "GtProjectPhase"] == "Idé"
    assert "GtProjectLifecycleStatus" in df.columns and pd.isna(df.loc[0, "GtProjectLifecycleStatus"])


def test_unreadable_values_become_findings():
    findings = []
    df = prepare(
        "indicators",
        pd.DataFrame(
            [
                dict(
                    project_key="p",
                    source_key="i1",
                    item_id="1",
                    Title="T",
                    benefit_key="b",
                    GtStartValue="ti",
                    GtDesiredValue="12",
                )
            ]
        ),
        findings=findings,
    )
    assert pd.isna(df.loc[0, "GtStartValue"]) and df.loc[0, "GtDesiredValue"] == 12
    assert [(f.code, f.item, f.field) for f in findings] == [("unreadable-value", "i1", "GtStartValue")]


def test_missing_required_and_renames(monkeypatch):
    raw = pd.DataFrame([dict(site_id="p", source_key="s", item_id="1", Title="T")])
    with pytest.raises(FrameError, match="'stakeholders' lacks required column\\(s\\): project_key") as exc:
        prepare("stakeholders", raw)
    assert "COLUMN_RENAMES" in exc.value.hint
    monkeypatch.setitem(frames.COLUMN_RENAMES, "stakeholders", {"site_id": "project_key"})
    assert prepare("stakeholders", raw).loc[0, "project_key"] == "p"
    assert (
        prepare("stakeholders", raw.rename(columns={"site_id": "x"}), renames={"x": "project_key"}).loc[
            0, "project_key"
        ]
        == "p"
    )
    with pytest.raises(FrameError, match="must be a pandas DataFrame"):
        prepare("risks", [1, 2])
