"""The pure functions that turn source items into history rows and central-list values."""

from __future__ import annotations

from datetime import UTC, date, datetime

from veiviser.sync.kinds import OPPORTUNITY_CT_PREFIX, RISK_CT_PREFIX, SOURCE_KINDS
from veiviser.sync.rows import (
    NUMBER_FIELDS,
    PHASE_FIELDS,
    _typed,
    central_values,
    json_safe,
    resolve_lookups,
    select_clause,
    source_row,
)

SITE = "AAAAAAAA-0000-4000-8000-000000000001"
LISTS = {
    "risks": "11111111-0000-4000-8000-000000000001",
    "benefits": "22222222-0000-4000-8000-000000000002",
    "indicators": "33333333-0000-4000-8000-000000000003",
    "measurements": "44444444-0000-4000-8000-000000000004",
}
SITE_KEY = SITE.lower()


def test_number_and_phase_fields_come_from_the_template() -> None:
    assert {
        "GtRiskProbability",
        "GtRiskConsequence",
        "GtRiskFactor",
        "GtRiskProbabilityPostAction",
        "GtRiskConsequencePostAction",
        "GtRiskFactorPostAction",
        "GtStartValue",
        "GtDesiredValue",
        "GtMeasurementValue",
    } == NUMBER_FIELDS
    assert {"GtProjectPhase"} == PHASE_FIELDS


def test_json_safe_turns_dates_into_text_everywhere() -> None:
    when = datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert json_safe({"a": [when, (date(2024, 3, 1),)], "b": 1}) == {
        "a": ["2024-03-01T10:00:00+00:00", ["2024-03-01"]],
        "b": 1,
    }


def test_select_clause_expands_people_and_reads_lookups_by_id() -> None:
    select, expand = select_clause(SOURCE_KINDS["risks"])
    assert select[:4] == ["ID", "Title", "Modified", "ContentTypeId"]
    assert "GtActionResponsible/Title" in select and "GtActionResponsible/EMail" in select
    assert expand == ["GtActionResponsible"]
    select, expand = select_clause(SOURCE_KINDS["measurements"])
    assert "GtMeasureIndicatorLookupId" in select and "GtMeasureIndicatorLookup" not in select
    assert "ContentTypeId" not in select and expand == []


def test_source_row_normalises_values() -> None:
    item = {
        "ID": 7,
        "Title": "Leverandør svikter",
        "Modified": "2024-03-01T10:00:00Z",
        "ContentTypeId": RISK_CT_PREFIX + "00AB",
        "GtRiskProbability": "4",
        "GtRiskConsequence": "1 151,5",
        "GtRiskFactor": "float;#12.0000000000000",
        "GtRiskProbabilityPostAction": "sju",
        "GtProjectPhase": {"Label": "3", "TermGuid": "cda4f1e1-3488-4e57-8a04-6973df239689"},
        "GtActionResponsible": {"Title": "Kari", "EMail": "kari@x.no", "Id": 9},
        "GtRiskStatus": "Identifisert",
        "GtShowInPortfolio": True,
    }
    row = source_row(SOURCE_KINDS["risks"], item, site_id=SITE, list_id=LISTS["risks"])
    assert row["item_id"] == 7 and row["source_key"] == f"{SITE_KEY}:{LISTS['risks']}:7"
    assert row["ContentType"] == "Risiko"
    assert (row["GtRiskProbability"], row["GtRiskConsequence"], row["GtRiskFactor"]) == (4.0, 1151.5, 12.0)
    assert row["GtRiskProbabilityPostAction"] == "sju"  # a bad value is carried over for the finding
    assert row["GtRiskConsequencePostAction"] is None
    assert row["GtProjectPhase"] == "Planlegge"
    assert row["GtActionResponsible"] == {"Title": "Kari", "EMail": "kari@x.no"}
    assert row["Modified"] == "2024-03-01T10:00:00Z"
    opportunity = source_row(
        SOURCE_KINDS["risks"],
        {"Id": 8, "ContentTypeId": OPPORTUNITY_CT_PREFIX},
        site_id=SITE,
        list_id=LISTS["risks"],
    )
    assert opportunity["ContentType"] == "Mulighet" and opportunity["item_id"] == 8


