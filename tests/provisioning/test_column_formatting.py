"""Column formatting (CustomFormatter) in the templates: valid by the column-formatting schema's
rules, provisioned with the field, updated only when it differs (docs/provisioning.md, "Column formatting")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import ProjectRequest, Provisioner
from veiviser.provisioning.plan import plan, same_formatter
from veiviser.provisioning.state import read_state
from veiviser.schemas.template import FieldDef, ListDef
from veiviser.schemas.template_loader import load_template
from veiviser.sharepoint import ListTarget
from veiviser.sharepoint import schema as sp

RULES = json.loads(
    (Path(__file__).parent / "data" / "column-formatting-subset.json").read_text(encoding="utf-8")
)
TEMPLATES = [load_template("standard", kind="project"), load_template("standard", kind="hub")]
FORMATTED = [(t, lst, f) for t in TEMPLATES for lst in t.lists for f in lst.fields if f.formatter is not None]

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_FIELD = re.compile(r"\[\$([A-Za-z_][A-Za-z0-9_]*)\]")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def check_expression(text: str, lst: ListDef, where: str) -> list[str]:
    """Problems of one ``=`` expression: quotes, brackets, operands, functions and operators."""
    problems: list[str] = []
    body = _STRING.sub("''", text[1:])
    if body.count("'") % 2:
        problems.append(f"{where}: unbalanced quotes")
    depth = 0
    for ch in body:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0:
        problems.append(f"{where}: unbalanced parentheses")
    fields = {f.name for f in lst.fields} | {"ContentType", "ID", "Title"}
    for name in _FIELD.findall(body):
        if name not in fields:
            problems.append(f"{where}: [${name}] is not a field of list {lst.key!r}")
    rest = _NUMBER.sub(" ", _FIELD.sub(" ", body.replace("''", " ")))
    for op in sorted(RULES["operands"], key=len, reverse=True):
        rest = rest.replace(op, " ")
    for m in _NAME.finditer(rest):
        follows = rest[m.end() :].lstrip()[:1]
        if follows != "(" or m.group(0) not in RULES["functions"]:
            problems.append(f"{where}: {m.group(0)!r} is neither a function call nor an operand")
    leftover = re.sub(r"[A-Za-z_][A-Za-z0-9_.]*|[\s(),]", " ", rest).split()
    problems += [
        f"{where}: operator {op!r} is not allowed" for op in leftover if op not in RULES["operators"]
    ]
    return problems


def check_element(node: Any, lst: ListDef, where: str) -> list[str]:
    """Problems of one element of a formatter (recursing into ``children``)."""
    if not isinstance(node, dict):
        return [f"{where}: an element must be an object"]
    problems = [f"{where}: unknown key {k!r}" for k in node if k not in RULES["element_keys"]]
    if node.get("elmType") not in RULES["elmType"]:
        problems.append(f"{where}: elmType {node.get('elmType')!r} is not one of {RULES['elmType']}")
    if "$schema" in node and node["$schema"] != RULES["schema"]:
        problems.append(f"{where}: $schema should be {RULES['schema']}")
    values: list[tuple[str, Any]] = [("txtContent", node.get("txtContent"))]
    for key, value in (node.get("style") or {}).items():
        if key not in RULES["style_properties"]:
            problems.append(f"{where}: style {key!r} is not in the allowed subset")
        values.append((f"style.{key}", value))
    for key, value in (node.get("attributes") or {}).items():
        if key not in RULES["attributes"] and not key.startswith("aria-"):
            problems.append(f"{where}: attribute {key!r} is not allowed")
        values.append((f"attributes.{key}", value))
    for label, value in values:
        if isinstance(value, str) and value.startswith("="):
            problems += check_expression(value, lst, f"{where}.{label}")
        elif isinstance(value, str) and value.startswith("@") and value not in RULES["operands"]:
            problems.append(f"{where}.{label}: {value!r} is not a known operand")
    for i, child in enumerate(node.get("children") or []):
        problems += check_element(child, lst, f"{where}.children[{i}]")
    return problems


def test_the_templates_format_the_risk_factors_and_the_checklist_status() -> None:
    names = {(lst.key, f.name) for _, lst, f in FORMATTED}
    assert {
        ("risks", "GtRiskFactor"),
        ("risks", "GtRiskFactorPostAction"),
        ("checklist", "GtChecklistStatus"),
    } <= names
    statuses = ("Time", "Budget", "Quality", "Risk", "Opportunities", "GainAchievement")
    assert {("status", f"GtStatus{s}") for s in statuses} <= names  # the hub's status report


def test_status_colours_follow_the_project_column_configuration() -> None:
    fdef = TEMPLATES[1].get_list("status").field("GtStatusGainAchievement")
    colour = fdef.formatter["children"][0]["style"]["color"]  # type: ignore[index]
    assert "@currentField=='Forsinket','#ea5c73'" in colour
    assert "@currentField=='Ikke påbegynt','#e9b359'" in colour
    assert "@currentField=='På plan','#2da748'" in colour
    assert set(fdef.choices) <= set(
        re.findall(r"@currentField=='([^']*)'", colour)
    )  # every choice has a colour


@pytest.mark.parametrize(("template", "lst", "fdef"), FORMATTED, ids=lambda v: getattr(v, "name", None) or "")
def test_every_formatter_follows_the_column_formatting_schema(
    template: Any, lst: ListDef, fdef: FieldDef
) -> None:
    assert check_element(fdef.formatter, lst, f"{template.name}/{lst.key}/{fdef.name}") == []


def test_the_checker_catches_what_the_schema_forbids() -> None:
    risks = TEMPLATES[0].get_list("risks")
    bad = {
        "elmType": "table",
        "style": {"background-color": "=if([$Nope] > 3, 'red'"},
        "attributes": {"onclick": "x"},
        "children": [{"elmType": "span", "txtContent": "=eval(@currentField)", "colour": "red"}],
    }
    problems = " | ".join(check_element(bad, risks, "bad"))
    for expected in (
        "elmType 'table'",
        "unbalanced parentheses",
        "[$Nope]",
        "attribute 'onclick'",
        "'eval'",
        "key 'colour'",
    ):
        assert expected in problems


def test_the_formatter_bands_by_s_plus_k_with_the_matrix_colours() -> None:
    fdef = TEMPLATES[0].get_list("risks").field("GtRiskFactor")
    colour = fdef.formatter["style"]["background-color"]  # type: ignore[index]
    assert "Number([$GtRiskProbability])+Number([$GtRiskConsequence])" in colour
    for c in ("#FF6961", "#FFB54C", "#F8D66D", "#7ABD7E", "#009756", "#A0DAA1"):
        assert c in colour
    assert same_formatter(fdef.formatter_json, fdef.formatter or {})
    assert not same_formatter(None, {}) and not same_formatter("{not json", {"a": 1})


# --- provisioning against the emulator -------------------------------------------------------------


def _formatters(prov: Provisioner, url: str) -> dict[str, Any]:
    site = prov.client(url)
    out = {}
    for title, name in (("Usikkerhet", "GtRiskFactor"), ("Fasesjekkliste", "GtChecklistStatus")):
        fields = site.run(sp.read_list_fields(ListTarget.by_title(title)))
        stored = next(f for f in fields if f["InternalName"] == name).get("CustomFormatter")
        out[name] = json.loads(stored) if stored else None
    return out


def test_formatters_are_provisioned_idempotently_and_repaired(
    prov: Provisioner, server: EmulatorServer, count_writes
) -> None:
    request = ProjectRequest(title="Alfa", alias="alfa", owner="eier@kommune.no")
    url = prov.project(request).url
    risks = prov.project_template.get_list("risks")
    checklist = prov.project_template.get_list("checklist")
    assert _formatters(prov, url) == {
        "GtRiskFactor": risks.field("GtRiskFactor").formatter,
        "GtChecklistStatus": checklist.field("GtChecklistStatus").formatter,
    }
    hub_status = prov.client(prov.hub_url).run(sp.read_list_fields(ListTarget.by_title("Prosjektstatus")))
    stored = next(f for f in hub_status if f["InternalName"] == "GtStatusGainAchievement")["CustomFormatter"]
    assert (
        json.loads(stored) == prov.hub_template.get_list("status").field("GtStatusGainAchievement").formatter
    )
    server.log.reset()
    assert prov.project(request).outcome == "up to date" and count_writes() == 0
    site = prov.client(url)
    site.run(sp.set_formatter(ListTarget.by_title("Usikkerhet"), "GtRiskFactor", '{"elmType":"div"}'))
    state, _ = read_state(site, prov.project_template)
    steps = [s for s in plan(prov.project_template, state).steps]
    assert [(s.action, s.target) for s in steps] == [("set_formatter", "GtRiskFactor")]
    server.log.reset()
    assert prov.upgrade_site(request).outcome == "updated"  # upgrade carries formatters too
    assert count_writes() == 1
    assert _formatters(prov, url)["GtRiskFactor"] == risks.field("GtRiskFactor").formatter
