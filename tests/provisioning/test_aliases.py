"""Site aliases: valid URL segments, derived stably from titles, unique within a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from veiviser.provisioning.bulk_input import read_projects
from veiviser.schemas.aliases import (
    ALIAS_MAX_LENGTH,
    RESERVED_ALIASES,
    alias_problem,
    alias_with_hash,
    derive_alias,
    title_hash,
    validate_alias,
)

TRONDHEIM = Path(__file__).resolve().parents[2] / "src/veiviser/data/trondheim-portefolje-2018-2021.csv"
VALID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DIGIBARNEVERN = (
    "Nasjonalt prosjekt - Digitale innbyggertjenester og saksbehandlingsstøtte i barnevernet (DigiBarnevern)"
)


@pytest.mark.parametrize(
    ("title", "alias"),
    [
        ("Digitale politikere", "digitale-politikere"),
        ("Læringsplattform", "laeringsplattform"),
        ("IT-støtte kompetanse", "it-stotte-kompetanse"),
        ("Kart- og oppmålingskontoret", "kart-og-oppmalingskontoret"),
        ("Meldeboka (utstyr barnehage)", "meldeboka-utstyr-barnehage"),
        ("Elev- Chromebook- økning i tetthet", "elev-chromebook-okning-i-tetthet"),
        ("Café Ærlig Sørum", "cafe-aerlig-sorum"),
        ("  Søknad:  «Nytt» system!  ", "soknad-nytt-system"),
        ("Registrerings- og arkivsystem - TK-Arkiv", "registrerings-og-arkivsystem-tk-arkiv"),
        (DIGIBARNEVERN, "digibarnevern"),
    ],
)
def test_derive_alias_examples(title: str, alias: str) -> None:
    assert derive_alias(title) == alias
    assert validate_alias(alias) == alias


def test_long_title_is_cut_at_a_word_with_a_hash() -> None:
    title = "Innfasing av nytt felles saksbehandlingssystem for helse og velferd i hele kommunen"
    alias = derive_alias(title)
    assert len(alias) <= ALIAS_MAX_LENGTH
    assert VALID.match(alias)
    head, _, tag = alias.rpartition("-")
    assert tag == title_hash(title)
    assert title.lower().replace(" ", "-").startswith(head)  # whole words only
    # Two long titles sharing their first 40 characters still differ.
    other = title.replace("velferd", "omsorg")
    assert derive_alias(other) != alias
    assert derive_alias(other).rpartition("-")[0] == head


def test_parenthesised_phrase_is_not_a_short_name() -> None:
    long = "Reguleringsplan for nytt boligområde ved Lade og Leangen med tilhørende vei (fase to)"
    alias = derive_alias(long)
    assert alias.startswith("reguleringsplan-for-nytt-")
    assert "fase" not in alias
    assert len(alias) <= ALIAS_MAX_LENGTH


def test_alias_is_stable_and_depends_only_on_title() -> None:
    assert derive_alias("Trygghetsalarm") == derive_alias("Trygghetsalarm")
    assert title_hash("Trygghetsalarm") == title_hash("  trygghetsalarm ")
    assert title_hash("Trygghetsalarm") != title_hash("Trygghetsalarmer")


def test_reserved_names_are_avoided() -> None:
    assert derive_alias("Sites") == "sites-prosjekt"
    assert derive_alias("Search") == "search-prosjekt"
    assert derive_alias("_api") == "api-prosjekt"
    assert {"sites", "teams", "api", "layouts", "vti-bin"} <= RESERVED_ALIASES
    assert "reserved" in (alias_problem("teams") or "")


def test_unreadable_title_gets_a_neutral_alias() -> None:
    alias = derive_alias("???")
    assert alias == f"prosjekt-{title_hash('???')}"
    assert derive_alias("Проект") != derive_alias("Проект 2")


@pytest.mark.parametrize(
    ("alias", "fragment"),
    [
        ("", "empty"),
        ("Legevakt", "lower-case"),
        ("lege vakt", "lower-case"),
        ("-legevakt", "lower-case"),
        ("lege--vakt", "lower-case"),
        ("legevakt-", "lower-case"),
        ("læring", "lower-case"),
        ("a" * 41, "at most 40"),
        ("sites", "reserved"),
    ],
)
def test_validate_alias_rejects(alias: str, fragment: str) -> None:
    problem = alias_problem(alias)
    assert problem is not None and fragment in problem
    with pytest.raises(ValueError):
        validate_alias(alias)


def test_alias_with_hash_fits() -> None:
    alias = alias_with_hash("a" * 40, "Some title")
    assert len(alias) <= ALIAS_MAX_LENGTH and VALID.match(alias)
    assert alias_with_hash("legevakt", "Legevakt") == f"legevakt-{title_hash('Legevakt')}"


def test_trondheim_aliases_valid_and_unique() -> None:
    result = read_projects(TRONDHEIM)
    aliases = [p.alias for p in result.projects]
    assert len(aliases) == 23
    assert len(set(aliases)) == 23
    for alias in aliases:
        assert VALID.match(alias), alias
        assert len(alias) <= ALIAS_MAX_LENGTH
        assert alias not in RESERVED_ALIASES


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def test_aliases_stable_under_row_insertion_and_removal(tmp_path: Path) -> None:
    lines = TRONDHEIM.read_text(encoding="utf-8-sig").splitlines()
    original = {p.title: p.alias for p in read_projects(TRONDHEIM).projects}

    # Insert rows that collide with existing ones at the top: same prefix, near-duplicate title,
    # a long title with the same first words as DigiBarnevern.
    inserted = [
        "Legevakt (ny)" + ";IT-tjenesten;1,0;1,0;1,0;1,0;",
        "Nasjonalt prosjekt - Digitale innbyggertjenester for eldre og pårørende i kommunen;IT-tjenesten;;;;;",
        "Trygghetsalarm 2;IT-tjenesten;;;;;",
    ]
    grown = _write(tmp_path / "grown.csv", lines[:2] + inserted + lines[2:])
    result = read_projects(grown)
    assert result.problems == []
    after = {p.title: p.alias for p in result.projects}
    assert len(after) == 26
    for title, alias in original.items():
        assert after[title] == alias
    assert len(set(after.values())) == 26

    # Remove every other project row.
    shrunk = _write(tmp_path / "shrunk.csv", lines[:2] + lines[2::2])
    for project in read_projects(shrunk).projects:
        assert project.alias == original[project.title]

    # Reversed order.
    reordered = _write(tmp_path / "reordered.csv", lines[:2] + lines[:1:-1])
    assert {p.title: p.alias for p in read_projects(reordered).projects} == original


def test_near_duplicate_title_is_reported_not_renamed(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "dup.csv",
        ["Tittel;Enhet", "Legevakt;A", "Digisos;B", "LEGEVAKT!;C", "legevakt;D"],
    )
    result = read_projects(path)
    assert [p.title for p in result.projects] == ["Legevakt", "Digisos"]
    assert result.projects[0].alias == "legevakt"
    by_line = {p.line: p for p in result.problems}
    assert set(by_line) == {4, 5}
    assert "line 2" in by_line[4].message and "Alias" in by_line[4].message
    assert "same title" in by_line[5].message


def test_explicit_alias_wins_and_is_validated(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "alias.csv",
        [
            "Tittel;Alias",
            "Legevakt;lv-trondheim",
            "Digisos;",
            "Sosialsystem;Sosial System",
            "Helseplattformen;teams",
            "Trygghetsalarm;lv-trondheim",
            "Ny legevakt;digisos",
        ],
    )
    result = read_projects(path)
    got = {p.title: (p.alias, p.alias_source) for p in result.projects}
    assert got == {"Legevakt": ("lv-trondheim", "explicit"), "Digisos": ("digisos", "derived")}
    problems = {p.line: p for p in result.problems}
    assert set(problems) == {4, 5, 6, 7}
    assert problems[4].column == "Alias" and problems[4].value == "Sosial System"
    assert "reserved" in problems[5].message
    assert "line 2" in problems[6].message
    assert "line 3" in problems[7].message


def test_existing_aliases_mapping_reuses_and_avoids(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", ["Tittel", "Legevakt", "Digisos", "Sosialsystem"])
    existing = {
        "legevakt-gammel": "Legevakt",  # this project's own site from an earlier run
        "digisos": "Digisos (pilot)",  # another project holds the derived alias
    }
    result = read_projects(path, existing_aliases=existing)
    assert result.problems == []
    got = {p.title: (p.alias, p.alias_source) for p in result.projects}
    assert got["Legevakt"] == ("legevakt-gammel", "existing")
    assert got["Digisos"] == (f"digisos-{title_hash('Digisos')}", "derived")
    assert got["Sosialsystem"] == ("sosialsystem", "derived")
    # The same result on every run.
    assert {p.title: p.alias for p in read_projects(path, existing_aliases=existing).projects} == {
        t: a for t, (a, _) in got.items()
    }


def test_existing_aliases_plain_iterable(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", ["Tittel;Alias", "Legevakt;", "Digisos;digisos"])
    result = read_projects(path, existing_aliases=["legevakt", "digisos"])
    assert [p.alias for p in result.projects] == [f"legevakt-{title_hash('Legevakt')}"]
    assert len(result.problems) == 1
    assert result.problems[0].line == 3 and "already used by another site" in result.problems[0].message
