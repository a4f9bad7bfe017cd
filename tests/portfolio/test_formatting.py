"""Pure helpers of the report writers and the console: Norwegian number and cell display, plain
cell values, chart helpers, ITPOSMO bands, weight options and the problem lines on stderr."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from veiviser.cli_output import problem_lines
from veiviser.errors import VeiviserError
from veiviser.portfolio.benefits import COUNTED_STATUSES, ON_TRACK, status_count_column
from veiviser.portfolio.console import parse_weights
from veiviser.portfolio.findings import AnalysisFinding
from veiviser.portfolio.itposmo import load_itposmo_config
from veiviser.portfolio.reports.charts import _short, _ticks, text_colour
from veiviser.portfolio.reports.tables import (
    BOOL,
    DATE,
    DATETIME,
    INDICATOR_STATUS_LABELS,
    INT,
    NUMBER,
    PERCENT,
    TEXT,
    display,
    nb_status,
    number_nb,
    plain,
)

NNBSP = "\u202f"  # narrow no-break space, the thousands separator


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (1234567.891, 2, f"1{NNBSP}234{NNBSP}567,89"),
        (-1151.5, 1, f"−1{NNBSP}151,5"),  # a true minus sign, decimal comma
        (0.5, 0, "0"),
        (999.0, 0, "999"),
    ],
)
def test_number_nb(value, decimals, text):
    assert number_nb(value, decimals) == text


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (None, TEXT, ""),
        (float("nan"), NUMBER, ""),
        (float("inf"), NUMBER, ""),
        (True, BOOL, "Ja"),
        (0, BOOL, "Nei"),
        (12.5, PERCENT, "12,5 %"),
        (1151.5, NUMBER, f"1{NNBSP}151,50"),
        (1200.0, NUMBER, f"1{NNBSP}200"),
        (3.0, INT, "3"),
        (np.int64(7), INT, "7"),
        (datetime(2025, 6, 30, 14, 5), DATE, "2025-06-30"),
        (datetime(2025, 6, 30, 14, 5), DATETIME, "2025-06-30 14:05"),
        (pd.Timestamp("2025-01-02"), TEXT, "2025-01-02"),
        ("<b>x</b>", TEXT, "<b>x</b>"),  # escaping is the HTML writer's job
    ],
)
def test_display(value, fmt, text):
    assert display(value, fmt) == text


def test_plain_cell_values():
    assert plain(None) is None and plain(float("nan"), NUMBER) is None
    assert plain(["a", 1.0, None, datetime(2025, 1, 2)]) == "a; 1; 2025-01-02"
    assert plain({"a": 2.0, "b": "x"}) == "a: 2; b: x"
    assert plain([]) is None
    assert plain(datetime(2025, 6, 30, 14, 5), DATE) == date(2025, 6, 30)
    assert plain(pd.Timestamp("2025-01-02 03:04")) == datetime(2025, 1, 2, 3, 4)
    value = plain(np.int64(7), INT)
    assert value == 7 and type(value) is int
    value = plain(3.0, INT)
    assert value == 3 and type(value) is int
    assert plain(1234.567, NUMBER) == 1234.567  # never rounded
    assert plain("12.5", NUMBER) == 12.5 and plain("abc", NUMBER) == "abc"
    assert plain(1, BOOL) is True
    assert math.isinf(plain(float("inf"), NUMBER))


def test_nb_status():
    assert nb_status("on track") == "i rute" and nb_status("target equals baseline") == "mål lik startverdi"
    assert nb_status("something else") == "something else" and nb_status(3) == 3


def test_status_count_columns_cover_every_counted_status():
    assert status_count_column(ON_TRACK) == "indicators_on_track"
    assert tuple(INDICATOR_STATUS_LABELS) == COUNTED_STATUSES


@pytest.mark.parametrize(
    ("background", "ink"),
    [("#000000", "#FFFFFF"), ("#FFFFFF", "#000000"), ("#1F4E79", "#FFFFFF"), ("#F8D66D", "#000000")],
)
def test_text_colour_contrasts_with_the_cell(background, ink):
    assert text_colour(background) == ink


def test_ticks_are_first_of_month_and_at_most_six():
    assert _ticks(date(2025, 1, 15), date(2025, 3, 10)) == [date(2025, 2, 1), date(2025, 3, 1)]
    assert _ticks(date(2025, 1, 15), date(2025, 1, 20)) == [date(2025, 1, 15)]
    long = _ticks(date(2020, 1, 1), date(2025, 1, 1))
    assert len(long) <= 6 and long[0] == date(2020, 1, 1) and all(d.day == 1 for d in long)


def test_short_label():
    assert _short("abcdef", 4) == "abc…" and _short("abc", 3) == "abc"


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "0–14"), (14, "0–14"), (14.5, "0–14"), (15, "15–28"), (28, "15–28"), (29, "29–42"), (56, "43–56")],
)
def test_itposmo_default_bands(total, band):
    assert load_itposmo_config().band(total)[0] == band


def test_itposmo_top_band_and_below_every_band():
    config = load_itposmo_config()
    assert config.band(70) == ("57–70", "will almost certainly fail unless action is taken to close the gaps")
    assert config.band(-1) == ("outside bands", "no band covers this total")


def test_parse_weights():
    assert parse_weights(["Risiko=10", " Strategi = 2,5"]) == {"Risiko": 10.0, "Strategi": 2.5}
    assert parse_weights(()) == {}
    for bad in ("Risiko", "=3", "Risiko=høy"):
        with pytest.raises(VeiviserError, match="is not CRITERION=NUMBER"):
            parse_weights([bad])


def test_problem_lines_warnings_first_errors_red():
    error = AnalysisFinding("error", "out-of-scale", "A: I = 11 is outside 0–10", frame="it.csv, line 2")
    warning = AnalysisFinding("warning", "missing-rating", "B: no rating for Risiko")
    lines = problem_lines([error, warning], ["column 'Foo' ignored"])
    assert lines == [
        ("Warning: column 'Foo' ignored", "yellow"),
        ("Problem: error: A: I = 11 is outside 0–10 (it.csv, line 2)", "red"),
        ("Problem: warning: B: no rating for Risiko", "yellow"),
    ]
    assert problem_lines([]) == []
