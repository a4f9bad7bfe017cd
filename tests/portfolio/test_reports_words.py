"""What a reader sees is Norwegian (docs/portfolio.md, "Words"): no English code word, placeholder,
internal field name or English sentence reaches the HTML report (its text and its hover titles) or
any cell of the workbook, the data-quality findings and the prioritisation's notes included.

Values that come from the data itself (titles, names, ids) are Norwegian in the sample and the
demo, so they are checked too. The sample report runs always; the demo's report (the real client,
the emulator, two syncs) is slow and runs with the slow tests.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from veiviser.portfolio.reports import write_reports
from veiviser.portfolio.words import NB, NO_OWNER, field_title, say

from .test_reports_data import SINCE, sample_dataset

#: English words and phrases that must not appear as a whole cell ...
ENGLISH_CELLS = {code for code in NB if code.isascii() and code not in {"itposmo"}} | {"nan", "None", "NaN"}
#: ... or anywhere inside one: placeholders, internal field names, Heeks' bands in English, and the
#: common words of an English sentence (a finding's message or hint, a warning).
ENGLISH_PARTS = re.compile(
    r"\((no|missing)\b|\bGt[A-Z][A-Za-z]+\b|\bnan\b|\bmight\b|\bmay well\b|\bunless action\b|"
    r"\bwithout (indicators|owner|measurements)\b|\bon track\b|\bno (owner|unit|measurements)\b|"
    r"\b(?<!--)(no|not|without|missing|owner|warning|has|points at|the|cannot|could|row|column|rating|"
    r"weight|unknown|default|measured|set|fill in|True|False)\b"
)


def _workbook_text(path: Path) -> list[tuple[str, str]]:
    wb = openpyxl.load_workbook(path)
    return [
        (ws.title, value.strip())
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for value in row
        if isinstance(value, str)
    ]


def _html_text(path: Path) -> list[str]:
    """The page's visible text (tags stripped) and the text it shows on hover (title attributes)."""
    page = re.sub(r"<style>.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)
    texts = re.findall(r">([^<>]+)<", page) + re.findall(r'\s(?:title|aria-label)="([^"]*)"', page)
    return [html.unescape(t).strip() for t in texts if t.strip()]


def english_in(html_path: Path, excel_path: Path) -> list[str]:
    """Every cell or text that still shows English, with where it is."""
    found = [f"{sheet}: {text!r}" for sheet, text in _workbook_text(excel_path) if _english(text)]
    found += [f"HTML: {text!r}" for text in _html_text(html_path) if _english(text)]
    return found


def _english(text: str) -> bool:
    return text in ENGLISH_CELLS or bool(ENGLISH_PARTS.search(text))


def test_words_are_translated_and_fields_shown_by_their_titles():
    assert say("on track") == "i rute" and say("up") == "opp" and say("Kari") == "Kari"
    assert say(3) == 3 and NO_OWNER == "(uten eier)"
    assert field_title("GtDesiredValue") == "Ønsket verdi" and field_title("Title") == "Tittel"
    assert all(not re.search(r"\b(the|no|without|missing)\b", word) for word in NB.values())


def test_sample_report_has_no_english(tmp_path):
    ds = sample_dataset()
    paths = write_reports(ds, tmp_path, since=SINCE)
    assert english_in(paths.html, paths.excel) == []


def test_the_check_finds_english(tmp_path):
    """The check itself can fail: a report with an English placeholder is caught."""
    ds = sample_dataset()
    ds.benefits.loc[0, "Title"] = "(no owner)"
    ds.risks.loc[0, "Title"] = "The indicator points at a benefit that does not exist"
    paths = write_reports(ds, tmp_path, since=SINCE)
    hits = english_in(paths.html, paths.excel)
    assert any("(no owner)" in hit for hit in hits)
    assert any("points at a benefit" in hit and hit.startswith("Uakseptable risikoer") for hit in hits)
    assert any("points at a benefit" in hit and hit.startswith("HTML") for hit in hits)


@pytest.mark.slow
def test_demo_report_has_no_english(tmp_path):
    from veiviser.demo.tour import run_demo

    demo = run_demo(
        tmp_path / "out", tmp_path / "e.sqlite", projects=4, progress=False, today=date(2025, 6, 1)
    )
    assert english_in(demo.html, demo.excel) == []
