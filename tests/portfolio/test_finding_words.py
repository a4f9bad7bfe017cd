"""Every finding rule the code can emit has Norwegian wording in one place
(``veiviser.portfolio.words.FINDINGS``; docs/portfolio.md, "Words"), and no wording is left over.

The rule codes are read from the source: every string shaped like a rule code (``not-measurable``)
passed to a finding's constructor (``AnalysisFinding``, ``AnalysisFinding.on_item``, a ``partial``
of it, ``QualityFinding``, the quality rules' ``finding``), with module constants such as
``diff.LIST_MISSING`` resolved. The quality rules that build their code from parts are the keys of
``veiviser.sync.quality.RULES``, which ``tests/sync/test_quality.py`` holds to what ``check_site``
emits.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from veiviser.portfolio.findings import AnalysisFinding
from veiviser.portfolio.words import FINDINGS, UNKNOWN_FINDING, UNKNOWN_VALUE, describe
from veiviser.sync.feedback import finding_line
from veiviser.sync.quality import RULES, SITE_RULES, QualityFinding

SRC = Path(__file__).resolve().parents[2] / "src" / "veiviser"
CODE = re.compile(r"^[a-z]+(-[a-z]+)+$")
CONSTRUCTORS = {"AnalysisFinding", "QualityFinding", "on_item", "finding"}
#: English a reader must never meet in a finding's wording.
ENGLISH = re.compile(
    r"\b(no|not|without|missing|owner|warning|has|points|the|is|of|row|column|value|set|fill|rate)\b", re.I
)
#: Values for every placeholder a wording may name.
VALUES = {
    "value": 7,
    "field": "GtRiskProbability",
    "fields": ["GtStartValue", "GtDesiredValue"],
    "list": "Usikkerhet",
    "project": "Digitale politikere",
    "scale": "0–5",
    "kind": "number",
    "view": "Risk picture",
    "model": "Trondheim",
}


def _constants(trees: list[ast.Module]) -> dict[str, str]:
    """Module-level ``NAME = "rule-code"`` assignments, by name."""
    out = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                        out[target.id] = node.value.value
    return out


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def emitted_codes() -> set[str]:
    """Every rule code passed to a finding's constructor in ``veiviser.sync`` and ``veiviser.portfolio``."""
    paths = [p for package in ("sync", "portfolio") for p in sorted((SRC / package).rglob("*.py"))]
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in paths]
    constants = _constants(trees)
    codes = set()
    for tree in trees:
        makers = set(CONSTRUCTORS)
        for node in ast.walk(tree):  # rating_problem = partial(AnalysisFinding, ...)
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _callee(node.value) == "partial"
                and node.value.args
                and isinstance(node.value.args[0], ast.Name)
                and node.value.args[0].id in CONSTRUCTORS
            ):
                makers |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _callee(node) not in makers:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    text = arg.value
                elif isinstance(arg, ast.Name | ast.Attribute):
                    text = constants.get(arg.id if isinstance(arg, ast.Name) else arg.attr, "")
                else:
                    continue
                if CODE.match(text):
                    codes.add(text)
    return codes | set(RULES)


def test_the_source_scan_finds_the_rules_of_every_kind():
    """The scan itself works: it sees analytics codes, partials, the sync's constants and literals."""
    codes = emitted_codes()
    assert {
        "not-measurable",
        "out-of-scale",
        "missing-dimension",
        "default-weight",
        "view-not-computed",
    } <= codes
    assert set(SITE_RULES) <= codes  # list-missing through diff.LIST_MISSING, the others as literals


def test_every_emitted_rule_has_norwegian_wording_and_no_wording_is_left_over():
    codes = emitted_codes()
    assert sorted(codes - set(FINDINGS)) == [], "rules without Norwegian wording in words.FINDINGS"
    assert sorted(set(FINDINGS) - codes) == [], "wording for rules the code never emits"


@pytest.mark.parametrize("code", sorted(FINDINGS))
def test_each_wording_is_norwegian_and_fills_in(code):
    text, todo = describe(code, VALUES)
    for part in (text, todo):
        assert part.endswith(".") and "{" not in part and UNKNOWN_VALUE not in part, part
        assert not ENGLISH.search(part), part


def test_describe_names_the_place_values_and_falls_back_for_an_unknown_rule():
    text, _ = describe("not-measurable", {"fields": ["GtStartValue", "GtDesiredValue", "GtMeasurementValue"]})
    assert text == "Måloppnåelsen kan ikke beregnes: Startverdi, Ønsket verdi og Målt verdi mangler."
    assert describe("out-of-scale", {"field": "information", "project": "A", "value": 11.5, "scale": "0–10"})[
        0
    ] == ("Informasjon for A er 11,5, utenfor skalaen 0–10; prosjektet er holdt utenfor beregningen.")
    assert describe("no-such-rule", {}) == (UNKNOWN_FINDING.text, UNKNOWN_FINDING.todo)


def test_an_analysis_finding_is_described_from_its_place_and_details():
    finding = AnalysisFinding(
        "warning",
        "unreadable-value",
        "x is not a date",
        field="GtMeasurementDate",
        details={"value": "i går", "kind": "date"},
    )
    assert finding.described() == (
        "«i går» kan ikke leses som dato; verdien er regnet som tom.",
        "Rett verdien i listen på prosjektområdet (forventet: dato).",
    )


@pytest.mark.parametrize("rule", sorted({*RULES, *SITE_RULES}))
def test_the_feedback_says_every_sync_rule_in_norwegian(rule):
    finding = QualityFinding("u", "Måleindikatorer", 3, "GtStartValue", 2, rule, "English message")
    line = finding_line(finding)
    assert line.startswith("Måleindikatorer, element 3, felt Startverdi: ")
    assert "English" not in line and not ENGLISH.search(line), line
