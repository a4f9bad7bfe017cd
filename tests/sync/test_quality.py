"""Data-quality rules: findings name site, list, item, field, value and rule; nothing is rejected."""

from __future__ import annotations

from veiviser.sync.quality import RULES, as_number, check_site, lookup_id

SITE = "http://sp/sites/p1"


def rules(findings):
    return sorted((f.list_title, f.item_id, f.field, f.rule) for f in findings)


def test_clean_site_has_no_findings():
    rows = {
        "risks": [
            {
                "item_id": 1,
                "GtRiskProbability": 3,
                "GtRiskConsequence": 0,
                "GtRiskProbabilityPostAction": None,
            }
        ],
        "benefits": [{"item_id": 1, "Title": "B", "GtGainsOwnerId": 7}],
        "indicators": [{"item_id": 2, "GtStartValue": 10, "GtDesiredValue": 20, "GtGainLookupId": 1}],
        "measurements": [{"item_id": 3, "GtMeasureIndicatorLookupId": 2, "GtMeasurementValue": 15}],
    }
    assert check_site(SITE, rows) == []


def test_risk_scale_outside_0_to_5_and_non_numbers():
    rows = {
        "risks": [
            {
                "item_id": 4,
                "GtRiskProbability": 7,
                "GtRiskConsequence": -1,
                "GtRiskConsequencePostAction": "x",
            }
        ]
    }
    found = check_site(SITE, rows)
    assert rules(found) == [
        ("Usikkerhet", 4, "GtRiskConsequence", "risk-scale-range"),
        ("Usikkerhet", 4, "GtRiskConsequencePostAction", "risk-scale-range"),
        ("Usikkerhet", 4, "GtRiskProbability", "risk-scale-range"),
    ]
    prob = next(f for f in found if f.field == "GtRiskProbability")
    assert prob.value == 7 and prob.site_url == SITE and "0–5" in prob.message


def test_benefit_chain_rules():
    rows = {
        "benefits": [{"item_id": 1, "Title": "Spart tid", "GtGainsOwnerId": None}],
        "indicators": [
            {"item_id": 10, "Title": "I1", "GtStartValue": None, "GtDesiredValue": 5, "GtGainLookupId": 1},
            {"item_id": 11, "Title": "I2", "GtStartValue": 5, "GtDesiredValue": 5, "GtGainLookupId": 99},
            {"item_id": 12, "Title": "I3", "GtStartValue": 1, "GtDesiredValue": None, "GtGainLookup": None},
        ],
        "measurements": [
            {"item_id": 20, "GtMeasureIndicatorLookupId": 55, "GtMeasurementValue": 1},
            {"item_id": 21, "GtMeasureIndicatorLookup": {"Id": 10}, "GtMeasurementValue": None},
            {"item_id": 22, "GtMeasurementValue": 2},
        ],
    }
    assert rules(check_site(SITE, rows)) == [
        ("Gevinstanalyse og gevinstrealiseringsplan", 1, "GtGainsOwner", "benefit-without-owner"),
        ("Gevinstoppfølging", 20, "GtMeasureIndicatorLookup", "measurement-indicator-missing"),
        ("Gevinstoppfølging", 21, "GtMeasurementValue", "measurement-without-value"),
        ("Gevinstoppfølging", 22, "GtMeasureIndicatorLookup", "measurement-without-indicator"),
        ("Måleindikatorer", 10, "GtStartValue", "indicator-missing-start"),
        ("Måleindikatorer", 11, "GtDesiredValue", "indicator-target-equals-baseline"),
        ("Måleindikatorer", 11, "GtGainLookup", "indicator-benefit-missing"),
        ("Måleindikatorer", 12, "GtDesiredValue", "indicator-missing-desired"),
        ("Måleindikatorer", 12, "GtGainLookup", "indicator-without-benefit"),
    ]


def test_every_rule_is_documented():
    rows = {
        "risks": [{"item_id": 1, "GtRiskProbability": 9}],
        "benefits": [{"item_id": 1}],
        "indicators": [
            {"item_id": 1, "GtGainLookupId": 5},
            {"item_id": 2, "GtStartValue": 1, "GtDesiredValue": 1},
        ],
        "measurements": [{"item_id": 1, "GtMeasureIndicatorLookupId": 9}, {"item_id": 2}],
    }
    assert {f.rule for f in check_site(SITE, rows)} == set(RULES)


def test_value_helpers():
    assert as_number("2,5") == 2.5 and as_number(True) is None and as_number(float("nan")) is None
    assert lookup_id({"XId": 3}, "X") == 3
    assert lookup_id({"X": {"ID": 4}}, "X") == 4
    assert lookup_id({"X": [5, 6]}, "X") == 5
    assert lookup_id({"XId": 0}, "X") is None and lookup_id({}, "X") is None
