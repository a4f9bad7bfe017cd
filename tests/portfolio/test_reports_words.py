"""What a reader sees is Norwegian (docs/portfolio.md, "Words"): no English code word, placeholder
or internal field name reaches the HTML report or the workbook. The data-quality findings' free
text (message, hint, code) is the one exception still in English, and is left out of the check.

The sample report runs always; the demo's report (the real client, the emulator, two syncs) is
slow and runs with the slow tests.
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
#: ... or anywhere inside one.
ENGLISH_PARTS = re.compile(
    r"\((no|missing)\b|\bGt[A-Z][A-Za-z]+\b|\bnan\b|\bmight\b|\bmay well\b|\bunless action\b|"
    r"\bwithout (indicators|owner|measurements)\b|\bon track\b|\bno (owner|unit|measurements)\b"
)
#: Data-quality columns holding the findings' free text (still English) and machine codes.
FINDING_TEXT_COLUMNS = ("Funn", "Hva må gjøres", "Kode", "Element", "Prosjekt", "Felt")


def _workbook_text(path: Path) -> tuple[list[tuple[str, str]], set[str]]:
    wb = openpyxl.load_workbook(path)
    cells, exempt = [], set()
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        header = rows[0] if rows else ()
        for row in rows:
            for head, value in zip(header, row, strict=False):
                if not isinstance(value, str):
                    continue
                if ws.title == "Datakvalitet" and head in FINDING_TEXT_COLUMNS:
                    exempt.add(value.strip())
                else:
                    cells.append((ws.title, value.strip()))
    return cells, exempt


def _html_text(path: Path) -> list[str]:
    page = re.sub(r"<style>.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [html.unescape(t).strip() for t in re.findall(r">([^<>]+)<", page) if t.strip()]


def english_in(html_path: Path, excel_path: Path) -> list[str]:
    """Every cell or text node that still shows English, with where it is."""
    cells, exempt = _workbook_text(excel_path)
    found = [f"{sheet}: {text!r}" for sheet, text in cells if _english(text)]
    found += [f"HTML: {text!r}" for text in _html_text(html_path) if text not in exempt and _english(text)]
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
    paths = write_reports(ds, tmp_path, since=SINCE)
    assert any("(no owner)" in hit for hit in english_in(paths.html, paths.excel))


@pytest.mark.slow
def test_demo_report_has_no_english(tmp_path):
    from veiviser.demo.tour import run_demo

    demo = run_demo(
        tmp_path / "out", tmp_path / "e.sqlite", projects=4, progress=False, today=date(2025, 6, 1)
    )
    assert english_in(demo.html, demo.excel) == []
