"""Structure of the report outputs: Excel workbook, star schema, HTML, and bad input."""

from __future__ import annotations

import os
import re
from datetime import datetime

import openpyxl
import pandas as pd
import pytest

from veiviser.errors import VeiviserError
from veiviser.portfolio.benefits import achievement
from veiviser.portfolio.dataset import DatasetError, PortfolioDataset
from veiviser.portfolio.reports import OutputError, write_reports
from veiviser.portfolio.reports.excel import NO_DATA
from veiviser.portfolio.reports.html import SECTIONS, render_html
from veiviser.portfolio.reports.starschema import TABLES, build_star_schema
from veiviser.portfolio.reports.views import build_views

from .test_reports_data import AS_OF, EVIL, SINCE, empty_dataset, sample_dataset

SHEETS = [
    "Om rapporten",
    "Prosjekter",
    "Gevinster",
    "Gevinstkart",
    "Måloppnåelse",
    "Planlagt mot realisert",
    "Avvik gevinster",
    "Risikomatrise",
    "Uakseptable risikoer",
    "Risikoer uten eier",
    "Muligheter",
    "Interessenter",
    "ITPOSMO",
    "Prioritering",
    "Endringer",
    "Målendringer",
    "Datakvalitet",
]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return write_reports(sample_dataset(), out, since=SINCE)


