"""The demo's use of the instruments beyond the PHQ-9 and GAD-7 (synthetic data).

* **CORE-10, monthly.** Two of the four therapists also ask their clients for a CORE-10:
  at intake, then before the first session at least four weeks after the previous one, and
  at every follow-up. The answers are synthetic, drawn to agree with the PHQ-9 and GAD-7
  given on the same occasion: the expected CORE-10 total is 0.73 x (PHQ-9 + GAD-7), which
  puts a clinical intake (PHQ-9 15, GAD-7 12) near the CORE-10 manual's clinical mean of 19.7;
  each item varies around its share of that total, and the risk item (6) is endorsed only
  when the PHQ-9 of the same occasion endorsed item 9 at "more than half the days" or more,
  so the crisis history stays consistent between the measures. The two scales are
  correlated but not the same, as in real data; nothing here is a published relation.
* **Spanish.** One client with an open episode, in the care of a therapist who speaks
  Spanish, answers the PHQ-9 in its official Spanish (USA) translation: every PHQ-9 of theirs
  records ``"language": "es-US"``, and a PHQ-9 asked in Spanish is waiting for them now.
"""

from __future__ import annotations

import contextlib
import datetime
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reverie.care.models import Client, EpisodeStatus
from reverie.directory.models import TherapistProfile
from reverie.measures import registry, scoring
from reverie.measures.models import Administration, Instrument

if TYPE_CHECKING:
    from reverie.demo.seed_content import Seeded

#: How many of the therapists (in order) use the CORE-10 with their clients.
CORE10_THERAPISTS = 2
#: Least gap between two CORE-10s before sessions.
CORE10_EVERY = datetime.timedelta(days=28)
#: Expected CORE-10 total per point of PHQ-9 + GAD-7 (synthetic; see the module docstring).
CORE10_PER_POINT = 0.73
SPANISH = "es-US"


def core10_answers(rng: random.Random, phq9: Sequence[int], gad7: Sequence[int]) -> tuple[int, ...]:
    """Raw CORE-10 answers (0-4 per item as printed) agreeing with one PHQ-9 and GAD-7.

    >>> rng = random.Random(1)
    >>> answers = core10_answers(rng, [2] * 9, [2] * 7)
    >>> len(answers), all(0 <= a <= 4 for a in answers)
    (10, True)
    """
    target = CORE10_PER_POINT * (sum(phq9) + sum(gad7)) + rng.gauss(0.0, 2.0)
    share = max(0.0, min(4.0, target / 10.0))
    effective = [max(0, min(4, round(share + rng.gauss(0.0, 0.8)))) for _ in range(10)]
    effective[5] = (1 if phq9[8] == 2 else 2) if phq9[8] >= 2 else 0  # item 6: risk
    raw = list(effective)
    for index in (1, 2):  # items 2 and 3 are worded positively and reverse-scored
        raw[index] = 4 - effective[index]
    return tuple(raw)


def core10_administrations(
    rows: list[Administration], *, seed: str, instrument: Instrument
) -> list[Administration]:
    """The CORE-10s one episode's client gave, from that episode's PHQ-9/GAD-7 rows (in
    time order): intake, monthly before sessions, and every follow-up."""
    definition = registry.definition("core-10")
    item_ids = [item.id for item in definition.items]
    rng = random.Random(seed)
    gad_by_time = {
        (row.timepoint, row.completed_at - datetime.timedelta(minutes=2)): row
        for row in rows
        if row.instrument.code == "gad-7"
    }
    out: list[Administration] = []
    last: datetime.datetime | None = None
    for row in rows:
        if row.instrument.code != "phq-9":
            continue
        gad = gad_by_time.get((row.timepoint, row.completed_at))
        if gad is None:
            continue
        if (
            row.timepoint == "session"
            and last is not None
            and row.completed_at - last < CORE10_EVERY
        ):
            continue
        phq_values = [row.answers[f"phq9-{n}"] for n in range(1, 10)]
        gad_values = [gad.answers[f"gad7-{n}"] for n in range(1, 8)]
        answers = dict(zip(item_ids, core10_answers(rng, phq_values, gad_values), strict=True))
        result = scoring.score(definition, answers)
        when = row.completed_at + datetime.timedelta(minutes=4)
        out.append(
            Administration(
                client=row.client,
                episode=row.episode,
                instrument=instrument,
                completed_at=when,
                received_at=when,
                timepoint=row.timepoint,
                source="demo",
                answers=answers,
                total=int(result.total),
                band=result.band.label if result.band is not None else "",
                result={
                    "subscales": {},
                    "critical": [hit.item_id for hit in result.critical_hits],
                    "missing": [],
                    "prorated": False,
                },
                has_critical=result.has_critical_hits,
                instrument_version=definition.version,
            )
        )
        if row.timepoint in ("intake", "session"):
            last = row.completed_at
    return out


def write_spanish(seeded: Seeded) -> Client | None:
    """One client answers the PHQ-9 in Spanish: their PHQ-9s record the translation, and
    their therapist has just asked for one more in Spanish. Returns the client chosen."""
    from reverie.measures import actions as measure_actions

    taken = {id(seeded.waiting), id(seeded.journal_client)}
    candidates = []
    for rows in seeded.clients:
        if id(rows) in taken or rows.portal is None:
            continue
        current = next(
            (ep for ep in reversed(rows.episodes) if ep.episode.status != EpisodeStatus.ENDED),
            None,
        )
        if current is None:
            continue
        profile = TherapistProfile.objects.filter(user=current.episode.therapist).first()
        speaks = profile is not None and "Spanish" in profile.languages
        candidates.append((not speaks, rows.spec.email, rows, current))
    if not candidates:
        return None
    _, _, rows, current = min(candidates, key=lambda c: (c[0], c[1]))
    phq9 = Instrument.objects.get(code="phq-9")
    answered = list(Administration.objects.filter(client=rows.client, instrument=phq9))
    for row in answered:
        row.result = {**row.result, "language": SPANISH}
    Administration.objects.bulk_update(answered, ["result"])
    with contextlib.suppress(measure_actions.MeasureActionError):
        measure_actions.create_request(
            seeded.ctx(current.episode.therapist),
            episode=current.episode,
            instrument=phq9,
            timepoint="session",
            send=False,
            language=SPANISH,
        )
    return rows.client
