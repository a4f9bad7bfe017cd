"""The one values module: every number, phase, person, date and source-key format veiviser reads.

The number cases are the union of what the former parsers accepted (the sync's ``as_number``, the
portfolio's rating-file ``parse_number``, the bulk spreadsheet reader's ``parse_number``, the
record models' ``_to_number`` and the input frames' coercion), so none of them lost a format.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from veiviser.schemas.parsing import (
    PHASE_TERMS,
    PHASES,
    NumberFormatError,
    is_blank,
    parse_datetime,
    parse_decimal,
    person,
    person_name,
    phase_label,
    source_key,
    split_source_key,
    to_number,
)

# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        # Norwegian text: space / no-break / narrow no-break / thin / figure space thousands.
        ("1 151,5", 1151.5),
        ("1\u00a0151,5", 1151.5),
        ("1\u202f151,5", 1151.5),
        ("1\u2009151,5", 1151.5),
        ("1\u2007151,5", 1151.5),
        ("7 971,6", 7971.6),
        ("1 234 567,89", 1234567.89),
        ("1 234,5", 1234.5),
        # decimal comma, dot thousands
        ("4,5", 4.5),
        ("2,5", 2.5),
        ("200,0", 200.0),
        ("1.234,5", 1234.5),
        ("1.234.567", 1234567.0),
        # plain ints and floats as text
        ("4", 4.0),
        ("0", 0.0),
        ("3.5", 3.5),
        ("1151.5", 1151.5),
        ("1.151", 1.151),
        (" 12 ", 12.0),
        ("4.", 4.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        # signs, the Unicode minus
        ("-2", -2.0),
        ("+3", 3.0),
        ("-12,5", -12.5),
        ("\u221212,5", -12.5),
        # calculated columns as SharePoint returns them
        ("float;#12.0000000000000", 12.0),
        ("float;#1,5", 1.5),
        # numbers
        (4, 4.0),
        (3.0, 3.0),
        (0.1, 0.1),
        (Decimal("1151.5"), 1151.5),
    ],
)
def test_to_number_reads_every_format(raw: object, value: float) -> None:
    assert to_number(raw) == pytest.approx(value)


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "-", "–", "—", float("nan"), True, False, "abc", "12,3,4", "1 15,5", "1,2.3", "12 %"],
)
def test_to_number_gives_none_for_blanks_and_text(raw: object) -> None:
    assert to_number(raw) is None


def test_numpy_like_numbers_are_read() -> None:
    class Number:  # anything float() accepts, as numpy scalars do
        def __float__(self) -> float:
            return 2.5

    assert to_number(Number()) == 2.5


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1\u202f151,5", Decimal("1151.5")),
        ("1.234,5", Decimal("1234.5")),
        ("-12,5", Decimal("-12.5")),
        ("1151.5", Decimal("1151.5")),
        ("", None),
        ("-", None),
        (None, None),
        (0.1, Decimal("0.1")),
    ],
)
def test_parse_decimal_is_exact(raw: object, value: Decimal | None) -> None:
    assert parse_decimal(raw) == value
    assert parse_decimal(raw, strict=True) == value


@pytest.mark.parametrize("raw", ["12,3,4", "abc", "1 15,5", "1,2.3", "12 %", True, float("inf")])
def test_parse_decimal_rejects(raw: object) -> None:
    with pytest.raises(NumberFormatError):
        parse_decimal(raw)


@pytest.mark.parametrize("raw", ["1e3", "4.", ".5"])
def test_strict_rejects_what_a_spreadsheet_of_amounts_should_not_hold(raw: str) -> None:
    with pytest.raises(NumberFormatError) as exc:
        parse_decimal(raw, strict=True)
    assert not exc.value.ambiguous


def test_strict_calls_dot_with_three_digits_ambiguous() -> None:
    assert parse_decimal("1.151") == Decimal("1.151")
    with pytest.raises(NumberFormatError) as exc:
        parse_decimal("1.151", strict=True)
    assert exc.value.ambiguous


def test_number_format_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_decimal("abc")


@pytest.mark.parametrize(
    ("value", "blank"),
    [
        *[(None, True), ("", True), (" ", True), (float("nan"), True), ({}, True), ([], True), ((), True)],
        *[(0, False), ("0", False), (False, False), ({"a": 1}, False)],
    ],
)
def test_is_blank(value: object, blank: bool) -> None:
    assert is_blank(value) is blank


# --- phases ---------------------------------------------------------------------------------------


def test_phases_are_the_term_set_in_order() -> None:
    assert PHASES == ("Idé", "Flere faser", "Konsept", "Planlegge", "Gjennomføre", "Avslutte", "Realisere")
    assert len(set(PHASE_TERMS.values())) == len(PHASES)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("Gjennomføre", "Gjennomføre"),
        ("  Konsept ", "Konsept"),
        ("Planlegge|cda4f1e1-3488-4e57-8a04-6973df239689", "Planlegge"),
        ("-1;#Realisere|b7ba84f0-70b9-45c4-8c50-8f73bf15bbec", "Realisere"),
        ("-1;#Avslutte|30e03c52-8c3e-4cfe-9b18-ca71593ce130", "Avslutte"),
        # the term GUID wins over the text (braces and case do not matter)
        ("-1;#Whatever|{99E85650-33DE-4AF4-B8DB-EDFFBC8A310B}", "Konsept"),
        ("Egen fase|00000000-0000-0000-0000-000000000000", "Egen fase"),
        ({"Label": "Konsept", "TermGuid": "99e85650-33de-4af4-b8db-edffbc8a310b", "WssId": 3}, "Konsept"),
        # SharePoint Online puts the WssId in Label on REST reads: only the GUID helps
        ({"Label": "3", "TermGuid": "6edb42ac-9aaf-4f07-9cf5-5dfdf9ab0c32", "WssId": 3}, "Idé"),
        ({"Label": "3", "TermGuid": "00000000-0000-0000-0000-000000000000"}, None),
        ({"Label": "Idé"}, "Idé"),
        ({"label": "Konsept"}, "Konsept"),
        ({"Term": "Planlegge"}, "Planlegge"),
        ({"Name": "Avslutte"}, "Avslutte"),
        ({"WssId": 3}, None),
        (None, None),
        ("", None),
        ({}, None),
    ],
)
def test_phase_label(value: object, label: str | None) -> None:
    assert phase_label(value) == label


# --- people ---------------------------------------------------------------------------------------


def test_person_keeps_title_and_email() -> None:
    assert person({"Title": "Kari", "EMail": "k@x.no", "Id": 7}) == {"Title": "Kari", "EMail": "k@x.no"}
    assert person({"Title": "Kari", "EMail": ""}) == {"Title": "Kari"}
    assert person({"Id": 7}) is None
    assert person("Kari") is None and person(None) is None


def test_person_name() -> None:
    assert person_name({"Title": "Kari Nordmann", "EMail": "k@x"}) == "Kari Nordmann"
    assert person_name({"EMail": "k@x"}) == "k@x"
    assert person_name({"LoginName": "i:0#.f|membership|k@x"}) == "i:0#.f|membership|k@x"
    assert person_name([{"Title": "A"}, {"Title": "B"}, None]) == "A; B"
    assert person_name(" Ola ") == "Ola"
    assert person_name(None) is None and person_name({}) is None and person_name({"Id": 1}) is None


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01T10:00:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01T10:00:00+00:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01T12:00:00+02:00", datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        (date(2024, 3, 1), datetime(2024, 3, 1, tzinfo=UTC)),
        (datetime(2024, 3, 1, 10), datetime(2024, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_datetime(text: str | date, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is not None


def test_parse_datetime_rejects_other_text() -> None:
    with pytest.raises(ValueError):
        parse_datetime("1. mars 2024")


# --- source keys ----------------------------------------------------------------------------------

SITE = "{6A1B2C3D-0000-4000-8000-00000000AAAA}"
LIST = "11111111-2222-3333-4444-555555555555"


def test_source_key_normalises_guids_and_splits_back() -> None:
    key = source_key(SITE, LIST, "7")
    assert key == f"6a1b2c3d-0000-4000-8000-00000000aaaa:{LIST}:7"
    assert split_source_key(key) == ("6a1b2c3d-0000-4000-8000-00000000aaaa", LIST, 7)
    assert source_key("A", "B", 3) == "a:b:3"


def test_split_source_key_rejects_other_text() -> None:
    with pytest.raises(ValueError):
        split_source_key("a:b")
    with pytest.raises(ValueError):
        split_source_key("a:b:c")