def _sheet_rows(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_workbook_sheets_headers_filters(written):
    wb = openpyxl.load_workbook(written.excel)
    assert wb.sheetnames == SHEETS
    for name in SHEETS[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
        assert ws.cell(1, 1).font.bold
        assert all(ws.column_dimensions[c].width >= 8 for c in "AB")


def test_workbook_achievement_is_exact_percent(written):
    ws = openpyxl.load_workbook(written.excel)["Måloppnåelse"]
    rows = _sheet_rows(ws)
    by = {(r["Måleindikator"], r["Dato for måling"]): r for r in rows}
    # Portokostnad 500 000 -> 200 000, measured 310 000: 63.333…% (hand-computed: 190/300)
    r = by[("Portokostnad per år", datetime(2025, 6, 20))]
    assert r["Måloppnåelse"] == achievement(500_000, 200_000, 310_000).pct / 100
    assert r["Måloppnåelse"] == pytest.approx(190 / 300, rel=1e-15)
    # Over-delivery is kept: Digitale søknader 10 -> 60, measured 71 = 122 %
    assert by[("Digitale søknader", datetime(2025, 6, 20))]["Måloppnåelse"] == pytest.approx(1.22)
    col = [c.value for c in ws[1]].index("Måloppnåelse") + 1
    assert ws.cell(2, col).number_format == "0.0%"
    date_col = [c.value for c in ws[1]].index("Dato for måling") + 1
    assert ws.cell(2, date_col).number_format == "yyyy-mm-dd"
    assert isinstance(ws.cell(2, date_col).value, datetime)


def test_workbook_numbers_are_numbers_and_titles_never_formulas(tmp_path):
    ds = sample_dataset()
    ds.risks.loc[0, "Title"] = '=HYPERLINK("http://example.invalid")'
    paths = write_reports(ds, tmp_path, since=SINCE)
    ws = openpyxl.load_workbook(paths.excel)["Uakseptable risikoer"]
    rows = _sheet_rows(ws)
    assert [r["Risikofaktor"] for r in rows] == [16, 15, 14]
    assert rows[0]["Tittel"].startswith("=HYPERLINK")
    title_col = [c.value for c in ws[1]].index("Tittel") + 1
    assert ws.cell(2, title_col).data_type == "s"


def test_workbook_empty_views_say_no_data(tmp_path):
    paths = write_reports(empty_dataset(), tmp_path)
    wb = openpyxl.load_workbook(paths.excel)
    assert wb.sheetnames == SHEETS
    for name in SHEETS[1:]:
        assert wb[name].cell(2, 1).value == NO_DATA, name


def test_star_schema_files_and_keys(written):
    for name in TABLES:
        pq, csv = written.parquet[name], written.csv[name]
        assert pq.is_file() and csv.is_file()
        assert csv.read_bytes()[:3] == b"\xef\xbb\xbf"  # UTF-8 BOM, documented in the README
        a = pd.read_parquet(pq)
        b = pd.read_csv(csv, encoding="utf-8-sig")
        assert list(a.columns) == list(b.columns) and len(a) == len(b), name
    t = {name: pd.read_parquet(written.parquet[name]) for name in TABLES}
    projects = set(t["dim_project"]["project_sk"])
    assert 0 in projects and t["dim_project"]["project_sk"].is_unique
    dates = set(t["dim_date"]["date_key"])
    for name in TABLES[2:]:
        f = t[name]
        assert set(f["project_sk"]) <= projects, name
        for col in [c for c in f.columns if c.endswith("date_key")]:
            assert set(f[col].dropna()) <= dates, (name, col)
    assert set(t["fact_measurements"]["indicator_sk"]) <= set(t["fact_indicators"]["indicator_sk"])
    assert set(t["fact_indicators"]["benefit_sk"]) <= set(t["fact_benefits"]["benefit_sk"])
    assert len(t["fact_snapshots"]) == 8 and len(t["fact_risks"]) == 6 and len(t["fact_measurements"]) == 12


def test_date_dimension_is_continuous_with_norwegian_names(written):
    d = pd.read_parquet(written.parquet["dim_date"])
    days = pd.to_datetime(d["date"])
    assert (days.diff().dropna() == pd.Timedelta(days=1)).all()
    assert days.min() == pd.Timestamp("2024-09-01")  # project p1 start, the earliest date in the facts
    assert days.max() == pd.Timestamp("2026-06-30")  # latest realisation time
    row = d[d["date_key"] == 20250101].iloc[0]
    assert (
        row["month_name"],
        row["iso_year"],
        row["iso_week"],
        row["weekday_name"],
        row["quarter_label"],
    ) == ("januar", 2025, 1, "onsdag", "2025 K1")
    assert d[d["date_key"] == 20241230].iloc[0]["iso_year"] == 2025  # ISO week 1 of 2025


def test_star_schema_unknown_project_rows_get_a_member():
    ds = sample_dataset()
    ds.risks.loc[len(ds.risks)] = dict(
        project_key="p9",
        project_title="Ikke i prosjektlisten",
        source_key="p9:r:1",
        item_id="1",
        Title="Foreldreløs",
        ContentType="Risiko",
        GtRiskProbability=1,
        GtRiskConsequence=1,
    )
    schema = build_star_schema(build_views(ds, since=SINCE))
    dim = schema["dim_project"]
    p9 = dim[dim["project_key"] == "p9"].iloc[0]
    assert not p9["in_project_list"] and p9["project_title"] == "Ikke i prosjektlisten"
    fr = schema["fact_risks"]
    assert fr[fr["source_key"] == "p9:r:1"]["project_sk"].iloc[0] == p9["project_sk"]


def test_html_is_self_contained_and_escaped(written):
    html = written.html.read_text(encoding="utf-8")
    assert '<html lang="nb">' in html
    assert "<script" not in html.replace("&lt;script&gt;", "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert EVIL not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; «Søknad»" in html
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}"' in html
    assert "Usikkerhet i modellen" in html  # the preset's uncertainty note is shown


def test_html_marks_over_delivery_and_keeps_units_apart(written):
    html = written.html.read_text(encoding="utf-8")
    assert 'class="over"' in html  # Digitale søknader at 122 %
    assert "122,0 %" in html
    for unit in ("Antall", "Kroner", "Prosent"):
        assert f"Planlagt mot realisert: {unit}" in html


def test_empty_portfolio_every_section_no_data():
    html = render_html(build_views(empty_dataset()))
    for sid, _ in SECTIONS:
        section = html.split(f'<section id="{sid}"', 1)[1].split("</section>", 1)[0]
        assert 'class="no-data"' in section, sid
        assert "<svg" not in section, sid


def test_projects_without_benefits_and_missing_frames():
    ds = PortfolioDataset(as_of=AS_OF, projects=sample_dataset().projects, risks=sample_dataset().risks)
    html = render_html(build_views(ds))
    section = html.split('<section id="gevinster"', 1)[1].split("</section>", 1)[0]
    assert "Ingen data." in section
    assert "<svg" in html.split('<section id="risiko"', 1)[1].split("</section>", 1)[0]


def test_bad_frame_becomes_finding_not_crash():
    ds = sample_dataset()
    ds.stakeholders = ds.stakeholders.drop(columns=["Title"])
    views = build_views(ds, since=SINCE)
    assert any(f.code == "view-not-computed" and f.frame == "stakeholders" for f in views.findings)
    assert "Ingen data." in render_html(views).split('<section id="interessenter"', 1)[1]


def test_since_after_as_of_is_a_clear_error():
    with pytest.raises(VeiviserError, match="after the report date"):
        build_views(sample_dataset(), since="2025-07-15")


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as err:
        write_reports(sample_dataset(), blocker / "out", since=SINCE)
    assert str(blocker / "out") in str(err.value) and err.value.hint
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(OutputError, match=str(ro)):
            write_reports(sample_dataset(), ro, since=SINCE)


def test_dataset_directory_round_trip(tmp_path):
    ds = sample_dataset()
    ds.to_directory(tmp_path / "ds")
    back = PortfolioDataset.from_directory(tmp_path / "ds")
    assert (
        back.as_of == ds.as_of and len(back.risks) == len(ds.risks) and len(back.history) == len(ds.history)
    )
    a, b = build_views(ds, since=SINCE), build_views(back, since=SINCE)
    assert a.unacceptable["source_key"].tolist() == b.unacceptable["source_key"].tolist()
    assert (
        b.benefits.measurements["achievement_pct"].tolist()
        == a.benefits.measurements["achievement_pct"].tolist()
    )


def test_dataset_directory_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        PortfolioDataset.from_directory(tmp_path / "none")
    (tmp_path / "dataset.json").write_text("{\n  as_of: 1\n}")
    with pytest.raises(DatasetError, match="line 2"):
        PortfolioDataset.from_directory(tmp_path)


def test_itposmo_and_priorities_from_project_columns():
    projects = sample_dataset().projects.assign(
        itposmo_information=[1, None, None],
        itposmo_technology=[2, None, None],
        itposmo_processes=[3, None, None],
        itposmo_objectives=[1, None, None],
        itposmo_staffing=[1, None, None],
        itposmo_management=[1, None, None],
        itposmo_other_resources=[1, None, None],
        priority_Strategi=[5, 3, None],
    )
    ds = PortfolioDataset(as_of=AS_OF, projects=projects)
    views = build_views(ds)
    assert views.itposmo.table["total"].tolist() == [10]
    assert views.priority.ranking["project"].tolist()[0] == "Digital byggesak"
    assert not views.priority.ranking["complete"].any()  # only Strategi rated


def test_priorities_keyed_as_the_hub_keys_criteria_match_the_model():
    """The hub's ratings carry the criterion key in lower case (``strategi``): it is still «Strategi»."""
    projects = sample_dataset().projects.assign(
        priority_strategi=[5, 3, None], priority_kritikalitet=[2, 4, None], priority_ukjent=[1, 1, None]
    )
    ranking = build_views(PortfolioDataset(as_of=AS_OF, projects=projects)).priority.ranking.set_index(
        "project"
    )
    assert (
        ranking.loc["Digital byggesak", "Strategi"] > 0
        and ranking.loc["Digital byggesak", "Kritikalitet"] > 0
    )
    assert sorted(ranking.loc["Digital byggesak", "missing"]) == sorted(
        ["Volum", "Volumtall", "Levetid", "Samhandling", "Kvalitet", "Ressursutnyttelse", "Fremtid", "Risiko"]
    )


def test_report_files_get_the_umask_mode_not_0600(tmp_path) -> None:
    """Reports are shared with colleagues: mkstemp's private 0600 mode must not leak into them."""
    import os
    import stat

    from veiviser.portfolio.reports import _atomic

    old = os.umask(0o022)
    try:
        target = _atomic(tmp_path / "r.html", lambda p: p.write_text("x", encoding="utf-8"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
