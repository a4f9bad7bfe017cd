"""AnalysisFinding: its text, its location on a list item, the findings frame and blank cells."""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio.findings import FINDING_COLUMNS, AnalysisFinding, findings_frame, is_blank


def test_text_names_every_known_place_and_the_hint():
    finding = AnalysisFinding(
        "warning",
        "no-unit",
        "Indicator has no measurement unit",
        frame="indicators",
        project_key="P1",
        item="I-7",
        field="GtMeasurementUnit",
        hint="Choose Måleenhet.",
    )
    assert str(finding) == (
        "warning: Indicator has no measurement unit "
        "(indicators; project P1; item I-7; field GtMeasurementUnit) — Choose Måleenhet."
    )
    assert str(AnalysisFinding("info", "x", "Just so")) == "info: Just so"
    assert (
        str(AnalysisFinding("error", "x", "Empty place", frame="", project_key=None)) == "error: Empty place"
    )


def test_on_item_takes_project_and_item_from_the_row():
    row = pd.Series({"project_key": "P2", "source_key": "S-1", "Title": "Risk"})
    finding = AnalysisFinding.on_item("risks", row, "out-of-range", "S = 7", field="GtRiskProbability")
    assert finding == AnalysisFinding(
        "warning",
        "out-of-range",
        "S = 7",
        frame="risks",
        project_key="P2",
        item="S-1",
        field="GtRiskProbability",
    )
    error = AnalysisFinding.on_item(
        "risks", {"project_key": "P", "source_key": "S"}, "c", "m", field="f", hint="h", severity="error"
    )
    assert error.severity == "error" and error.hint == "h"


def test_findings_frame_has_fixed_columns_even_when_empty():
    assert list(findings_frame([]).columns) == FINDING_COLUMNS
    frame = findings_frame([AnalysisFinding("error", "c", "m", item="7")])
    assert frame.to_dict("records") == [
        {
            "severity": "error",
            "code": "c",
            "message": "m",
            "frame": None,
            "project_key": None,
            "item": "7",
            "field": None,
            "hint": None,
        }
    ]


@pytest.mark.parametrize(
    ("value", "blank"),
    [(None, True), (float("nan"), True), ("", True), ("  \t", True), (0, False), ("0", False), ("x", False)],
)
def test_is_blank(value, blank):
    assert is_blank(value) is blank
