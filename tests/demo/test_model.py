"""Tests for the synthetic demo practice generator (``reverie.demo.model``).

The generator is pure Python + numpy, so these tests need neither Django nor a database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import cast

import numpy as np
import pytest

from reverie.demo import model
from reverie.demo.model import (
    ARCHETYPES,
    ATTENDANCE,
    CONCERNS,
    END_REASONS,
    EPISODE_STATUSES,
    MODALITIES,
    TIMEPOINTS,
    ClientSpec,
    EpisodeSpec,
    MeasurementSpec,
    SyntheticPractice,
    describe,
    generate_practice,
)

TODAY = dt.date(2026, 11, 22)
DEFAULT_SEED = 20261122


@pytest.fixture(scope="module")
def practice() -> SyntheticPractice:
    return generate_practice(today=TODAY)


def episodes(practice: SyntheticPractice) -> list[EpisodeSpec]:
    return [episode for _, episode in practice.iter_episodes()]


def phq9(episode: EpisodeSpec) -> list[MeasurementSpec]:
    return [m for m in episode.measurements if m.instrument == "phq9"]


def in_treatment(episode: EpisodeSpec) -> list[MeasurementSpec]:
    return [m for m in phq9(episode) if m.timepoint in ("intake", "session")]


def attended(episode: EpisodeSpec) -> int:
    return sum(s.attendance == "attended" for s in episode.sessions)


def all_measurements(practice: SyntheticPractice) -> Iterator[tuple[EpisodeSpec, MeasurementSpec]]:
    for episode in episodes(practice):
        for measurement in episode.measurements:
            yield episode, measurement


# --- determinism and arguments -------------------------------------------------------------


def test_same_seed_and_today_give_an_equal_practice(practice: SyntheticPractice) -> None:
    again = generate_practice(DEFAULT_SEED, today=TODAY)
    assert again == practice
    assert again.seed == DEFAULT_SEED and again.today == TODAY


def test_a_different_seed_or_today_gives_a_different_practice(practice: SyntheticPractice) -> None:
    assert generate_practice(DEFAULT_SEED + 1, today=TODAY) != practice
    assert generate_practice(today=TODAY - dt.timedelta(days=1)) != practice


def test_numpy_integer_seeds_are_accepted() -> None:
    seed = cast(int, np.int64(7))  # numpy integers are accepted at run time
    assert generate_practice(seed, today=TODAY) == generate_practice(7, today=TODAY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": -1},
        {"seed": True},
        {"seed": 1.5},
        {"seed": "1"},
        {"today": dt.datetime(2026, 11, 22, tzinfo=dt.UTC)},
        {"today": "2026-11-22"},
        {"today": dt.date(1, 1, 1)},
        {"n_clients": 0},
        {"n_clients": 401},
        {"n_clients": 2.0},
        {"n_therapists": 0},
        {"n_therapists": 9},
        {"n_therapists": False},
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"today": TODAY, **kwargs}
    with pytest.raises(ValueError):
        generate_practice(**arguments)  # type: ignore[arg-type]


def test_specs_are_frozen(practice: SyntheticPractice) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        practice.clients[0].given_name = "Changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        practice.clients[0].episodes[0].sessions[0].attendance = "no_show"  # type: ignore[misc]


# --- sizes and coverage --------------------------------------------------------------------


def count(summary: dict[str, object], key: str) -> int:
    value = summary[key]
    assert isinstance(value, int)
    return value


def tally(summary: dict[str, object], key: str) -> dict[str, int]:
    value = summary[key]
    assert isinstance(value, dict)
    return cast(dict[str, int], value)


def test_counts_are_in_the_documented_ranges(practice: SyntheticPractice) -> None:
    summary = describe(practice)
    assert count(summary, "therapists") == 4
    assert count(summary, "clients") == 60
    assert 60 <= count(summary, "episodes") <= 90
    assert 1 <= count(summary, "clients_with_two_episodes") <= 20
    assert 1500 <= count(summary, "sessions") <= 12000
    assert 1000 <= count(summary, "measurements") <= 8000
    assert summary["seed"] == DEFAULT_SEED and summary["today"] == "2026-11-22"


def test_describe_counts_add_up(practice: SyntheticPractice) -> None:
    summary = describe(practice)
    eps = episodes(practice)
    for key in ("episodes_by_modality", "episodes_by_status", "episodes_by_archetype"):
        assert sum(tally(summary, key).values()) == len(eps)
    ended = sum(e.status == "ended" for e in eps)
    assert sum(tally(summary, "episodes_by_end_reason").values()) == ended
    assert sum(tally(summary, "sessions_by_attendance").values()) == count(summary, "sessions")
    by_instrument = tally(summary, "measurements_by_instrument")
    by_timepoint = tally(summary, "measurements_by_timepoint")
    total = count(summary, "measurements")
    assert sum(by_instrument.values()) == sum(by_timepoint.values()) == total
    assert by_instrument["phq9"] == by_instrument["gad7"]


def test_every_modality_and_status_is_present(practice: SyntheticPractice) -> None:
    eps = episodes(practice)
    assert {e.modality for e in eps} == set(MODALITIES)
    assert {e.status for e in eps} == set(EPISODE_STATUSES)


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 1, 2, 3, 4])
def test_every_archetype_is_present(seed: int) -> None:
    eps = episodes(generate_practice(seed, today=TODAY))
    assert {e.archetype for e in eps} == set(ARCHETYPES)


def test_archetype_mix_is_close_to_the_documented_probabilities() -> None:
    counts: Counter[str] = Counter()
    for seed in range(10):
        counts.update(e.archetype for e in episodes(generate_practice(seed, today=TODAY)))
    total = sum(counts.values())
    share = {a: counts[a] / total for a in ARCHETYPES}
    assert 0.38 <= share["improvement"] <= 0.50
    assert 0.15 <= share["slow_plateau"] <= 0.25
    assert 0.10 <= share["early_dropout"] <= 0.20
    assert 0.06 <= share["no_change"] <= 0.14
    assert 0.03 <= share["deterioration"] <= 0.09
    assert 0.03 <= share["later_gains"] <= 0.12


def test_psychodynamic_work_is_given_more_later_gains_than_cbt() -> None:
    weights = model._ARCHETYPE_WEIGHTS
    later = ARCHETYPES.index("later_gains")
    assert weights["psychodynamic"][later] > weights["cbt"][later]
    assert weights["psychoanalysis"][later] > weights["cbt"][later]
    for table in weights.values():
        assert sum(table) == pytest.approx(1.0)


def test_small_and_large_practices_stay_consistent() -> None:
    for n_clients, n_therapists in [(1, 1), (5, 2), (150, 8)]:
        p = generate_practice(3, today=TODAY, n_clients=n_clients, n_therapists=n_therapists)
        assert len(p.clients) == n_clients and len(p.therapists) == n_therapists
        for episode in episodes(p):
            assert episode.modality in p.therapists[episode.therapist_index].modalities


# --- therapists and clients ----------------------------------------------------------------


def test_therapist_profiles(practice: SyntheticPractice) -> None:
    mixes = [t.modalities for t in practice.therapists]
    assert mixes == [
        ("psychodynamic",),
        ("psychoanalysis", "psychodynamic"),
        ("cbt", "psychodynamic"),
        ("psychodynamic",),
    ]
    approaches = {t.approach for t in practice.therapists}
    assert len(approaches) == 4
    for t in practice.therapists:
        assert t.full_name == f"{t.given_name} {t.family_name}"
        assert t.email.endswith("@example.org")
        assert t.credentials and t.pronouns in ("she/her", "he/him", "they/them")
        assert 2 <= t.approach.count(". ") + 1 <= 3
        assert set(t.concerns) <= set(CONCERNS) and len(t.concerns) >= 5
        assert t.languages[0] == "English"
        assert 100 <= t.fee_usd <= 300 and t.fee_usd % 5 == 0
        assert t.location
        assert 3 <= len(t.availability) <= 6
        for weekday, hour in t.availability:
            assert 0 <= weekday <= 4 and 9 <= hour <= 18


def test_client_identities(practice: SyntheticPractice) -> None:
    emails = [c.email for c in practice.clients] + [t.email for t in practice.therapists]
    assert len(set(emails)) == len(emails)
    names = {(c.given_name, c.family_name) for c in practice.clients}
    assert len(names) == len(practice.clients)
    for client in practice.clients:
        assert client.email.endswith("@example.org")
        age = (TODAY - client.date_of_birth).days / 365.25
        assert 19 <= age <= 70
        first_start = client.episodes[0].start_date
        assert (first_start - client.date_of_birth).days / 365.25 >= 18
        assert 1 <= len(client.presenting_concerns) <= 3
        assert set(client.presenting_concerns) <= set(CONCERNS)
        assert client.referral_source
        assert 1 <= len(client.episodes) <= 2


def test_a_client_has_one_episode_at_a_time(practice: SyntheticPractice) -> None:
    for client in practice.clients:
        for before, after in zip(client.episodes, client.episodes[1:], strict=False):
            assert before.status == "ended" and before.end_date is not None
            assert after.start_date > before.end_date


# --- episodes ------------------------------------------------------------------------------


def test_episode_fields_follow_the_vocabularies(practice: SyntheticPractice) -> None:
    for episode in episodes(practice):
        assert episode.modality in MODALITIES
        assert episode.status in EPISODE_STATUSES
        assert episode.archetype in ARCHETYPES
        assert episode.goal.endswith(".") and len(episode.goal) < 100
        if episode.modality == "psychoanalysis":
            assert episode.frequency in (3, 4)
        elif episode.modality == "cbt":
            assert episode.frequency == 1
        else:
            assert episode.frequency in (1, 2, "fortnightly")
        if episode.status == "ended":
            assert episode.end_reason in END_REASONS
            assert episode.end_date is not None and episode.end_date < TODAY
            assert episode.end_date >= episode.start_date
        else:
            assert episode.end_date is None and episode.end_reason is None


def test_ending_archetypes_have_ended() -> None:
    for seed in (DEFAULT_SEED, 11, 12):
        for episode in episodes(generate_practice(seed, today=TODAY)):
            if episode.archetype in ("early_dropout", "later_gains"):
                assert episode.status == "ended"
            if episode.archetype == "early_dropout":
                assert episode.end_reason == "dropout"
                assert attended(episode) <= 5


def test_no_history_after_today_only_scheduled_sessions(practice: SyntheticPractice) -> None:
    assert practice.as_of == dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    # A fortnight ahead, or the next session after a break (which can be weeks away).
    horizon = practice.as_of + dt.timedelta(days=60)
    for episode in episodes(practice):
        starts = [s.start for s in episode.sessions]
        assert starts == sorted(starts)
        for session in episode.sessions:
            assert session.start.tzinfo is not None and session.start.utcoffset() == dt.timedelta(0)
            assert session.attendance in ATTENDANCE
            assert session.duration_minutes == 50
            if session.attendance == "scheduled":
                assert practice.as_of <= session.start < horizon
                assert episode.status != "ended"
            else:
                assert session.start < practice.as_of
                assert session.start.date() < TODAY
        for measurement in episode.measurements:
            assert measurement.taken_at < practice.as_of
        if episode.status != "ended":
            assert any(s.attendance == "scheduled" for s in episode.sessions)


def test_breaks_show_as_gaps(practice: SyntheticPractice) -> None:
    # The day the demo is run is the exception: it always has sessions (tested below).
    days = [
        s.start.date() for e in episodes(practice) for s in e.sessions if s.start.date() != TODAY
    ]
    assert not [d for d in days if (d.month, d.day) in ((12, 25), (1, 1), (7, 4))]
    assert not [d for d in days if d.weekday() >= 5]
    for index, therapist in enumerate(practice.therapists):
        august = [
            s.start.date()
            for e in episodes(practice)
            if e.therapist_index == index
            for s in e.sessions
            if s.start.year == 2025 and s.start.month == 8
        ]
        # Three or four weeks off leave at most three working weeks of August.
        assert len({d.isocalendar()[1] for d in august}) <= 3, therapist.full_name


def test_cbt_is_shorter_than_psychodynamic_therapy(practice: SyntheticPractice) -> None:
    eps = episodes(practice)
    cbt = [attended(e) for e in eps if e.modality == "cbt"]
    dynamic = [attended(e) for e in eps if e.modality == "psychodynamic"]
    analysis = [attended(e) for e in eps if e.modality == "psychoanalysis"]
    assert np.mean(cbt) < np.mean(dynamic) < np.mean(analysis)
    for episode in eps:
        if episode.end_date is None or episode.archetype == "early_dropout":
            continue
        if episode.modality == "cbt":
            assert 8 <= attended(episode) <= 20
        if episode.modality == "psychoanalysis":
            # One to three years, less the last planned week if it fell in a break.
            weeks = (episode.end_date - episode.start_date).days / 7
            assert 45 <= weeks <= 157


def test_some_ended_episodes_have_follow_ups(practice: SyntheticPractice) -> None:
    with_followups = 0
    for episode in episodes(practice):
        followups = [m for m in episode.measurements if m.timepoint.startswith("followup")]
        if episode.status != "ended":
            assert not followups
            continue
        assert episode.end_date is not None
        for m in followups:
            months = int(m.timepoint.removeprefix("followup_").removesuffix("m"))
            lag = (m.taken_at.date() - episode.end_date).days
            assert round(30.4375 * months) <= lag <= round(30.4375 * months) + 6
        with_followups += bool(followups)
    assert with_followups >= 10
    timepoints = {m.timepoint for _, m in all_measurements(practice)}
    assert timepoints == set(TIMEPOINTS)


# --- measurements --------------------------------------------------------------------------


def test_item_answers_are_in_range_and_totals_are_sums(practice: SyntheticPractice) -> None:
    for _, m in all_measurements(practice):
        assert len(m.answers) == (9 if m.instrument == "phq9" else 7)
        assert all(isinstance(a, int) and 0 <= a <= 3 for a in m.answers)
        assert m.total == sum(m.answers)
        assert m.timepoint in TIMEPOINTS


def test_questionnaires_come_in_pairs_on_one_form(practice: SyntheticPractice) -> None:
    for episode in episodes(practice):
        first = [m for m in episode.measurements if m.instrument == "phq9"]
        second = [m for m in episode.measurements if m.instrument == "gad7"]
        assert len(first) == len(second)
        assert first[0].timepoint == "intake"
        for a, b in zip(first, second, strict=True):
            assert b.taken_at - a.taken_at == dt.timedelta(minutes=2)
            assert (a.timepoint, a.session_index) == (b.timepoint, b.session_index)


def test_session_questionnaires_follow_the_documented_schedule(practice: SyntheticPractice) -> None:
    every = {"cbt": 1, "psychodynamic": 2, "psychoanalysis": 4}
    for episode in episodes(practice):
        ordinal = {}
        count = 0
        for index, session in enumerate(episode.sessions):
            if session.attendance == "attended":
                count += 1
                ordinal[index] = count
        for m in phq9(episode):
            if m.timepoint != "session":
                assert m.session_index is None
                continue
            assert m.session_index is not None
            session = episode.sessions[m.session_index]
            assert session.attendance == "attended"
            assert dt.timedelta(minutes=10) <= session.start - m.taken_at <= dt.timedelta(hours=3)
            j = ordinal[m.session_index]
            assert j >= 2 and j % every[episode.modality] == 0


def test_intake_severity_matches_a_clinical_population(practice: SyntheticPractice) -> None:
    intakes = [in_treatment(e)[0].total for e in episodes(practice)]
    assert 13 <= np.mean(intakes) <= 17
    assert 3.5 <= np.std(intakes) <= 6.5


def test_phq9_and_gad7_are_correlated(practice: SyntheticPractice) -> None:
    pairs: list[tuple[int, int]] = []
    for episode in episodes(practice):
        ms = episode.measurements
        pairs.extend(
            (a.total, b.total)
            for a, b in zip(
                [m for m in ms if m.instrument == "phq9"],
                [m for m in ms if m.instrument == "gad7"],
                strict=True,
            )
        )
    r = np.corrcoef(np.array(pairs).T)[0, 1]
    assert 0.55 <= r <= 0.85


def test_item9_is_rare_and_tied_to_high_severity(practice: SyntheticPractice) -> None:
    scores = [m for e in episodes(practice) for m in phq9(e)]
    endorsed = [m.total for m in scores if m.answers[8] >= 1]
    assert 0 < len(endorsed) <= 0.1 * len(scores)
    assert np.mean(endorsed) > np.mean([m.total for m in scores]) + 4


def test_a_recent_phq9_endorses_item9(practice: SyntheticPractice) -> None:
    recent = practice.as_of - dt.timedelta(days=14)
    hits = [
        m
        for e in episodes(practice)
        if e.status != "ended"
        for m in phq9(e)
        if m.taken_at >= recent and m.answers[8] >= 1
    ]
    assert hits


def test_improvement_episodes_end_lower_than_they_start(practice: SyntheticPractice) -> None:
    changes = [
        in_treatment(e)[-1].total - in_treatment(e)[0].total
        for e in episodes(practice)
        if e.archetype == "improvement" and e.status == "ended"
    ]
    assert len(changes) >= 5
    assert np.mean(changes) <= -4


def test_deterioration_episodes_end_higher_than_they_start() -> None:
    changes = [
        in_treatment(e)[-1].total - in_treatment(e)[0].total
        for seed in range(4)
        for e in episodes(generate_practice(seed, today=TODAY))
        if e.archetype == "deterioration" and e.status == "ended"
    ]
    assert changes and np.mean(changes) > 0


def test_later_gains_episodes_keep_improving_after_ending() -> None:
    after: dict[str, list[int]] = {"later_gains": [], "other": []}
    for seed in range(6):
        for episode in episodes(generate_practice(seed, today=TODAY)):
            followups = [m for m in phq9(episode) if m.timepoint.startswith("followup")]
            if not followups:
                continue
            key = "later_gains" if episode.archetype == "later_gains" else "other"
            after[key].append(followups[-1].total - in_treatment(episode)[-1].total)
    assert len(after["later_gains"]) >= 5
    assert np.mean(after["later_gains"]) < np.mean(after["other"]) - 1


def test_clients_are_a_plain_dataclass_tree(practice: SyntheticPractice) -> None:
    client = practice.clients[0]
    assert isinstance(client, ClientSpec)
    assert isinstance(client.episodes, tuple) and isinstance(client.episodes[0].sessions, tuple)


# --- the day the demo is run ---------------------------------------------------------------


@pytest.mark.parametrize(
    "today",
    [
        dt.date(2026, 11, 22),  # a Sunday
        dt.date(2026, 12, 5),  # a Saturday
        dt.date(2026, 12, 25),  # the practice's winter break
        dt.date(2027, 3, 10),  # an ordinary Wednesday
    ],
)
def test_every_therapist_has_sessions_on_the_day_the_demo_is_run(today: dt.date) -> None:
    p = generate_practice(today=today)
    for index in range(len(p.therapists)):
        mine = [e for e in episodes(p) if e.therapist_index == index]
        today_sessions = [s for e in mine for s in e.sessions if s.start.date() == today]
        open_episodes = [e for e in mine if e.status in ("intake", "active")]
        assert len(today_sessions) >= min(model.TODAY_MIN_SESSIONS, len(open_episodes))
        assert today_sessions, index
        assert all(s.attendance == "scheduled" for s in today_sessions)
        hours = [s.start.hour for s in today_sessions]
        assert len(hours) == len(set(hours)), "a therapist is double-booked today"


# --- follow-ups --------------------------------------------------------------------------


def test_the_follow_up_target_clears_the_dashboards_small_cell_limit() -> None:
    from reverie.outcomes.evidence import MIN_CELL

    assert model.FOLLOWUP_TARGET >= MIN_CELL


def paired_followups(p: SyntheticPractice, label: str) -> int:
    total = 0
    for e in episodes(p):
        if e.modality == "cbt" or e.status != "ended" or attended(e) < 2:
            continue
        if len(in_treatment(e)) < 2:
            continue
        total += any(m.timepoint == label for m in phq9(e))
    return total


@pytest.mark.parametrize("today", [TODAY, dt.date(2027, 3, 6), dt.date(2027, 8, 15)])
def test_psychodynamic_follow_up_cells_are_filled(today: dt.date) -> None:
    from reverie.outcomes.evidence import MIN_CELL

    p = generate_practice(today=today)
    for label in ("followup_1m", "followup_3m", "followup_6m", "followup_12m"):
        assert paired_followups(p, label) >= MIN_CELL, label


# --- clinical material ---------------------------------------------------------------------


def test_every_kind_of_clinical_material_is_written(practice: SyntheticPractice) -> None:
    summary = describe(practice)
    for key in (
        "progress_notes",
        "progress_note_drafts",
        "addenda",
        "process_notes",
        "reflections",
        "relationship_episodes",
        "transference_episodes",
        "journal_entries",
        "journal_entries_shared",
        "consultation_requests",
        "sessions_today",
    ):
        assert count(summary, key) > 0, key
    journal = [j for c in practice.clients for j in c.journal]
    assert any(j.shared_at is None for j in journal)
    assert {j.kind for j in journal} == {"dream", "fantasy", "association", "thought"}
    statuses = {c.status for c in practice.consultation_requests}
    assert {"new", "contacted", "booked", "closed"} <= statuses


def test_notes_belong_to_past_sessions_that_took_place(practice: SyntheticPractice) -> None:
    for episode in episodes(practice):
        for note in episode.progress_notes:
            session = episode.sessions[note.session_index]
            assert session.start < practice.as_of
            assert session.attendance in ("attended", "no_show")
            assert note.attendance == session.attendance
            assert note.written_at > session.start and note.written_at < practice.as_of
            if note.signed_at is None:
                assert session.start >= practice.as_of - dt.timedelta(days=10)
            else:
                assert note.written_at <= note.signed_at < practice.as_of
            if note.addendum:
                assert note.signed_at is not None and note.addendum_at is not None
        for item in (*episode.reflections, *episode.process_notes):
            assert episode.sessions[item.session_index].attendance == "attended"
        assert not (episode.modality == "cbt" and episode.process_notes)
        for reflection in episode.reflections:
            assert len(reflection.scores) == 7 and all(0 <= x <= 6 for x in reflection.scores)


def test_a_session_with_item9_has_a_risk_assessment_that_says_so(
    practice: SyntheticPractice,
) -> None:
    seen = 0
    for episode in episodes(practice):
        flagged = {
            m.session_index
            for m in phq9(episode)
            if m.session_index is not None and m.answers[8] > 0
        }
        for note in episode.progress_notes:
            if note.session_index in flagged and note.attendance == "attended":
                assert "item 9" in note.risk_assessment
                seen += 1
    assert seen > 0


def test_cbt_sessions_rate_lower_on_the_psychodynamic_features(
    practice: SyntheticPractice,
) -> None:
    by_modality: dict[str, list[tuple[int, ...]]] = {}
    for episode in episodes(practice):
        for r in episode.reflections:
            by_modality.setdefault(episode.modality, []).append(r.scores)
    dynamic = np.array(by_modality["psychodynamic"], dtype=float).mean(axis=0)
    cbt = np.array(by_modality["cbt"], dtype=float).mean(axis=0)
    assert (cbt < dynamic).all()
    # past, the therapeutic relationship and fantasy differ most (by more than 1.5 points)
    assert (dynamic[[3, 5, 6]] - cbt[[3, 5, 6]] > 1.5).all()


def test_therapists_have_profiles_of_their_own(practice: SyntheticPractice) -> None:
    means = []
    for index in range(len(practice.therapists)):
        rows = [
            r.scores
            for e in episodes(practice)
            if e.therapist_index == index and e.modality == "psychodynamic"
            for r in e.reflections
        ]
        if rows:
            means.append(np.array(rows, dtype=float).mean(axis=0))
    assert len(means) >= 3
    spread = np.ptp(np.array(means), axis=0)
    assert spread.max() > 0.5


def test_relationship_episodes_have_formulations_and_some_are_transference(
    practice: SyntheticPractice,
) -> None:
    res = [r for e in episodes(practice) for r in e.relationship_episodes]
    assert all(r.narrative and r.wish and r.response_of_other and r.response_of_self for r in res)
    assert all(r.ro_valence in ("positive", "negative") for r in res)
    transference = [r for r in res if r.is_transference]
    assert transference and all("I " in r.narrative for r in transference)
    assert any(r.journal_index is not None for r in res)
    for client in practice.clients:
        for e in client.episodes:
            for r in e.relationship_episodes:
                if r.journal_index is not None:
                    assert client.journal[r.journal_index].shared_at is not None
    # A client's formulations recur word for word, which is what lets them be grouped.
    by_wish = Counter(r.wish for r in res)
    assert by_wish.most_common(1)[0][1] >= 5


def test_the_writing_is_synthetic_and_reproducible(practice: SyntheticPractice) -> None:
    again = generate_practice(today=TODAY)
    assert again.clients[5].journal == practice.clients[5].journal
    for request in practice.consultation_requests:
        assert request.email.endswith("@example.org")
        assert request.phone == "" or request.phone.startswith("555-01")
    people = {(c.given_name, c.family_name) for c in practice.clients}
    assert not people & {(r.given_name, r.family_name) for r in practice.consultation_requests}
    texts = [n.content for e in episodes(practice) for n in e.progress_notes]
    assert len(set(texts)) > 0.9 * len(texts), "the notes hardly vary"
    assert all("{" not in t and "}" not in t for t in texts)


def test_feature_order_matches_the_reflection_module() -> None:
    from reverie.demo.material import FEATURE_KEYS
    from reverie.process.reflection import FEATURE_KEYS as PROCESS_KEYS

    assert PROCESS_KEYS == FEATURE_KEYS
