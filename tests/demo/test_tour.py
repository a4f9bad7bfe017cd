"""``veiviser demo`` end to end: the real client against the in-process emulator, two syncs, reports."""

from __future__ import annotations

import os
import re
from datetime import date
from importlib import resources

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.support.browser import (
    CHROMIUM,
    Browser,
    assert_every_section_rendered,
    external_requests,
    load_report,
)
from veiviser.cli import main
from veiviser.demo.tour import run_demo, summary_lines
from veiviser.demo.writer import DemoError
from veiviser.emulator.server import EmulatorServer
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import connect

TODAY = date(2025, 6, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    return run_demo(base / "out", base / "emulator.sqlite", projects=3, progress=False, today=TODAY)


@pytest.mark.slow
def test_demo_writes_reports_with_data_from_both_syncs(demo):
    assert demo.projects == 3 and demo.items_written > 50
    first, second = demo.syncs
    assert first["totals"]["created"] >= 50 and first["sites_failed"] == 0
    assert (
        second["totals"]["created"] >= 3
        and second["totals"]["updated"] >= 3
        and second["totals"]["deleted"] == 1
    )
    for path in (demo.html, demo.excel, demo.state):
        assert path.is_file() and path.stat().st_size > 1000
    risks = pd.read_parquet(demo.star_dir / "fact_risks.parquet")
    assert len(risks) >= 15
    text = " ".join(risks.astype(str).fillna("").agg(" ".join, axis=1))
    assert "Forsinkelse i nasjonal integrasjon" in text  # added in the change step, seen by sync 2
    measurements = pd.read_parquet(demo.star_dir / "fact_measurements.parquet")
    assert len(measurements) > 10
    html = demo.html.read_text(encoding="utf-8")
    assert "Digitale politikere" in html and "Forsinkelse i nasjonal integrasjon" in html
    wb = load_workbook(demo.excel, read_only=True)
    assert len(wb.sheetnames) >= 5
    # The benefit trees reach the goal column: goals from the content, and one drawn as missing.
    content = yaml.safe_load(resources.files("veiviser.demo").joinpath("content.yaml").read_text("utf-8"))
    goals = {b["goal"] for bs in content["benefits_by_theme"].values() for b in bs if b.get("goal")}
    rows = list(wb["Gevinstkart"].iter_rows(values_only=True))
    column = [r[rows[0].index("Mål")] for r in rows[1:]]
    assert set(column) - {"(mangler)"} <= goals and len(set(column) & goals) >= 2 and "(mangler)" in column
    trees = re.findall(r'<svg class="chart benefit-tree".*?</svg>', html, flags=re.S)
    drawn = " ".join(trees)
    assert len(trees) == 3 and "Mål mangler" in drawn and any(f"<title>{g}</title>" in drawn for g in goals)
    lines = "\n".join(summary_lines(demo))
    assert str(demo.html) in lines and "veiviser emulator serve --data" in lines and "VEIVISER_" in lines


def _assert_report_renders(browser: Browser, html) -> dict:
    """The demo's portefoljerapport.html in headless Chromium: no console errors, no requests
    beyond the file, every section rendered."""
    assert html.name == "portefoljerapport.html"
    sections = load_report(browser, html)
    assert browser.console_errors() == []
    assert external_requests(browser) == []
    assert_every_section_rendered(sections)
    return sections


@pytest.mark.slow
@pytest.mark.browser
def test_demo_report_renders_in_a_browser(demo, browser):
    sections = _assert_report_renders(browser, demo.html)
    # The demo has risks, benefits and priorities: those sections draw charts, not «Ingen data».
    for sid in ("risiko", "gevinster", "prioritering"):
        assert sections[sid]["charts"] >= 1 and sections[sid]["chartShapes"] > 5, (sid, sections[sid])


@pytest.mark.slow
def test_emulator_file_can_be_served_again(demo):
    assert demo.data_path is not None and demo.data_path.is_file()
    with EmulatorServer(data=str(demo.data_path)) as server:
        settings = ConnectionSettings(
            auth="token", access_token=server.token, org="Test", admin_url=server.url
        )
        with connect(f"{server.url}/sites/portefolje", settings) as hub:
            register = list(hub.iter_items("Prosjekter", select=["Title", "GtItposmoInformation"]))
            assert len(register) == 3
            assert any(r["GtItposmoInformation"] is not None for r in register)
            assert len(list(hub.iter_items("Porteføljeusikkerhet", select=["ID"]))) >= 15


def test_existing_data_file_and_unwritable_out_are_clear_errors(tmp_path):
    existing = tmp_path / "emu.sqlite"
    existing.write_bytes(b"")
    with pytest.raises(DemoError, match="already exists") as info:
        run_demo(tmp_path / "out", existing, projects=1, progress=False)
    assert "emulator serve --data" in info.value.hint
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["demo", "--out", str(blocker / "sub"), "--projects", "1"])
    assert result.exit_code != 0
    assert "Cannot write to the output folder" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_out_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(DemoError, match="Cannot write"):
        run_demo(ro / "out", projects=1, progress=False)


@pytest.mark.slow
def test_full_demo(tmp_path, request):
    """All 23 projects (about 45 s here; speed itself is measured by the benchmarks, not asserted);
    its report is checked in the browser too when Chromium is there."""
    result = run_demo(tmp_path / "out", progress=False)
    assert (
        result.projects == 23
        and result.syncs[0]["sites_failed"] == 0
        and result.syncs[1]["sites_failed"] == 0
    )
    if CHROMIUM is not None:
        _assert_report_renders(request.getfixturevalue("browser"), result.html)
