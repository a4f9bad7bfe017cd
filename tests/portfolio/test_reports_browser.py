"""The HTML report in a real headless Chromium: loads without console errors or network requests,
and renders every section (a chart or table with a size, or the explicit «Ingen data» message).

Driven by Playwright over the system's Chromium (the shared ``browser`` fixture in
``tests/conftest.py``, which skips only when no Chromium binary exists). The static checks of the
same file (self-contained, escaped, ``lang="nb"``) are in ``test_reports_outputs.py``.
Set ``VEIVISER_SCREENSHOT=path.png`` to keep a full-page screenshot of the sample report.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import assert_every_section_rendered, external_requests, load_report
from veiviser.portfolio.reports import write_reports
from veiviser.portfolio.reports.html import SECTIONS

from .test_reports_data import SINCE, empty_dataset, sample_dataset

pytestmark = pytest.mark.browser


def test_sample_report_renders_every_section_without_errors(browser, tmp_path):
    paths = write_reports(sample_dataset(), tmp_path, since=SINCE)
    sections = load_report(browser, paths.html)
    assert browser.console_errors() == []
    assert external_requests(browser) == []
    assert_every_section_rendered(sections)
    for sid in ("risiko", "gevinster", "planlagt-realisert", "prioritering", "itposmo"):
        assert sections[sid]["charts"] >= 1 and sections[sid]["chartShapes"] > 5, (sid, sections[sid])
        assert sections[sid]["noData"] == 0 or sid == "risiko", (sid, sections[sid])
    assert sections["risiko"]["charts"] == 4  # risks and opportunities, before and after
    # Markup in titles is shown as text, never executed or parsed.
    assert browser.evaluate("document.querySelectorAll('main script').length") == 0
    assert browser.evaluate("document.body.innerText.includes('<script>alert(\"x\")</script>')") is True
    assert browser.evaluate("document.documentElement.lang") == "nb"
    shot = os.environ.get("VEIVISER_SCREENSHOT")
    if shot:
        browser.screenshot(Path(shot))


def test_empty_portfolio_shows_no_data_in_every_section(browser, tmp_path):
    paths = write_reports(empty_dataset(), tmp_path)
    sections = load_report(browser, paths.html)
    assert browser.console_errors() == []
    for sid, _ in SECTIONS:
        info = sections[sid]
        assert info["noData"] >= 1, f"{sid} is not marked as empty: {info}"
        assert info["charts"] == 0, f"{sid} draws a chart with no data"


def test_screenshot_is_a_png(browser, tmp_path):
    paths = write_reports(sample_dataset(), tmp_path, since=SINCE)
    load_report(browser, paths.html)
    png = tmp_path / "report.png"
    browser.screenshot(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
