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
* **CORE-OM, every seven sessions.** Clients in psychodynamic therapy or psychoanalysis with
  the third and fourth therapists (who do not use the CORE-10, the CORE-OM's short form) answer
  the CORE-OM at intake, then with the first questionnaires at least seven attended sessions
  after the previous one, and at every follow-up. The answers are synthetic: the general
  level follows the PHQ-9 and GAD-7 of the same occasion as for the CORE-10; life functioning
  starts a little worse than the symptoms and catches up over the first four CORE-OMs (about
  thirty sessions), a shape chosen for the demo, not a published trajectory; the risk items
  follow PHQ-9 item 9 of the same occasion (item 16, the flagged one, exactly as the CORE-10's
  risk item does), and risk to others is never endorsed.
* **SPARQ, after sessions.** The third therapist asks clients for the SPARQ (their feelings
  towards the therapist in the session) after an attended session, at most once a fortnight,
  answered a few hours after the session ends. The answers are synthetic: Positive affect
  starts moderately high and grows over the first sessions as the relationship forms;
  Negative affect is higher early on, higher for clients whose latest PHQ-9 is higher, and
  fades; about one session in fifteen is a rupture (Negative affect up, Positive down). No
  published norm is imitated; the shapes only make the charts look like real use.
* **Spanish.** One client with an open episode, in the care of a therapist who speaks
  Spanish, answers the PHQ-9 in its official Spanish (USA) translation: every PHQ-9 of theirs
  records ``"language": "es-US"``, and a PHQ-9 asked in Spanish is waiting for them now.
"""

from __future__ import annotations

import contextlib
import datetime
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reverie.care.models import Client, Episode, EpisodeStatus
from reverie.directory.models import TherapistProfile
from reverie.measures import registry, scoring
from reverie.measures.actions.submission import result_json
from reverie.measures.definitions import InstrumentDefinition
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
#: Modalities whose clients answer the CORE-OM (with therapists who do not use the CORE-10).
COREOM_MODALITIES = frozenset({"psychodynamic", "psychoanalysis"})
#: Least number of attended sessions between two CORE-OMs.
COREOM_EVERY_SESSIONS = 7
#: Extra functioning difficulty (mean item score) at intake, gone by the fifth CORE-OM.
COREOM_FUNCTIONING_LAG = 0.45
#: The therapist (by index) whose clients answer the SPARQ after sessions.
SPARQ_THERAPIST = 2
#: Least gap between two SPARQs.
SPARQ_EVERY = datetime.timedelta(days=14)
#: Share of SPARQ sessions drawn as a rupture.
SPARQ_RUPTURE = 1 / 15


def _scored(
    definition: InstrumentDefinition,
    instrument: Instrument,
    answers: dict[str, int],
    *,
    client: Client,
    episode: Episode | None,
    when: datetime.datetime,
    timepoint: str,
) -> Administration:
    """A demo administration of ``answers``, scored and stored as ``submit()`` stores it."""
    result = scoring.score(definition, answers)
    return Administration(
        client=client,
        episode=episode,
        instrument=instrument,
        completed_at=when,
        received_at=when,
        timepoint=timepoint,
        source="demo",
        answers=answers,
        total=scoring.stored_total(result),
        band=result.band.label if result.band is not None else "",
        result=result_json(result),
        has_critical=result.has_critical_hits,
        instrument_version=definition.version,
    )


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
        out.append(
            _scored(
                definition,
                instrument,
                answers,
                client=row.client,
                episode=row.episode,
                when=row.completed_at + datetime.timedelta(minutes=4),
                timepoint=row.timepoint,
            )
        )
        if row.timepoint in ("intake", "session"):
            last = row.completed_at
    return out


def coreom_answers(
    rng: random.Random, phq9: Sequence[int], gad7: Sequence[int], *, nth: int
) -> tuple[int, ...]:
    """Raw CORE-OM answers (items 1-34, 0-4 as printed) for a client's ``nth`` CORE-OM
    (0-based), agreeing with the PHQ-9 and GAD-7 of the same occasion.

    >>> answers = coreom_answers(random.Random(1), [2] * 9, [2] * 7, nth=0)
    >>> len(answers), all(0 <= a <= 4 for a in answers)
    (34, True)
    """
    definition = registry.definition("core-om")
    domain_of = {
        member.item_id: sub.id
        for sub in definition.subscales
        if sub.id != "non-risk"
        for member in sub.members
    }
    general = CORE10_PER_POINT * (sum(phq9) + sum(gad7)) / 10.0 + rng.gauss(0.0, 0.2)
    level = {
        "wellbeing": general + 0.3,
        "problems": general,
        "functioning": general + COREOM_FUNCTIONING_LAG * max(0.0, 1.0 - nth / 4),
    }
    suicidal = phq9[8]
    raw = []
    for item in definition.items:
        domain = domain_of[item.id]
        if domain == "risk":
            number = item.number
            if number == 16:  # plans to end my life: as the CORE-10's risk item
                effective = (1 if suicidal == 2 else 2) if suicidal >= 2 else 0
            elif number in (9, 24):  # thoughts of hurting myself / better off dead
                effective = min(4, suicidal)
            else:  # self-harm and risk to others: not endorsed in the demo
                effective = 0
        else:
            mean = max(0.0, min(4.0, level[domain]))
            effective = max(0, min(4, round(mean + rng.gauss(0.0, 0.8))))
        raw.append(4 - effective if item.reverse else effective)
    return tuple(raw)


def coreom_administrations(
    rows: list[Administration],
    sessions: Sequence[tuple[datetime.datetime, str]],
    *,
    seed: str,
    instrument: Instrument,
) -> list[Administration]:
    """The CORE-OMs one episode's client gave, from that episode's PHQ-9/GAD-7 rows (in time
    order) and its sessions (``(start, attendance)``): intake, then with the first
    questionnaires at least :data:`COREOM_EVERY_SESSIONS` attended sessions after the last
    CORE-OM, and every follow-up."""
    definition = registry.definition("core-om")
    item_ids = [item.id for item in definition.items]
    rng = random.Random(seed)
    attended = sorted(start for start, attendance in sessions if attendance == "attended")
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
        if row.timepoint == "session" and last is not None:
            between = sum(1 for start in attended if last <= start < row.completed_at)
            if between < COREOM_EVERY_SESSIONS:
                continue
        phq_values = [row.answers[f"phq9-{n}"] for n in range(1, 10)]
        gad_values = [gad.answers[f"gad7-{n}"] for n in range(1, 8)]
        raw = coreom_answers(rng, phq_values, gad_values, nth=len(out))
        answers = dict(zip(item_ids, raw, strict=True))
        out.append(
            _scored(
                definition,
                instrument,
                answers,
                client=row.client,
                episode=row.episode,
                when=row.completed_at + datetime.timedelta(minutes=4),
                timepoint=row.timepoint,
            )
        )
        if row.timepoint in ("intake", "session"):
            last = row.completed_at
    return out


def sparq_answers(
    rng: random.Random, *, nth: int, phq9_total: int | None, client_offset: float
) -> tuple[int, ...]:
    """Raw SPARQ answers (items 1-8, 0-4) for a client's ``nth`` SPARQ (0-based).

    >>> answers = sparq_answers(random.Random(1), nth=0, phq9_total=15, client_offset=0.0)
    >>> len(answers), all(0 <= a <= 4 for a in answers)
    (8, True)
    """
    settle = min(nth, 8) / 8  # the relationship forms over the first eight or so
    positive = 2.5 + 0.8 * settle + client_offset
    negative = 1.3 - 0.7 * settle + 0.05 * ((phq9_total or 10) - 10) - 0.5 * client_offset
    if rng.random() < SPARQ_RUPTURE:
        positive, negative = positive - 1.2, negative + 1.6
    means = [positive, negative, negative, negative, negative, positive, positive, positive]
    return tuple(max(0, min(4, round(mean + rng.gauss(0.0, 0.6)))) for mean in means)


def sparq_administrations(
    sessions: Sequence[tuple[datetime.datetime, int, str]],
    phq9_rows: list[Administration],
    *,
    seed: str,
    instrument: Instrument,
    client: Client,
    episode: Any,
    now: datetime.datetime,
) -> list[Administration]:
    """The SPARQs one episode's client gave after attended sessions (``sessions`` as
    ``(start, duration_minutes, attendance)`` in time order), at most one a fortnight."""
    definition = registry.definition("sparq")
    item_ids = [item.id for item in definition.items]
    rng = random.Random(seed)
    offset = rng.gauss(0.0, 0.4)
    phq9 = sorted(
        ((row.completed_at, row.total) for row in phq9_rows if row.instrument.code == "phq-9"),
        key=lambda pair: pair[0],
    )
    out: list[Administration] = []
    last: datetime.datetime | None = None
    for start, minutes, attendance in sessions:
        if attendance != "attended":
            continue
        when = start + datetime.timedelta(minutes=minutes, hours=rng.uniform(0.5, 20.0))
        if when >= now or (last is not None and start - last < SPARQ_EVERY):
            continue
        latest = [total for taken, total in phq9 if taken <= start]
        raw = sparq_answers(
            rng, nth=len(out), phq9_total=latest[-1] if latest else None, client_offset=offset
        )
        answers = dict(zip(item_ids, raw, strict=True))
        out.append(
            _scored(
                definition,
                instrument,
                answers,
                client=client,
                episode=episode,
                when=when,
                timepoint="session",
            )
        )
        last = start
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
