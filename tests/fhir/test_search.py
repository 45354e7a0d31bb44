"""FHIR search parameter parsing (reverie.fhir.search), against the R4 search rules."""

from __future__ import annotations

import datetime

import pytest

from reverie.fhir import search
from reverie.fhir.search import SearchError, Token

D = datetime.date


def test_commas_separate_alternatives_and_an_escaped_comma_is_kept() -> None:
    assert search.split_values(r"smith,jones\,jr, ,") == ["smith", "jones,jr"]


def test_a_partial_date_covers_its_whole_month_or_year() -> None:
    (month,) = search.date_criterion("birthdate", "", "1990-02")
    assert (month.low, month.high) == (D(1990, 2, 1), D(1990, 3, 1))
    (year,) = search.date_criterion("birthdate", "", "1990")
    assert (year.low, year.high) == (D(1990, 1, 1), D(1991, 1, 1))
    (december,) = search.date_criterion("birthdate", "", "1990-12")
    assert december.high == D(1991, 1, 1)


# Each prefix against a target day, following R4 §3.1.1.4.2: the search value 1990-02
# covers February 1990; a day is inside it, before it or after it.
@pytest.mark.parametrize(
    ("prefix", "before", "inside", "after"),
    [
        ("eq", False, True, False),
        ("ne", True, False, True),
        ("lt", True, False, False),
        ("eb", True, False, False),
        ("gt", False, False, True),
        ("sa", False, False, True),
        ("le", True, True, False),
        ("ge", False, True, True),
    ],
)
def test_date_prefixes_compare_ranges(prefix: str, before: bool, inside: bool, after: bool) -> None:
    (c,) = search.date_criterion("birthdate", "", f"{prefix}1990-02")
    assert c.prefix == prefix
    assert c.matches(D(1990, 1, 31)) is before
    assert c.matches(D(1990, 2, 1)) is inside
    assert c.matches(D(1990, 2, 28)) is inside
    assert c.matches(D(1990, 3, 1)) is after
    assert c.matches(None) is False


@pytest.mark.parametrize(
    "raw", ["1990-13", "1990-02-30", "90-01-01", "zz1990", "ap1990", "1990-1-1", "tomorrow"]
)
def test_bad_dates_and_prefixes_are_refused(raw: str) -> None:
    with pytest.raises(SearchError) as caught:
        search.date_criterion("birthdate", "", raw)
    assert caught.value.param == "birthdate"


def test_tokens_with_and_without_a_system() -> None:
    assert search.token_criterion("identifier", "", "http://x|12,|13,14,http://y|") == [
        Token("http://x", "12"),
        Token("", "13"),
        Token(None, "14"),
        Token("http://y", None),
    ]


def test_string_modifiers_and_unknown_ones() -> None:
    assert search.string_criterion("name", "", "Cle,Ol") == search.StringCriterion(
        "start", ("Cle", "Ol")
    )
    assert search.string_criterion("name", "exact", "Cleo").mode == "exact"  # type: ignore[union-attr]
    assert search.string_criterion("name", "contains", "le").mode == "contains"  # type: ignore[union-attr]
    assert search.string_criterion("name", "", " ") is None
    with pytest.raises(SearchError) as caught:
        search.string_criterion("name", "missing", "true")
    assert caught.value.code == "not-supported"
    assert caught.value.param == "name:missing"


def test_paging_defaults_caps_and_refuses_negative_or_text() -> None:
    assert search.page(None, None) == (search.DEFAULT_COUNT, 0)
    assert search.page("0", "20") == (0, 20)
    assert search.page("5000", None) == (search.MAX_COUNT, 0)
    for count, offset in (("-1", None), ("ten", None), (None, "-5"), ("²", None), (None, "9" * 30)):
        with pytest.raises(SearchError):
            search.page(count, offset)


def test_ids_must_be_valid_fhir_ids() -> None:
    assert search.ids("_id", "12,abc-1.x") == ["12", "abc-1.x"]
    with pytest.raises(SearchError):
        search.ids("_id", "12,has space")
