"""Billing codes as data, each with the source it comes from.

Reverie proposes a CPT code from the service and the minutes of a session and never
proposes a diagnosis: ICD-10-CM codes are typed by the clinician and only their *format*
is checked here.

Sources
-------
- CPT psychotherapy time rule (AMA CPT, Psychiatry section, "Psychotherapy" guidelines:
  a unit of time is attained when the mid-point is passed, so a 30-minute code needs 16
  minutes, a 45-minute code 38 and a 60-minute code 53; psychotherapy of less than 16
  minutes is not reported). As published by CMS's contractor Novitas Solutions (Medicare
  JL/JH), "Psychotherapy codes", content id 00026768, and LCD L35101 "Psychiatric Codes":
  90832 16–37 minutes, 90834 38–52 minutes, 90837 53 minutes or longer; "Do not report
  psychotherapy codes for any session lasting less than 16 minutes."
- 90846/90847 family psychotherapy: 50-minute codes since CPT 2017; by the same mid-point
  rule reported from 26 minutes (Novitas LCA A57130 "Billing and Coding: Psychiatric
  Codes").
- 90791 psychiatric diagnostic evaluation and 90845 psychoanalysis carry no time in
  their descriptors (AMA CPT; LCA A57130).
- Place of service: CMS Place of Service Code Set (https://www.cms.gov/medicare/coding-
  billing/place-of-service-codes/code-sets): 11 Office; 02 "Telehealth Provided Other
  than in Patient's Home"; 10 "Telehealth Provided in Patient's Home" (from 1 January
  2022).
- Modifier 95: "Synchronous telemedicine service rendered via a real-time interactive
  audio and video telecommunications system" (AMA CPT Appendix A; Appendix P lists the
  codes it may be used with, which include 90791, 90832–90847).
- ICD-10-CM code format: ICD-10-CM Official Guidelines for Coding and Reporting (CDC
  NCHS / CMS, FY2025), Section I.A.2–I.A.5: codes have 3 to 7 characters, the first a
  letter, the second a digit; a decimal point follows the third character; "X" is the
  placeholder. (Codes such as F32.A put a letter after the point.)

>>> psychotherapy_for(15), psychotherapy_for(16), psychotherapy_for(37)
(None, 'psychotherapy_30', 'psychotherapy_30')
>>> psychotherapy_for(38), psychotherapy_for(52), psychotherapy_for(53), psychotherapy_for(90)
('psychotherapy_45', 'psychotherapy_45', 'psychotherapy_60', 'psychotherapy_60')
>>> SERVICES["psychotherapy_45"].cpt
'90834'
>>> clean_icd10("f41.1"), clean_icd10("F32.A"), clean_icd10("F431.0")
('F41.1', 'F32.A', None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    key: str
    label: str
    cpt: str  # "" for a policy fee, which is not a medical service
    min_minutes: int | None = None
    max_minutes: int | None = None
    time_rule: str = ""

    @property
    def is_policy_fee(self) -> bool:
        return not self.cpt

    def fits(self, minutes: int) -> bool:
        """Whether ``minutes`` of face-to-face time may be reported with this code."""
        if self.min_minutes is not None and minutes < self.min_minutes:
            return False
        return self.max_minutes is None or minutes <= self.max_minutes


_TIME = "AMA CPT psychotherapy time rule (mid-point); Novitas 00026768, LCD L35101"
_FAMILY = "CPT 2017 50-minute family codes, mid-point 26 minutes; Novitas LCA A57130"

SERVICES: dict[str, Service] = {
    s.key: s
    for s in (
        Service("initial_consultation", "Initial consultation (diagnostic evaluation)", "90791"),
        Service("psychotherapy_30", "Psychotherapy, 30 minutes", "90832", 16, 37, _TIME),
        Service("psychotherapy_45", "Psychotherapy, 45 minutes", "90834", 38, 52, _TIME),
        Service("psychotherapy_60", "Psychotherapy, 53 minutes or more", "90837", 53, None, _TIME),
        Service("psychoanalysis", "Psychoanalysis session", "90845"),
        Service("family_without_client", "Family session without the client", "90846", 26),
        Service("family_with_client", "Family session with the client", "90847", 26),
        Service("late_cancel", "Late cancellation fee", ""),
        Service("no_show", "Missed session fee", ""),
    )
}

SERVICE_CHOICES = [(s.key, s.label) for s in SERVICES.values()]
#: Services a session can be billed as (not the policy fees).
SESSION_SERVICES = [key for key, s in SERVICES.items() if not s.is_policy_fee]
#: A client's sessions billed by the time rule unless the therapist chose one service.
AUTOMATIC = ""

#: CMS Place of Service code set (see the module's sources).
PLACES_OF_SERVICE: dict[str, str] = {
    "11": "Office",
    "02": "Telehealth provided other than in patient's home",
    "10": "Telehealth provided in patient's home",
}
POS_OFFICE = "11"
TELEHEALTH_POS = ("02", "10")
#: AMA CPT modifier for synchronous audio-video telemedicine.
MODIFIER_TELEHEALTH = "95"


def psychotherapy_for(minutes: int) -> str | None:
    """The individual psychotherapy service whose time range holds ``minutes``; None
    below 16 minutes, which is not reported as psychotherapy."""
    for key in ("psychotherapy_30", "psychotherapy_45", "psychotherapy_60"):
        if SERVICES[key].fits(minutes):
            return key
    return None


def place_and_modifier(telehealth: bool, home_pos: str = "10") -> tuple[str, str]:
    """Place of service and modifier of a session.

    >>> place_and_modifier(False), place_and_modifier(True), place_and_modifier(True, "02")
    (('11', ''), ('10', '95'), ('02', '95'))
    """
    if not telehealth:
        return POS_OFFICE, ""
    if home_pos not in TELEHEALTH_POS:
        raise ValueError(f"{home_pos!r} is not a telehealth place of service")
    return home_pos, MODIFIER_TELEHEALTH


_ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def clean_icd10(text: str) -> str | None:
    """The code in its canonical form (upper case, point after the third character), or
    None when it cannot be an ICD-10-CM code. Only the shape is checked: whether the code
    exists in this year's tabular list is for the clinician, not for Reverie.

    >>> clean_icd10(" f411 "), clean_icd10("Z63.0"), clean_icd10("T74.11XA")
    ('F41.1', 'Z63.0', 'T74.11XA')
    >>> clean_icd10("41.1"), clean_icd10("F4"), clean_icd10("F41.12345")
    (None, None, None)
    """
    code = (text or "").strip().upper()
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code if _ICD10CM.match(code) else None


def clean_icd10_list(text: str) -> tuple[list[str], list[str]]:
    """Codes separated by commas, spaces or new lines: ``(valid codes, rejected items)``.

    >>> clean_icd10_list("F41.1, f32.a; X")
    (['F41.1', 'F32.A'], ['X'])
    """
    good: list[str] = []
    bad: list[str] = []
    for item in re.split(r"[\s,;]+", text or ""):
        if not item:
            continue
        code = clean_icd10(item)
        if code is None:
            bad.append(item)
        elif code not in good:
            good.append(code)
    return good, bad


def npi_is_valid(npi: str) -> bool:
    """A National Provider Identifier: ten digits whose last is a Luhn check digit computed
    over the prefix 80840 and the first nine (CMS, "Requirements for National Provider
    Identifier (NPI) and NPI Enumeration", check digit; 45 CFR 162.406).

    >>> npi_is_valid("1234567893"), npi_is_valid("1234567890"), npi_is_valid("12345")
    (True, False, False)
    """
    if not re.fullmatch(r"\d{10}", npi or ""):
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
