"""Codes against their published values: the CPT psychotherapy time thresholds (Novitas
"Psychotherapy codes", content 00026768 / LCD L35101: 90832 16–37, 90834 38–52, 90837
53+, nothing under 16), the CMS place-of-service codes, modifier 95, the ICD-10-CM shape
and the NPI check digit (CMS's worked example, 123456789 → check digit 3)."""

from __future__ import annotations

import pytest

from reverie.billing import codes


@pytest.mark.parametrize(
    ("minutes", "cpt"),
    [
        (15, None),
        (16, "90832"),
        (30, "90832"),
        (37, "90832"),
        (38, "90834"),
        (45, "90834"),
        (52, "90834"),
        (53, "90837"),
        (60, "90837"),
        (120, "90837"),
    ],
)
def test_psychotherapy_code_follows_the_published_time_thresholds(minutes, cpt) -> None:
    key = codes.psychotherapy_for(minutes)
    assert (codes.SERVICES[key].cpt if key else None) == cpt


def test_every_service_of_the_issue_has_its_cpt_code() -> None:
    assert {s.cpt for s in codes.SERVICES.values() if s.cpt} == {
        "90791",
        "90832",
        "90834",
        "90837",
        "90845",
        "90846",
        "90847",
    }
    assert codes.SERVICES["family_with_client"].fits(26)
    assert not codes.SERVICES["family_with_client"].fits(25)


def test_places_of_service_and_the_telehealth_modifier() -> None:
    assert codes.PLACES_OF_SERVICE["11"] == "Office"
    assert "other than in patient's home" in codes.PLACES_OF_SERVICE["02"]
    assert "in patient's home" in codes.PLACES_OF_SERVICE["10"]
    assert codes.place_and_modifier(True, "02") == ("02", "95")
    with pytest.raises(ValueError, match="not a telehealth"):
        codes.place_and_modifier(True, "11")


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("F41.1", "F41.1"),
        ("f411", "F41.1"),
        ("F33.1", "F33.1"),
        ("F32.A", "F32.A"),
        ("F43.10", "F43.10"),
        ("Z63.0", "Z63.0"),
        ("T74.11XA", "T74.11XA"),
        ("F41", "F41"),
        ("41.1", None),
        ("FF1.1", None),
        ("F41.12345", None),
        ("F4", None),
        ("", None),
    ],
)
def test_icd10cm_codes_are_checked_for_their_shape_only(typed, clean) -> None:
    assert codes.clean_icd10(typed) == clean


def test_npi_check_digit_matches_the_cms_example() -> None:
    assert codes.npi_is_valid("1234567893")
    assert not any(codes.npi_is_valid(f"123456789{d}") for d in "012456789")