def test_source_row_reads_lookups_as_ids_and_lookups_resolve_to_keys() -> None:
    kind = SOURCE_KINDS["measurements"]
    item = {"ID": 3, "Title": "M", "GtMeasureIndicatorLookupId": 5, "GtMeasurementValue": "2,5"}
    row = source_row(kind, item, site_id=SITE, list_id=LISTS["measurements"])
    assert row["GtMeasureIndicatorLookupId"] == 5 and row["GtMeasurementValue"] == 2.5
    resolve_lookups(kind, row, site_id=SITE, list_ids=LISTS, indicator_benefits={5: 2})
    assert row["indicator_key"] == f"{SITE_KEY}:{LISTS['indicators']}:5"
    assert row["benefit_key"] == f"{SITE_KEY}:{LISTS['benefits']}:2"

    orphan = source_row(kind, {"ID": 4}, site_id=SITE, list_id=LISTS["measurements"])
    resolve_lookups(kind, orphan, site_id=SITE, list_ids=LISTS, indicator_benefits={})
    assert orphan["indicator_key"] is None and orphan["benefit_key"] is None

    indicator = source_row(
        SOURCE_KINDS["indicators"], {"ID": 5, "GtGainLookup": {"Id": 2}}, site_id=SITE, list_id="l"
    )
    resolve_lookups(
        SOURCE_KINDS["indicators"], indicator, site_id=SITE, list_ids=LISTS, indicator_benefits={}
    )
    assert indicator["benefit_key"] == f"{SITE_KEY}:{LISTS['benefits']}:2"


def test_central_values_keep_only_the_central_lists_fields() -> None:
    row = {
        "source_key": f"{SITE_KEY}:{LISTS['measurements']}:3",
        "Title": None,
        "Modified": "2024-03-01T10:00:00Z",
        "GtMeasurementValue": "abc",
        "GtMeasurementDate": "2024-02-01T00:00:00",
        "GtMeasureIndicatorLookupId": 5,
        "indicator_key": "k",
    }
    fields = {
        "Title": "Text",
        "GtSourceKey": "Text",
        "GtSourceItemId": "Number",
        "GtSourceModified": "DateTime",
        "GtMeasurementValue": "Number",
        "GtMeasurementDate": "DateTime",
        "GtMeasureIndicatorLookupSourceId": "Number",
        "GtIndicatorKey": "Text",
        "GtProjectTitle": "Text",
    }
    values = central_values("measurements", row, {"title": "eBygg", "url": "u", "site_id": SITE}, fields)
    assert values == {
        "Title": "#3",
        "GtSourceKey": row["source_key"],
        "GtSourceItemId": 3.0,
        "GtSourceModified": datetime(2024, 3, 1, 10, tzinfo=UTC),
        "GtMeasurementValue": None,
        "GtMeasurementDate": datetime(2024, 2, 1, tzinfo=UTC),
        "GtMeasureIndicatorLookupSourceId": 5.0,
        "GtIndicatorKey": "k",
        "GtProjectTitle": "eBygg",
    }
    assert all(type(k) is str for k in values)


def test_central_values_map_people_to_hub_user_ids() -> None:
    row = {"source_key": f"{SITE_KEY}:{LISTS['benefits']}:1", "GtGainsOwner": {"EMail": "Kari@X.no"}}
    fields = {"GtGainsOwner": "User", "GtGainsResponsible": "User"}
    values = central_values("benefits", row, {}, fields, people={"kari@x.no": 12})
    assert values == {"GtGainsOwnerId": 12, "GtGainsResponsibleId": None}


def test_typed_values_per_column_type() -> None:
    assert _typed("T", "Text", 12, {}) == {"T": "12"}
    assert _typed("T", "Text", "x" * 300, {}) == {"T": "x" * 255}
    assert _typed("T", "Note", {"Title": "Kari", "EMail": "k@x"}, {}) == {"T": "Kari"}
    assert _typed("N", "Number", "1 151,5", {}) == {"N": 1151.5}
    assert _typed("N", "Currency", None, {}) == {"N": None}
    assert _typed("B", "Boolean", 1, {}) == {"B": True}
    assert _typed("D", "DateTime", "2024-03-01T10:00:00+02:00", {})["D"].utcoffset().total_seconds() == 7200
    assert _typed("D", "DateTime", "", {}) == {"D": ""}
    assert _typed("U", "UserMulti", None, {}) == {"UId": None}
