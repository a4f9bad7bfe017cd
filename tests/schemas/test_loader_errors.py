"""Invalid templates: every problem reported at once with file, line and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from veiviser.errors import VeiviserError
from veiviser.schemas.template_loader import TemplateError, load_template

GOOD = """\
name: Test
kind: project
version: 1.0.0
content_types:
  - id: '0x0100AA01'
    name: Sak
    field_links: [Title, GtStatus]
lists:
  - key: cases
    title: Saker
    url: Lists/Saker
    content_types: [Sak]
    fields:
      - name: GtStatus
        display_name: Status
        type: Choice
        choices: [Ny, Lukket]
        default: Ny
      - {name: GtA, display_name: A, type: Number, min: 0, max: 5}
      - {name: GtB, display_name: B, type: Number}
      - {name: GtAB, display_name: AB, type: Calculated, formula: '=GtA*GtB', result_type: Number}
  - key: notes
    title: Notater
    url: Lists/Notater
    fields:
      - {name: GtCase, display_name: Sak, type: Lookup, lookup_list: cases, show_field: Title}
    views:
      - {title: Alle, fields: [ID, LinkTitle, GtCase], default: true}
"""


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        load_template(path)
    return info.value


def test_good_template_loads(tmp_path: Path) -> None:
    t = load_template(write(tmp_path, GOOD))
    assert t.get_list("notes").field("GtCase").lookup_list == "cases"
    assert t.content_type("0x0100aa01").name == "Sak"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message", "path"),
    [
        (
            "type: Choice",
            "type: Chioce",
            "type: Chioce",
            "unknown type 'Chioce'",
            "lists[cases].fields[GtStatus].type",
        ),
        (
            "lookup_list: cases",
            "lookup_list: nope",
            "lookup_list: nope",
            "lookup to list 'nope'",
            "lists[notes].fields[GtCase].lookup_list",
        ),
        (
            "default: Ny",
            "default: Åpen",
            "default: Åpen",
            "default 'Åpen' is not among the choices",
            "lists[cases].fields[GtStatus].default",
        ),
        (
            "formula: '=GtA*GtB'",
            "formula: '=GtA*GtC'",
            "formula: '=GtA*GtC'",
            "formula refers to unknown field GtC",
            "lists[cases].fields[GtAB].formula",
        ),
        (
            "min: 0, max: 5",
            "min: 7, max: 5",
            "min: 7",
            "min 7 is greater than max 5",
            "lists[cases].fields[GtA].min",
        ),
        (
            "{name: GtB,",
            "{name: GtA,",
            "{name: GtA, display_name: B",
            "duplicate field internal name GtA",
            "lists[cases].fields[GtA].name",
        ),
        (
            "url: Lists/Notater",
            "url: Lists/Notåter",
            "url: Lists/Notåter",
            "must be ASCII",
            "lists[notes].url",
        ),
        (
            "fields: [ID, LinkTitle, GtCase]",
            "fields: [ID, GtNope]",
            "fields: [ID, GtNope]",
            "unknown field GtNope",
            "lists[notes].views[Alle].fields[GtNope]",
        ),
        (
            "      - {name: GtB, display_name: B, type: Number}",
            "      - {name: GtB, display_name: B, type: Number, colour: red}",
            "colour: red",
            "unknown key 'colour'",
            "lists[cases].fields[GtB].colour",
        ),
        (
            "field_links: [Title, GtStatus]",
            "field_links: [Title, GtMissing]",
            "field_links:",
            "GtMissing",
            "content_types[Sak]",
        ),
    ],
)
def test_invalid_template_cases(
    tmp_path: Path, old: str, new: str, needle: str, message: str, path: str
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    file = write(tmp_path, text)
    err = problems_of(file)
    match = [p for p in err.problems if message in p.message]
    assert match, str(err)
    p = match[0]
    assert p.file == str(file)
    assert p.line == line_of(text, needle), str(err)
    assert p.path.startswith(path), p.path
    assert f"{file}:{p.line}:" in str(err) and message in str(err)
    assert isinstance(err, VeiviserError) and err.hint and err.exit_code == 2


def test_all_problems_are_collected(tmp_path: Path) -> None:
    text = (
        GOOD.replace("default: Ny", "default: Åpen")
        .replace("min: 0, max: 5", "min: 9, max: 5")
        .replace("lookup_list: cases", "lookup_list: nope")
    )
    err = problems_of(write(tmp_path, text))
    assert len(err.problems) == 3
    assert str(err).startswith("3 problems in template:")


def test_bad_yaml_reports_parser_position(tmp_path: Path) -> None:
    text = GOOD.replace("    title: Saker\n", "    title: [Saker\n")
    err = problems_of(write(tmp_path, text))
    assert len(err.problems) == 1 and "bad YAML" in err.problems[0].message
    assert err.problems[0].line is not None and err.problems[0].line >= line_of(text, "title: [Saker")


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace("    title: Notater\n", "    title: Notater\n    title: Notater2\n")
    err = problems_of(write(tmp_path, text))
    assert err.problems[0].line == line_of(text, "title: Notater2")
    assert "duplicate key 'title'" in err.problems[0].message


def test_unquoted_content_type_id_is_kept_as_text(tmp_path: Path) -> None:
    t = load_template(write(tmp_path, GOOD.replace("'0x0100AA01'", "0x0100AA01")))
    assert t.content_types[0].id == "0x0100AA01"


def test_norwegian_yes_no_are_not_booleans(tmp_path: Path) -> None:
    t = load_template(
        write(tmp_path, GOOD.replace("choices: [Ny, Lukket]", "choices: [Ny, Lukket, yes, no]"))
    )
    assert t.get_list("cases").field("GtStatus").choices == ["Ny", "Lukket", "yes", "no"]


def test_missing_file_and_wrong_shape(tmp_path: Path) -> None:
    err = problems_of(tmp_path / "missing.yaml")
    assert "file not found" in str(err)
    err = problems_of(write(tmp_path, "- a\n- b\n"))
    assert "must be a YAML mapping" in str(err)


def test_version_lookup_show_field_and_unindexable(tmp_path: Path) -> None:
    text = (
        GOOD.replace("version: 1.0.0", "version: 'v1'")
        .replace("show_field: Title", "show_field: GtNope")
        .replace(
            "{name: GtB, display_name: B, type: Number}",
            "{name: GtB, display_name: B, type: Note, indexed: true}",
        )
    )
    msgs = [p.message for p in problems_of(write(tmp_path, text)).problems]
    assert any("not of the form x.y.z" in m for m in msgs)
    assert any("show field GtNope" in m for m in msgs)
    assert any("cannot index a Note" in m for m in msgs)


def test_seed_items_duplicate_keys(tmp_path: Path) -> None:
    text = GOOD + (
        "    key_fields: [GtCase]\n"
        "    seed_items:\n"
        "      - values: {Title: a, GtCase: 1}\n"
        "      - values: {Title: b, GtCase: 1}\n"
    )
    err = problems_of(write(tmp_path, text))
    assert "same key '1'" in str(err)
    assert err.problems[0].line == line_of(text, "Title: b")
