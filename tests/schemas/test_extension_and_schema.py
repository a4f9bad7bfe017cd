"""Extension merge, the published JSON Schema and the `veiviser template` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from veiviser.cli import main
from veiviser.schemas.template_loader import (
    TemplateError,
    load_bundle,
    load_template,
    published_schema_path,
    template_json_schema,
    template_json_schema_text,
)

EXTENSION = """\
extension: kommune-tillegg
version: 1.2.0
kind: project
content_types:
  - id: '0x0100A87AE71CBF2643A6BC9D0948BD2EE897'
    field_links: [GtRiskOwnerUnit]
lists:
  - key: risks
    fields:
      - {name: GtRiskStrategy, choices: [Redusere, Eskalere]}
      - {name: GtRiskOwnerUnit, display_name: Ansvarlig enhet, type: Text, indexed: true}
    views:
      - {title: Per enhet, fields: [LinkTitle, GtRiskOwnerUnit, GtRiskFactor], group_by: [GtRiskOwnerUnit]}
      - {title: Alle elementer, fields: [GtRiskOwnerUnit]}
  - key: checklist
    seed_items:
      - values: {GtSortOrder: 445, Title: Er gevinstene overlevert til linjen?, GtProjectPhase: Realisere}
  - key: lessons
    title: Erfaringer
    url: Lists/Erfaringer
    fields:
      - {name: GtLesson, display_name: Lærdom, type: Note}
      - {name: GtDelivery, display_name: Leveranse, type: Lookup, lookup_list: deliveries}
    views:
      - {title: Alle elementer, fields: [LinkTitle, GtLesson, GtDelivery], default: true}
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def write(tmp_path: Path, text: str, name: str = "ext.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_extension_adds_without_removing(tmp_path: Path) -> None:
    base = load_template("standard")
    t = load_template("standard", extensions=[write(tmp_path, EXTENSION)])
    risks = t.get_list("risks")
    assert risks.field("GtRiskStrategy").choices == [
        *base.get_list("risks").field("GtRiskStrategy").choices,
        "Eskalere",
    ]
    assert risks.field("GtRiskStrategy").default == "Redusere"
    assert risks.field("GtRiskOwnerUnit").indexed
    assert [v.title for v in risks.views][-1] == "Per enhet"
    alle = risks.view("Alle elementer")
    assert (
        alle.fields[: len(base.get_list("risks").view("Alle elementer").fields)]
        == base.get_list("risks").view("Alle elementer").fields
    )
    assert alle.fields[-1] == "GtRiskOwnerUnit"
    assert t.content_type_field_links("Risiko")[-1].name == "GtRiskOwnerUnit"
    assert len(t.get_list("checklist").seed_items) == 45
    assert t.get_list("lessons").field("GtDelivery").lookup_list == "deliveries"
    assert t.extensions == ["kommune-tillegg@1.2.0"] and t.stamp == "1.0.0+kommune-tillegg@1.2.0"
    assert len(t.lists) == len(base.lists) + 1
    for lst in base.lists:  # nothing removed
        merged = t.get_list(lst.key)
        assert {f.name for f in lst.fields} <= {f.name for f in merged.fields}
        assert {v.title for v in lst.views} <= {v.title for v in merged.views}
    assert load_template("standard").extensions == []  # the standard itself is untouched


def test_extension_conflicts_are_reported_with_lines(tmp_path: Path) -> None:
    text = EXTENSION.replace(
        "{name: GtRiskStrategy, choices: [Redusere, Eskalere]}", "{name: GtRiskStrategy, type: Text}"
    ).replace("  - key: checklist\n", "  - key: checklist\n    url: Lists/Sjekkliste\n")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as info:
        load_template("standard", extensions=[path])
    msgs = {p.message: p for p in info.value.problems}
    type_conflict = next(p for m, p in msgs.items() if "redefined with a different type" in m)
    assert type_conflict.file == str(path) and type_conflict.line == line_of(
        text, "{name: GtRiskStrategy, type: Text}"
    )
    url_conflict = next(p for m, p in msgs.items() if "url 'Lists/Sjekkliste' conflicts" in m)
    assert url_conflict.line == line_of(text, "url: Lists/Sjekkliste")


def test_extension_problems_after_merge_point_at_the_extension(tmp_path: Path) -> None:
    text = EXTENSION.replace("lookup_list: deliveries", "lookup_list: leveranser").replace(
        "GtSortOrder: 445", "GtSortOrder: 440"
    )
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as info:
        load_template("standard", extensions=[path])
    problems = info.value.problems
    lookup = next(p for p in problems if "lookup to list 'leveranser'" in p.message)
    assert (lookup.file, lookup.line) == (str(path), line_of(text, "lookup_list: leveranser"))
    dup = next(p for p in problems if "same key '440'" in p.message)
    assert (dup.file, dup.line) == (str(path), line_of(text, "GtSortOrder: 440"))


def test_extension_header_checks(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="an extension needs a version"):
        load_template("standard", extensions=[write(tmp_path, "extension: x\nkind: project\n")])
    with pytest.raises(TemplateError, match="extension is for 'hub'"):
        load_template("standard", extensions=[write(tmp_path, "extension: x\nversion: '1'\nkind: hub\n")])
    with pytest.raises(TemplateError, match="this is an extension"):
        load_template(write(tmp_path, EXTENSION))


def test_bundle_routes_extensions_by_kind(tmp_path: Path) -> None:
    hub_ext = write(
        tmp_path,
        "extension: hub-x\nversion: 0.1.0\nkind: hub\nlists:\n  - key: projects\n"
        "    fields:\n      - {name: GtBudgetArea, display_name: Budsjettområde, type: Text}\n",
        "hub.yaml",
    )
    bundle = load_bundle(extensions=[write(tmp_path, EXTENSION), hub_ext])
    assert bundle.hub.get_list("projects").has_field("GtBudgetArea")
    assert bundle.project.get_list("risks").has_field("GtRiskOwnerUnit")
    assert bundle.hub.stamp == "1.0.0+hub-x@0.1.0"


def test_published_schema_is_in_sync() -> None:
    published = published_schema_path().read_text(encoding="utf-8")
    assert published == template_json_schema_text(), (
        "run `veiviser template schema --out src/veiviser/templates/template.schema.json`"
    )
    schema = json.loads(published)
    assert schema["$defs"]["FieldDef"]["properties"]["type"]["$ref"].endswith("FieldType")
    assert "Calculated" in schema["$defs"]["FieldType"]["enum"]


def test_standard_templates_satisfy_the_schema_shape() -> None:
    schema = template_json_schema()
    allowed_list_keys = set(schema["$defs"]["ListDef"]["properties"])
    allowed_field_keys = set(schema["$defs"]["FieldDef"]["properties"])
    import yaml

    for name in ("standard-project.yaml", "standard-hub.yaml"):
        data = yaml.safe_load((published_schema_path().parent / name).read_text(encoding="utf-8"))
        assert set(data) <= set(schema["properties"])
        for lst in data["lists"]:
            assert set(lst) <= allowed_list_keys
            for f in lst.get("fields", []):
                assert set(f) <= allowed_field_keys


def test_cli_check_schema_show(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["template", "check", str(write(tmp_path, EXTENSION))])
    assert ok.exit_code == 0, ok.output
    assert "kommune-tillegg" in ok.output and "1.0.0+kommune-tillegg@1.2.0" in ok.output
    bad_text = EXTENSION.replace("type: Note", "type: Notes")
    bad = write(tmp_path, bad_text, "bad.yaml")
    result = runner.invoke(main, ["template", "check", str(bad)])
    assert result.exit_code == 2
    assert (
        f"{bad}:{line_of(bad_text, 'type: Notes')}:" in result.output
        and "unknown type 'Notes'" in result.output
    )
    assert "Traceback" not in result.output
    out = tmp_path / "schema.json"
    result = runner.invoke(main, ["template", "schema", "--out", str(out)])
    assert result.exit_code == 0 and out.read_text(encoding="utf-8") == template_json_schema_text()
    printed = runner.invoke(main, ["template", "schema"])
    assert json.loads(printed.output)["title"] == "veiviser site template"
    shown = runner.invoke(main, ["template", "show", "--kind", "hub"])
    assert shown.exit_code == 0 and "Porteføljeusikkerhet <Lists/Portefoljeusikkerhet>" in shown.output
    shown = runner.invoke(
        main, ["template", "show", "--extension", str(write(tmp_path, EXTENSION)), "--format", "json"]
    )
    assert shown.exit_code == 0 and json.loads(shown.output)["extensions"] == ["kommune-tillegg@1.2.0"]
