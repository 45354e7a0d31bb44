"""When a client's record may be reviewed for destruction: pure date arithmetic.

A practice keeps a record for ``years`` after the client's last episode of treatment
ended, and, for someone treated as a child, for ``years_after_majority`` after they came
of age, whichever is later. Both rules exist in law, for example:

- California Business and Professions Code §2919: a licensed psychologist keeps a
  patient's health service records at least seven years from discharge and, for a minor,
  at least seven years from the day the patient turns 18
  (https://leginfo.legislature.ca.gov/faces/codes_displayText.xhtml?lawCode=BPC&division=2.&title=&part=&chapter=6.6.&article=1).
- The NHS England Records Management Code of Practice (2021, updated 2023), Appendix II:
  mental health records, psychology included, 20 years after treatment ends; children's
  records until the 25th birthday (18 + 7)
  (https://transform.england.nhs.uk/information-governance/guidance/records-management-code/records-management-code-of-practice/).

So the practice's two numbers are floors the law sets; docs/data-lifecycle.md lists more.
Nothing here decides to erase anything: a record past its date is listed for a person
to review.

>>> import datetime as dt
>>> keep_until(dt.date(2015, 6, 30), years=7)
datetime.date(2022, 6, 30)

A client treated at 15 (born 2001) is kept until 7 years after their 18th birthday, later
than 7 years after the end of treatment:

>>> keep_until(dt.date(2016, 5, 1), years=7, born=dt.date(2001, 3, 10), years_after_majority=7)
datetime.date(2026, 3, 10)

A leap day moves to 1 March, so a record is never kept a day too short:

>>> add_years(dt.date(2016, 2, 29), 7)
datetime.date(2023, 3, 1)
"""

from __future__ import annotations

import datetime

from reverie.lib.periods import add_years

#: The age of majority in the jurisdictions cited above.
AGE_OF_MAJORITY = 18


def keep_until(
    last_ended: datetime.date,
    *,
    years: int,
    born: datetime.date | None = None,
    years_after_majority: int = 0,
) -> datetime.date:
    """The first day a record may be reviewed for destruction under the policy."""
    until = add_years(last_ended, years)
    if born is not None:
        until = max(until, add_years(born, AGE_OF_MAJORITY + years_after_majority))
    return until
