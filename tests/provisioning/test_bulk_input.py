"""Bulk project input: the Trondheim file as it is, generic headers, xlsx, per-row and file problems."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from veiviser.errors import VeiviserError
from veiviser.provisioning.bulk_input import (
    BulkInput,
    RowProblem,
    map_header,
    parse_number,
    read_projects,
    sniff_delimiter,
)
from veiviser.schemas.project import DEFAULT_PHASES, ProjectSpec

ROOT = Path(__file__).resolve().parents[2]
TRONDHEIM = ROOT / "src/veiviser/data/trondheim-portefolje-2018-2021.csv"
SHARED = Path("/work/shared/data/trondheim-portefolje-2018-2021.csv")
DIGIBARNEVERN = (
    "Nasjonalt prosjekt - Digitale innbyggertjenester og saksbehandlingsstøtte i barnevernet (DigiBarnevern)"
)


def _write(path: Path, lines: list[str], *, newline: str = "\r\n", bom: bool = False) -> Path:
    data = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def _by_title(result: BulkInput) -> dict[str, ProjectSpec]:
    return {p.title: p for p in result.projects}


# --- the Trondheim file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trondheim() -> BulkInput:
    return read_projects(TRONDHEIM)


def test_package_copy_is_byte_identical() -> None:
    if not SHARED.exists():
        pytest.skip("shared data folder not mounted")
    assert TRONDHEIM.read_bytes() == SHARED.read_bytes()


def test_package_data_is_installed() -> None:
    from importlib.resources import files

    resource = files("veiviser") / "data" / "trondheim-portefolje-2018-2021.csv"
    assert resource.read_bytes() == TRONDHEIM.read_bytes()


def test_trondheim_yields_23_projects_without_problems(trondheim: BulkInput) -> None:
    assert trondheim.problems == []
    assert trondheim.ok
    assert trondheim.render_problems() == ""
    assert len(trondheim.projects) == 23
    assert trondheim.projects[0].title == "Digitale politikere"
    assert trondheim.projects[-1].title == "It-støtte for saksbehandling"
    assert [p.source.line for p in trondheim.projects] == list(range(3, 26))
    assert trondheim.columns["Søknader for 2018-2021"] == "title"
    assert trondheim.columns["Drift 2021"] == "cost:2021"
    assert trondheim.notes == []


def test_trondheim_costs_are_exact(trondheim: BulkInput) -> None:
    projects = _by_title(trondheim)
    assert projects["Digitalisering av planprosesser"].operating_costs == {
        2018: Decimal("200.0"),
        2019: Decimal("1151.5"),
        2020: Decimal("1075.4"),
        2021: Decimal("1087.8"),
    }
    assert projects["Trygghetsalarm"].operating_costs[2018] == Decimal("7971.6")
    assert projects["eBygg"].operating_costs == dict.fromkeys(range(2018, 2022), Decimal("0"))
    for project in trondheim.projects:
        assert sorted(project.operating_costs) == [2018, 2019, 2020, 2021]
        assert all(isinstance(v, Decimal) for v in project.operating_costs.values())
    total_2018 = sum(p.operating_costs[2018] for p in trondheim.projects)
    assert total_2018 == Decimal("29346.9")  # summed exactly (checked with awk), no float noise


def test_trondheim_long_title_units_section_comments(trondheim: BulkInput) -> None:
    projects = _by_title(trondheim)
    digi = projects[DIGIBARNEVERN]
    assert digi.alias == "digibarnevern"
    assert digi.unit == "Fagenhet for oppvekst og utdann"  # truncated by the source system, kept
    assert digi.source is not None and digi.source.line == 6
    assert digi.comment is not None and digi.comment.endswith("da systemet ikke e")
    assert projects["Helseplattformen"].unit == "Enhet for service og internkontrol"
    assert projects["Helseplattformen"].comment is None
    assert projects["LIFT"].comment == "Kvalitetssikret med Lars Dyr Dahl"
    assert projects["Læringsplattform"].alias == "laeringsplattform"
    assert [(s.title, s.line, s.lifecycle_status) for s in trondheim.sections] == [
        ("Pågående prosjekter", 2, "Aktivt")
    ]
    for project in trondheim.projects:
        assert project.section == "Pågående prosjekter"
        assert project.lifecycle_status == "Aktivt"
        assert project.phase is None and project.owner is None


def test_trondheim_with_bom_and_lf(tmp_path: Path) -> None:
    text = TRONDHEIM.read_text(encoding="utf-8")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    lf = tmp_path / "lf.csv"
    lf.write_bytes(text.replace("\r\n", "\n").encode("utf-8"))
    expected = read_projects(TRONDHEIM).projects
    for path in (bom, lf):
        result = read_projects(path)
        assert result.problems == []
        assert [(p.title, p.alias, p.operating_costs) for p in result.projects] == [
            (p.title, p.alias, p.operating_costs) for p in expected
        ]


def test_trondheim_utf16_export(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(TRONDHEIM.read_text(encoding="utf-8").encode("utf-16"))
    assert len(read_projects(path).projects) == 23


# --- generic headers ------------------------------------------------------------------------------


def test_generic_headers_and_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "kommune.csv",
        [
            "PROSJEKTNAVN;alias;FASE;Prosjektleder;Prosjekteier;Tjenesteomrade;Enhet;Startår;Status;"
            "Driftskostnader 2024;Drift 2025;Merknad;Budsjettkode",
            "Ny skoleportal;skoleportal;gjennomfore;Kari Nordmann <kari.nordmann@kommune.no>;"
            "ola@kommune.no;Skole og oppvekst;Oppvekst;2024;på vent;1 000;2\u00a0500,25;Viktig;K-123",
            "Velferdsteknologi;;Konsept;;;Helse og velferd;;2025;;;;;",
        ],
    )
    result = read_projects(path)
    assert result.problems == []
    school, welfare = result.projects
    assert school.alias == "skoleportal" and school.alias_source == "explicit"
    assert school.phase == "Gjennomføre"
    assert school.leader == "kari.nordmann@kommune.no"
    assert school.owner == "ola@kommune.no"
    assert school.service_area == "Skole og oppvekst"
    assert school.unit == "Oppvekst"
    assert school.start_year == 2024
    assert school.lifecycle_status == "Avventer"
    assert school.operating_costs == {2024: Decimal("1000"), 2025: Decimal("2500.25")}
    assert school.comment == "Viktig"
    assert school.extra == {"Budsjettkode": "K-123"}
    assert school.section is None
    assert welfare.alias == "velferdsteknologi" and welfare.alias_source == "derived"
    assert welfare.operating_costs == {}
    assert welfare.extra == {}
    assert any("Budsjettkode" in note for note in result.notes)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Søknader for 2018-2021", "title"),
        ("SØKNADER FOR 2022-2025", "title"),
        ("Title", "title"),
        ("tittel", "title"),
        ("Prosjektnavn", "title"),
        ("Tjenesteområde", "service_area"),
        ("tjenesteomrade", "service_area"),
        ("Startår", "start_year"),
        ("Drift 2019", "cost:2019"),
        ("drift   2020", "cost:2020"),
        ("Driftskostnader 2021 (NOK 1000)", "cost:2021"),
        ("Phase", "phase"),
        ("Prosjektleder", "leader"),
        ("Hva som helst", None),
        ("", None),
    ],
)
def test_map_header(header: str, field: str | None) -> None:
    assert map_header(header) == field


def test_comma_separated_with_quotes(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "comma.csv",
        [
            "Title,Unit,Drift 2020,Comment",
            'Legevakt,"Enhet for service, internkontroll",1151.5,"Sier ""ja"", men"',
            'Digisos,IT,"1 151,5","to\r\nlinjer"',
            "Sosialsystem,IT,,",
        ],
    )
    assert sniff_delimiter(path.read_text(encoding="utf-8")) == ","
    result = read_projects(path)
    assert result.problems == []
    lege, digi, sosial = result.projects
    assert lege.unit == "Enhet for service, internkontroll"
    assert lege.operating_costs == {2020: Decimal("1151.5")}
    assert lege.comment == 'Sier "ja", men'
    assert digi.operating_costs == {2020: Decimal("1151.5")}
    assert digi.comment == "to\r\nlinjer"
    assert sosial.source is not None and sosial.source.line == 5  # the quoted line break counts


def test_tab_separated(tmp_path: Path) -> None:
    path = _write(tmp_path / "tab.txt", ["Tittel\tEnhet", "Legevakt\tIT"], newline="\n")
    assert [(p.title, p.unit) for p in read_projects(path).projects] == [("Legevakt", "IT")]


def test_rows_above_header_blank_lines_sections_and_totals(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "sections.csv",
        [
            "Porteføljeoversikt Eksempel kommune;;",
            "",
            "Tittel;Enhet;Drift 2020",
            "Pågående prosjekter;;",
            "Legevakt;IT;1,0",
            ";;",
            "Avsluttede prosjekter;;",
            "Digisos;IT;2,0",
            "Planlagte prosjekter:;;",
            "Sosialsystem;;",
            "Sum;;3,0",
        ],
    )
    result = read_projects(path)
    assert result.problems == []
    assert [(p.title, p.section, p.lifecycle_status, p.source.line) for p in result.projects] == [
        ("Legevakt", "Pågående prosjekter", "Aktivt", 5),
        ("Digisos", "Avsluttede prosjekter", "Avsluttet", 8),
        ("Sosialsystem", "Planlagte prosjekter:", "Avventer", 10),
    ]
    assert [s.line for s in result.sections] == [4, 7, 9]
    assert any("line 1" in n for n in result.notes)
    assert any("Sum" in n for n in result.notes)


def test_status_column_overrides_section(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", ["Tittel;Status", "Pågående prosjekter;", "Legevakt;Avsluttet"])
    (project,) = read_projects(path).projects
    assert project.section == "Pågående prosjekter"
    assert project.lifecycle_status == "Avsluttet"


def test_custom_phase_list(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.csv", ["Tittel;Fase", "A;definere", "B;Konsept"])
    result = read_projects(path, phases=["Identifisere", "Definere", "Gjennomføre", "Avslutte"])
    assert [p.phase for p in result.projects] == ["Definere"]
    assert result.problems[0].line == 3 and "Identifisere" in result.problems[0].message
    # The default is the PP365 term set «Fase».
    assert DEFAULT_PHASES[2] == "Konsept"
    assert [p.phase for p in read_projects(path).projects] == ["Konsept"]


# --- per-row problems -----------------------------------------------------------------------------


def test_invalid_rows_reported_valid_rows_proceed(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.csv",
        [
            "Tittel;Fase;Prosjektleder;Startår;Drift 2020;Drift 2021",
            "God rad;Konsept;kari@kommune.no;2020;1 151,5;0",  # 2
            ";Konsept;;;;",  # 3 empty title
            "Tallfeil;;;;12,3,4;abc",  # 4 two bad numbers
            "Ukjent fase;Utredning;;;;",  # 5
            "Feil år;;;20l9;;",  # 6
            "Feil e-post;;Kari Nordmann;;;",  # 7
            "God rad;;;;;",  # 8 duplicate project
            "Annen god rad;Planlegge;;2021;-;2 000",  # 9
            "For mange;;;;;;ekstra",  # 10 more cells than header
            "Tvetydig;;;;1.151;",  # 11 ambiguous number
            "Gammelt år;;;1776;;",  # 12
        ],
    )
    result = read_projects(path)
    assert [p.title for p in result.projects] == ["God rad", "Annen god rad"]
    assert result.projects[1].operating_costs == {2021: Decimal("2000")}
    got = [(p.line, p.column, p.value) for p in result.problems]
    assert got == [
        (3, "Tittel", ""),
        (4, "Drift 2020", "12,3,4"),
        (4, "Drift 2021", "abc"),
        (5, "Fase", "Utredning"),
        (6, "Startår", "20l9"),
        (7, "Prosjektleder", "Kari Nordmann"),
        (8, "Tittel", "God rad"),
        (10, None, None),
        (11, "Drift 2020", "1.151"),
        (12, "Startår", "1776"),
    ]
    assert result.rejected_lines == [3, 4, 5, 6, 7, 8, 10, 11, 12]
    for problem in result.problems:
        assert isinstance(problem, RowProblem)
        assert problem.file == str(path)
        assert problem.message
    report = result.render_problems()
    assert report.startswith(f"10 problem(s) in 9 row(s) of {path}")
    assert f"{path}, line 4, column «Drift 2020» (value '12,3,4'): not a number" in report
    assert "Konsept, Planlegge" in report  # the unknown-phase message lists the choices
    assert "e-mail" in report


def test_problems_in_xlsx_name_sheet_and_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Prosjekter"
    sheet.append(["Tittel", "Drift 2020"])
    sheet.append(["OK", 1])
    sheet.append(["Feil", "mye"])
    workbook.save(path)
    result = read_projects(path)
    assert [p.title for p in result.projects] == ["OK"]
    (problem,) = result.problems
    assert (problem.sheet, problem.line, problem.column, problem.value) == (
        "Prosjekter",
        3,
        "Drift 2020",
        "mye",
    )
    assert str(problem).startswith(f"{path}[Prosjekter], row 3")


# --- xlsx -----------------------------------------------------------------------------------------


def test_xlsx_round_trip_of_trondheim(tmp_path: Path, trondheim: BulkInput) -> None:
    path = tmp_path / "trondheim.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Info"
    workbook.active.append(["Ingen tabell her"])
    sheet = workbook.create_sheet("Portefølje")
    sheet.append(
        [
            "Søknader for 2018-2021",
            "Enhet",
            "Drift 2018",
            "Drift 2019",
            "Drift 2020",
            "Drift 2021",
            "Kommentar",
        ]
    )
    sheet.append(["Pågående prosjekter"])
    for project in trondheim.projects:
        costs = [float(project.operating_costs[y]) for y in range(2018, 2022)]
        sheet.append([project.title, project.unit, *costs, project.comment])
    workbook.save(path)

    result = read_projects(path)
    assert result.problems == []
    assert result.sheet == "Portefølje"
    assert len(result.projects) == 23
    for got, want in zip(result.projects, trondheim.projects, strict=True):
        assert (got.title, got.alias, got.unit, got.comment, got.section) == (
            want.title,
            want.alias,
            want.unit,
            want.comment,
            want.section,
        )
        assert got.operating_costs == want.operating_costs
        assert got.source is not None and got.source.sheet == "Portefølje"
    assert _by_title(result)["Digitalisering av planprosesser"].operating_costs[2019] == Decimal("1151.5")
    assert result.projects[0].source.line == 3


def test_xlsx_typed_cells(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "typed.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Title", "Start year", "Drift 2020", "Drift 2021", "Alias"])
    sheet.append(["Heltall", 2020, 7971, 0.1, None])
    sheet.append(["Dato", dt.datetime(2021, 3, 1), "1 151,5", None, "dato-prosjekt"])
    workbook.save(path)
    result = read_projects(path)
    assert result.problems == []
    first, second = result.projects
    assert first.start_year == 2020
    assert first.operating_costs == {2020: Decimal("7971"), 2021: Decimal("0.1")}
    assert second.start_year == 2021
    assert second.operating_costs == {2020: Decimal("1151.5")}
    assert second.alias == "dato-prosjekt"


# --- file-level problems --------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VeiviserError) as info:
        read_projects(tmp_path / "finnes-ikke.csv")
    assert "finnes-ikke.csv" in str(info.value) and "not found" in str(info.value)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(VeiviserError, match="folder"):
        read_projects(tmp_path)


def test_missing_title_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "notitle.csv", ["Enhet;Drift 2020", "IT;1,0"])
    with pytest.raises(VeiviserError) as info:
        read_projects(path)
    assert "notitle.csv" in str(info.value)
    assert "'Enhet', 'Drift 2020'" in str(info.value)
    assert info.value.hint and "Tittel" in info.value.hint


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(VeiviserError, match="empty"):
        read_projects(path)


def test_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("Tittel;Enhet\r\nLegevakt;IT\r\nLæringsplattform;IT\r\n".encode("cp1252"))
    with pytest.raises(VeiviserError) as info:
        read_projects(path)
    assert "latin1.csv: line 3 is not UTF-8" in str(info.value)
    assert info.value.hint and "UTF-8" in info.value.hint


def test_unclosed_quote(tmp_path: Path) -> None:
    path = _write(tmp_path / "quote.csv", ["Tittel;Kommentar", 'Legevakt;"ikke lukket', "Digisos;ok"])
    with pytest.raises(VeiviserError) as info:
        read_projects(path)
    assert "quote.csv: line 2" in str(info.value)


def test_binary_and_old_excel(tmp_path: Path) -> None:
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"Tittel\x00\x01\x02")
    with pytest.raises(VeiviserError, match="NUL"):
        read_projects(binary)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(VeiviserError, match=r"\.xls"):
        read_projects(xls)


def test_broken_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(VeiviserError) as info:
        read_projects(path)
    assert "broken.xlsx" in str(info.value) and info.value.hint


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "locked.csv", ["Tittel", "A"])
    path.chmod(0)
    try:
        with pytest.raises(VeiviserError, match="cannot be read"):
            read_projects(path)
    finally:
        path.chmod(0o600)


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1 151,5", Decimal("1151.5")),
        ("1\u00a0151,5", Decimal("1151.5")),
        ("1\u202f151,5", Decimal("1151.5")),
        ("7 971,6", Decimal("7971.6")),
        ("1 234 567,89", Decimal("1234567.89")),
        ("1.234,5", Decimal("1234.5")),
        ("1.234.567", Decimal("1234567")),
        ("200,0", Decimal("200.0")),
        ("0", Decimal("0")),
        ("-12,5", Decimal("-12.5")),
        ("\u221212,5", Decimal("-12.5")),
        ("1151.5", Decimal("1151.5")),
        ("", None),
        ("-", None),
        (None, None),
        (3, Decimal("3")),
        (0.1, Decimal("0.1")),
    ],
)
def test_parse_number(raw: object, value: Decimal | None) -> None:
    assert parse_number(raw) == value


@pytest.mark.parametrize("raw", ["12,3,4", "abc", "1 15,5", "1,2.3", "1.151", "12 %", "1e3"])
def test_parse_number_rejects(raw: str) -> None:
    from veiviser.provisioning.bulk_input import _ValueError

    with pytest.raises(_ValueError):
        parse_number(raw)


def test_project_spec_validates_directly() -> None:
    spec = ProjectSpec(title=" Legevakt ", alias="legevakt", operating_costs={2020: Decimal("1.5")})
    assert spec.title == "Legevakt"
    with pytest.raises(ValueError):
        ProjectSpec(title="Legevakt", alias="Lege vakt")
    with pytest.raises(ValueError):
        ProjectSpec(title="   ", alias="legevakt")
    with pytest.raises(ValueError):
        ProjectSpec(title="Legevakt", alias="legevakt", owner="not-an-email")


def test_title_only_rows_are_projects_unless_they_read_as_sections(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "titles.csv",
        [
            "Tittel;Enhet;Drift 2020",
            "Nye Trondheim;;",
            "Pågående prosjekter;;",
            "Legevakt;;",
            "Tiltak for bedre skolevei i hele Trondheim;;",
            "Sosialsystem;IT;1",
        ],
    )
    result = read_projects(path)
    assert [p.title for p in result.projects] == [
        "Nye Trondheim",
        "Legevakt",
        "Tiltak for bedre skolevei i hele Trondheim",
        "Sosialsystem",
    ]
    assert [s.title for s in result.sections] == ["Pågående prosjekter"]
    assert result.projects[0].section is None
    assert result.projects[1].section == "Pågående prosjekter"


def test_duplicate_column_is_noted_and_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path / "dupcol.csv", ["Tittel;Prosjektnavn;Drift 2020;Drift 2020", "A;B;1;2"])
    result = read_projects(path)
    (project,) = result.projects
    assert project.title == "A"
    assert project.operating_costs == {2020: Decimal("1")}
    assert sum("is ignored" in note for note in result.notes) == 2


def test_overlong_title_is_a_row_problem(tmp_path: Path) -> None:
    path = _write(tmp_path / "long.csv", ["Tittel", "Langt " * 60, "Kort"])
    result = read_projects(path)
    assert [p.title for p in result.projects] == ["Kort"]
    (problem,) = result.problems
    assert problem.line == 2 and "at most 255" in problem.message
    assert "..." in str(problem) and len(str(problem)) < 300
