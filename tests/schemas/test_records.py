"""Record models: aliases, populate-by-name and tolerant parsing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from veiviser.schemas.records import (
    BenefitRecord,
    IndicatorRecord,
    MeasurementRecord,
    ProjectRecord,
    RiskRecord,
    StakeholderRecord,
    source_key,
)

SITE = "{6A1B2C3D-0000-4000-8000-00000000AAAA}"
LIST = "11111111-2222-3333-4444-555555555555"


def test_source_key_normalises_guids() -> None:
    assert source_key(SITE, LIST, "7") == f"6a1b2c3d-0000-4000-8000-00000000aaaa:{LIST}:7"


def test_risk_from_sharepoint_item_json() -> None:
    item = {
        "Id": 7, "Title": "Leverandør svikter", "Modified": "2024-03-01T10:00:00Z",
        "GtRiskProbability": "4", "GtRiskConsequence": 3.0, "GtRiskStatus": "Identifisert",
        "GtProjectPhase": {"Label": "Planlegge", "TermGuid": "cda4f1e1-3488-4e57-8a04-6973df239689", "WssId": 3},
        "GtShowInPortfolio": "1", "ContentType": {"Name": "Risiko"},
    }  # fmt: skip
    r = RiskRecord.model_validate({**item, "GtSiteId": SITE, "GtSourceListId": LIST})
    assert (r.item_id, r.probability, r.consequence, r.factor, r.phase) == (7, 4.0, 3.0, 12.0, "Planlegge")
    assert r.show_in_portfolio is True and r.kind == "Risiko"
    assert r.source_key.endswith(":7")
    dumped = r.model_dump(by_alias=True)
    assert (
        dumped["GtRiskProbability"] == 4.0 and dumped["GtSourceItemId"] == 7 and "GtSourceModified" in dumped
    )


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Gjennomføre", "Gjennomføre"),
        ("-1;#Avslutte|30e03c52-8c3e-4cfe-9b18-ca71593ce130", "Avslutte"),
        ("Konsept|99e85650-33de-4af4-b8db-edffbc8a310b", "Konsept"),
        ({"Label": "Idé"}, "Idé"),
        ("", None),
        (None, None),
    ],
)
def test_phase_as_choice_or_taxonomy(phase: object, expected: str | None) -> None:
    assert ProjectRecord.model_validate({"GtSiteId": SITE, "GtProjectPhase": phase}).phase == expected


def test_populate_by_name_and_numbers_in_norwegian_format() -> None:
    p = ProjectRecord(site_id=SITE, title="eBygg", start_year="2018", unit="Kart- og oppmålingskontoret")
    assert (
        p.start_year == 2018.0
        and p.model_dump(by_alias=True)["GtProjectUnit"] == "Kart- og oppmålingskontoret"
    )
    ind = IndicatorRecord(
        site_id=SITE,
        list_id=LIST,
        item_id=2,
        start_value="1 151,5",
        desired_value="",
        benefit_item_id={"Id": 4},
    )
    assert (ind.start_value, ind.desired_value, ind.benefit_item_id) == (1151.5, None, 4)
    with pytest.raises(ValidationError):
        IndicatorRecord(site_id=SITE, list_id=LIST, item_id=2, start_value="mye")


def test_measurement_stakeholder_benefit() -> None:
    m = MeasurementRecord.model_validate(
        {
            "GtSiteId": SITE,
            "GtSourceListId": LIST,
            "ID": "3",
            "GtMeasurementValue": "55",
            "GtMeasurementDate": "2024-01-31T23:00:00Z",
            "GtMeasureIndicatorLookupId": 9,
        }
    )
    assert (m.item_id, m.value, m.indicator_item_id, m.date.year) == (3, 55.0, 9, 2024)
    s = StakeholderRecord.model_validate(
        {"GtSiteId": SITE, "GtSourceListId": LIST, "Id": 1, "GtStakeholderInfluencePossibilty": "Stor"}
    )
    assert s.influence_possibility == "Stor"
    b = BenefitRecord.model_validate(
        {
            "GtSiteId": SITE,
            "GtSourceListId": LIST,
            "Id": 1,
            "GtChangeKeys": "a:b:1; a:b:2",
            "GtGainsResponsible": {"Title": "Kari Nordmann"},
        }
    )
    assert b.change_keys == ["a:b:1", "a:b:2"] and b.responsible == "Kari Nordmann"
