"""The benefit tree per project (docs/portfolio.md, "Benefit tree"): in the workbook, in the HTML
report as inline SVG, with what is missing drawn as missing; the goal field it needs is in both
templates and carried by the sync's catalogue."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from tests.support.browser import load_report
from veiviser.portfolio.reports import write_reports
from veiviser.portfolio.reports.benefit_tree import BAD, GOOD, MISSING, tree_rows
from veiviser.portfolio.reports.views import build_views
from veiviser.schemas.catalog import catalogue
from veiviser.schemas.names import F

from .test_reports_data import SINCE, sample_dataset


def _dataset():
    ds = sample_dataset()
    ds.benefits[str(F.CHANGE_TITLES)] = ["Digital søknad", None, None]
    ds.benefits[str(F.GAINS_GOAL)] = ["Raskere tjenester", None, "Tillit til kommunen"]
    return ds


def test_rows_keep_benefits_without_indicators_and_owners():
    rows = tree_rows(build_views(_dataset(), since=SINCE).benefits)
    assert len(rows) == 4  # three indicators, and one benefit without any
    bare = rows[rows["benefit"] == "Bedre omdømme"].iloc[0]
    assert pd.isna(bare["indicator"]) and pd.isna(bare["owner"]) and pd.isna(bare["change"])
    assert bare["goal"] == "Tillit til kommunen"
    first = rows[rows["benefit"] == "Kortere saksbehandling"].iloc[0]
    assert first["change"] == "Digital søknad" and first["goal"] == "Raskere tjenester"


def test_workbook_sheet_says_what_is_missing(tmp_path):
    paths = write_reports(_dataset(), tmp_path, since=SINCE)
    ws = openpyxl.load_workbook(paths.excel)["Gevinstkart"]
    rows = list(ws.iter_rows(values_only=True))
    head = rows[0]
    data = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    bare = next(r for r in data if r["Gevinst"] == "Bedre omdømme")
    assert bare["Måleindikator"] == "(mangler)" and bare["Gevinsteier"] == "(mangler)"
    assert bare["Endring"] == "(mangler)" and bare["Mål"] == "Tillit til kommunen"
    assert {r["Status måleindikator"] for r in data} >= {"oppnådd", "i rute"}


def test_html_tree_is_inline_svg_with_missing_boxes(tmp_path):
    paths = write_reports(_dataset(), tmp_path, since=SINCE)
    html = paths.html.read_text(encoding="utf-8")
    trees = re.findall(r'<svg class="chart benefit-tree".*?</svg>', html, flags=re.S)
    assert len(trees) == 2  # one per project with benefits
    joined = "".join(trees)
    for word in ("Endring mangler", "Måleindikator mangler", "eier mangler", "Mål mangler"):
        assert word in joined, word
    assert "Digital søknad" in joined and "Tillit til kommunen" in joined
    assert GOOD in joined and MISSING in joined and 'stroke-dasharray="5 3"' in joined
    assert "<script" not in joined and "&lt;script&gt;" in html  # the project title is escaped
    assert BAD not in joined or "etter plan" in html


def test_goal_field_is_in_both_templates_and_synced():
    cat = catalogue()
    source, central = cat.source("benefits").field(F.GAINS_GOAL), cat.central("benefits").field(F.GAINS_GOAL)
    assert source.synced and central.display_name == source.display_name == "Mål gevinsten støtter"


@pytest.mark.browser
def test_tree_renders_in_the_browser(browser, tmp_path):
    paths = write_reports(_dataset(), tmp_path, since=SINCE)
    load_report(browser, paths.html)
    assert browser.console_errors() == []
    boxes = browser.evaluate(
        "[...document.querySelectorAll('svg.benefit-tree g.node')].map(g => "
        "{ const b = g.getBoundingClientRect(); return [b.width, b.height, g.classList.contains('missing')]; })"
    )
    assert len(boxes) >= 12 and all(w > 100 and h > 30 for w, h, _ in boxes)
    assert any(missing for *_, missing in boxes)


def test_upgrade_adds_the_goal_field_to_sites_made_before_it(server):
    """Sites provisioned before GtGainsGoal existed get it from ``provision upgrade`` (which
    ensures every template field) — and only it."""
    from tests.support.emulator import make_provisioner
    from veiviser.provisioning.bulk import upgrade
    from veiviser.provisioning.engine import ProjectRequest
    from veiviser.schemas.template_loader import load_template

    current = load_template("standard", kind="project")
    older = current.model_copy(deep=True)
    benefits = older.get_list("benefits")
    object.__setattr__(benefits, "fields", [f for f in benefits.fields if f.name != F.GAINS_GOAL])
    old = make_provisioner(server, project_template=older)
    assert old.hub().ok
    made = old.project(ProjectRequest(title="Før målfeltet", alias="for-maalfeltet"))
    assert made.ok

    def goal_exists() -> bool:
        fields = old.client(made.url).get(
            "Web/lists/GetByTitle('Gevinstanalyse og gevinstrealiseringsplan')/Fields",
            {"$select": "InternalName"},
        )
        return F.GAINS_GOAL in {f["InternalName"] for f in fields}

    assert not goal_exists()
    result = upgrade(make_provisioner(server, project_template=current))
    assert result.ok and goal_exists()
    steps = [(s.action, s.target) for s in result.results[0].plan.steps if s.action == "create_field"]
    assert steps == [("create_field", F.GAINS_GOAL)]


def test_a_missing_start_or_desired_value_is_named_in_the_indicator_box(tmp_path):
    ds = _dataset()
    ds.indicators.loc[0, F.START_VALUE] = None
    paths = write_reports(ds, tmp_path, since=SINCE)
    html = paths.html.read_text(encoding="utf-8")
    assert "Saksbehandlingstid (dager) · (mangler) → 20" in html
