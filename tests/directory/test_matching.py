"""Tests for directory matching (pure logic, no Django).

``hypothesis`` is not installed in the project venv, so the property tests use seeded random
loops: every run checks the same cases, and a failure names the seed that produced it.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from reverie.directory.matching import (
    MODALITIES,
    TIME_WINDOWS,
    Match,
    Profile,
    ProfileIndex,
    Query,
    query_from_preferences,
    rank,
    rank_bruteforce,
)
from reverie.directory.selfcheck import CONCERNS, evaluate

# Small vocabularies on purpose: many profiles share scores, so tie-breaking gets exercised.
LANGUAGES = ("English", "spanish", "FRENCH", "Welsh")
PLANS = ("Aetna", "cigna", "Blue Shield")
PLACES = ("Leeds", "york", "New  Haven")


def make_profile(pid: str, **overrides: Any) -> Profile:
    fields: dict[str, Any] = {
        "id": pid,
        "name": f"Therapist {pid}",
        "modalities": ("psychodynamic",),
        "concerns": ("anxiety",),
        "languages": ("English",),
        "fee": 100,
        "telehealth": True,
        "open_slots": ((0, 10),),
    }
    fields.update(overrides)
    return Profile(**fields)


def random_profile(rng: random.Random, pid: str) -> Profile:
    sliding = rng.random() < 0.4
    fee = rng.choice(range(40, 220, 20))
    return Profile(
        id=pid,
        name=f"Therapist {pid}",
        modalities=tuple(rng.sample(MODALITIES, rng.randint(1, 2))),
        concerns=tuple(rng.sample(CONCERNS[:6], rng.randint(0, 4))),
        languages=tuple(rng.sample(LANGUAGES, rng.randint(1, 2))),
        fee=fee,
        sliding_scale=sliding,
        sliding_scale_min_fee=rng.choice(range(0, fee + 1, 20)) if sliding else None,
        insurance=tuple(rng.sample(PLANS, rng.randint(0, 2))),
        telehealth=rng.random() < 0.6,
        in_person_location=rng.choice((None, *PLACES)),
        # Few, possibly repeated slots; sometimes none at all.
        open_slots=tuple((rng.randint(0, 6), rng.randint(7, 21)) for _ in range(rng.randint(0, 4))),
        accepting_new=rng.random() < 0.85,
    )


def random_query(rng: random.Random) -> Query:
    def maybe(value: Any, p: float = 0.35) -> Any:
        return value if rng.random() < p else None

    setting = rng.choice(("any", "any", "telehealth", "in_person"))
    location = None if setting == "telehealth" else maybe(rng.choice(PLACES).upper(), 0.4)
    return Query(
        language=maybe(rng.choice(LANGUAGES).lower()),
        max_budget=maybe(rng.choice(range(0, 240, 20)), 0.5),
        sliding_scale=rng.random() < 0.3,
        insurance=maybe(rng.choice(PLANS).upper(), 0.2),
        setting=setting,
        location=location,
        modalities=frozenset(rng.sample(MODALITIES, rng.choice((0, 0, 1, 2)))),
        require_openings=rng.random() < 0.7,
        concerns=frozenset(rng.sample(CONCERNS[:6], rng.randint(0, 3))),
        modality_leaning=rng.choice((None, "psychodynamic", "structured")),
        time_windows=frozenset(rng.sample(tuple(TIME_WINDOWS), rng.randint(0, 2))),
        weekdays=frozenset(rng.sample(range(7), rng.choice((0, 0, 1, 3)))),
        multiple_days=rng.random() < 0.3,
    )


def summary(matches: list[Match]) -> list[tuple[str, int, tuple[tuple[str, int], ...]]]:
    return [(m.profile_id, m.score, m.breakdown) for m in matches]


def passes_every_must_have(profile: Profile, query: Query) -> bool:
    """An independent restatement of the must-haves, written from the Query docstring."""

    def same(a: str, b: str) -> bool:
        return " ".join(a.split()).lower() == " ".join(b.split()).lower()

    checks = []
    if query.require_openings:
        checks.append(profile.accepting_new and len(profile.open_slots) > 0)
    if query.language:
        checks.append(any(same(lang, query.language) for lang in profile.languages))
    if query.max_budget is not None:
        low = profile.sliding_scale_min_fee
        via_sliding = query.sliding_scale and low is not None and low <= query.max_budget
        checks.append(profile.fee <= query.max_budget or via_sliding)
    elif query.sliding_scale:
        checks.append(profile.sliding_scale)
    if query.insurance:
        checks.append(any(same(plan, query.insurance) for plan in profile.insurance))
    place = profile.in_person_location
    here = place is not None and (query.location is None or same(place, query.location))
    if query.setting == "telehealth":
        checks.append(profile.telehealth)
    elif query.setting == "in_person":
        checks.append(here)
    elif query.location is not None:
        checks.append(profile.telehealth or here)
    if query.modalities:
        checks.append(bool(query.modalities & set(profile.modalities)))
    return all(checks)


# --- Property tests on random data ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_the_index_ranks_exactly_like_the_brute_force_reference(seed: int) -> None:
    rng = random.Random(seed)
    profiles = [
        random_profile(rng, f"p{i:03d}") for i in rng.sample(range(1000), rng.randint(0, 80))
    ]
    index = ProfileIndex(profiles)
    for _ in range(15):
        query = random_query(rng)
        limit = rng.randint(1, 25)
        indexed = index.rank(query, limit)
        reference = rank_bruteforce(profiles, query, limit)
        assert summary(indexed) == summary(reference), (seed, query, limit)
        assert [m.reasons for m in indexed] == [m.reasons for m in reference]


@pytest.mark.parametrize("seed", range(20))
def test_every_match_meets_every_must_have_and_none_that_qualify_are_missed(seed: int) -> None:
    rng = random.Random(1000 + seed)
    profiles = [random_profile(rng, f"t{i}") for i in range(60)]
    index = ProfileIndex(profiles)
    for _ in range(10):
        query = random_query(rng)
        matches = index.rank(query, limit=len(profiles))
        qualifying = {p.id for p in profiles if passes_every_must_have(p, query)}
        assert {m.profile_id for m in matches} == qualifying


@pytest.mark.parametrize("seed", range(10))
def test_results_do_not_depend_on_the_order_profiles_are_given_in(seed: int) -> None:
    rng = random.Random(2000 + seed)
    profiles = [random_profile(rng, f"x{i:02d}") for i in range(50)]
    shuffled = profiles[:]
    rng.shuffle(shuffled)
    for _ in range(10):
        query = random_query(rng)
        assert summary(rank(profiles, query, 20)) == summary(rank(shuffled, query, 20))


@pytest.mark.parametrize("seed", range(10))
def test_results_are_sorted_by_score_then_profile_id_and_scores_add_up(seed: int) -> None:
    rng = random.Random(3000 + seed)
    index = ProfileIndex(random_profile(rng, f"s{i:02d}") for i in range(70))
    for _ in range(10):
        matches = index.rank(random_query(rng), limit=30)
        keys = [(-m.score, m.profile_id) for m in matches]
        assert keys == sorted(keys)
        for match in matches:
            assert match.score == sum(points for _, points in match.breakdown)


def test_a_larger_random_directory_still_agrees_with_the_reference() -> None:
    rng = random.Random(99)
    profiles = [random_profile(rng, f"big{i:05d}") for i in range(3000)]
    index = ProfileIndex(profiles)
    for _ in range(25):
        query = random_query(rng)
        assert summary(index.rank(query, 10)) == summary(rank_bruteforce(profiles, query, 10))


# --- Must-haves -------------------------------------------------------------------------------


def test_a_therapist_with_no_open_slots_is_not_available() -> None:
    busy = make_profile("busy", open_slots=())
    free = make_profile("free")
    assert [m.profile_id for m in rank([busy, free], Query())] == ["free"]
    relaxed = rank([busy, free], Query(require_openings=False))
    assert [m.profile_id for m in relaxed] == ["free", "busy"]


def test_a_therapist_not_accepting_new_clients_is_left_out_by_default() -> None:
    closed = make_profile("closed", accepting_new=False)
    assert rank([closed], Query()) == []


def test_a_fee_over_budget_is_excluded_unless_a_sliding_scale_was_asked_for() -> None:
    pricey = make_profile("pricey", fee=150, sliding_scale=True, sliding_scale_min_fee=60)
    assert rank([pricey], Query(max_budget=100)) == []
    (match,) = rank([pricey], Query(max_budget=100, sliding_scale=True))
    assert "sliding scale from $60" in match.reasons


def test_a_sliding_scale_starting_above_the_budget_does_not_help() -> None:
    pricey = make_profile("pricey", fee=150, sliding_scale=True, sliding_scale_min_fee=110)
    assert rank([pricey], Query(max_budget=100, sliding_scale=True)) == []


def test_a_fee_within_budget_passes_and_says_so() -> None:
    (match,) = rank([make_profile("ok", fee=90)], Query(max_budget=90))
    assert "fee of $90 is within your budget" in match.reasons


def test_asking_for_a_sliding_scale_without_a_budget_requires_one() -> None:
    plain = make_profile("plain")
    sliding = make_profile("sliding", sliding_scale=True, sliding_scale_min_fee=40)
    assert [m.profile_id for m in rank([plain, sliding], Query(sliding_scale=True))] == ["sliding"]


def test_language_and_insurance_are_matched_without_regard_to_case_or_spacing() -> None:
    profile = make_profile("p", languages=("Spanish",), insurance=("Blue  Shield",))
    (match,) = rank([profile], Query(language="spanish", insurance="blue shield"))
    assert "works in Spanish" in match.reasons
    assert "accepts Blue  Shield" in match.reasons
    assert rank([profile], Query(language="French")) == []
    assert rank([profile], Query(insurance="Aetna")) == []


def test_telehealth_only_excludes_in_person_only_therapists() -> None:
    office = make_profile("office", telehealth=False, in_person_location="Leeds")
    video = make_profile("video")
    assert [m.profile_id for m in rank([office, video], Query(setting="telehealth"))] == ["video"]


def test_in_person_at_a_location_needs_that_location() -> None:
    leeds = make_profile("leeds", telehealth=False, in_person_location="Leeds")
    york = make_profile("york", telehealth=False, in_person_location="York")
    video = make_profile("video")
    query = Query(setting="in_person", location="leeds")
    assert [m.profile_id for m in rank([leeds, york, video], query)] == ["leeds"]
    anywhere = Query(setting="in_person")
    assert [m.profile_id for m in rank([leeds, york, video], anywhere)] == ["leeds", "york"]


def test_either_setting_with_a_location_accepts_video_or_that_place() -> None:
    leeds = make_profile("leeds", telehealth=False, in_person_location="Leeds")
    york = make_profile("york", telehealth=False, in_person_location="York")
    video = make_profile("video")
    query = Query(location="Leeds")
    assert [m.profile_id for m in rank([leeds, york, video], query)] == ["leeds", "video"]


def test_a_required_modality_excludes_therapists_without_it() -> None:
    cbt = make_profile("cbt", modalities=("cbt",))
    analyst = make_profile("analyst", modalities=("psychoanalysis", "other"))
    query = Query(modalities=frozenset({"psychoanalysis"}))
    assert [m.profile_id for m in rank([cbt, analyst], query)] == ["analyst"]


def test_failed_must_haves_give_no_results_rather_than_near_misses() -> None:
    profiles = [make_profile(f"p{i}", fee=120 + i) for i in range(5)]
    index = ProfileIndex(profiles)
    query = Query(max_budget=100, language="English")
    assert index.rank(query) == []
    assert index.explain_filters(query) == [
        ("taking new clients with open times", 5),
        ("works in English", 5),
        ("fee up to $100", 0),
    ]


def test_the_limit_caps_the_number_of_results() -> None:
    profiles = [make_profile(f"p{i:02d}") for i in range(30)]
    assert len(rank(profiles, Query(), limit=7)) == 7
    assert len(rank(profiles, Query(), limit=100)) == 30


def test_an_empty_directory_gives_no_results() -> None:
    assert rank([], Query()) == []
    assert ProfileIndex([]).explain_filters(Query(language="English")) == [
        ("taking new clients with open times", 0),
        ("works in English", 0),
    ]


# --- Scoring and reasons ----------------------------------------------------------------------


def test_matching_concerns_and_the_right_modality_rank_first_with_reasons() -> None:
    close = make_profile(
        "z-close", concerns=("relationships", "attachment"), modalities=("psychodynamic",)
    )
    far = make_profile("a-far", concerns=("eating",), modalities=("cbt",))
    query = Query(
        concerns=frozenset({"relationships", "attachment"}), modality_leaning="psychodynamic"
    )
    first, second = rank([far, close], query)
    assert first.profile_id == "z-close"
    assert first.breakdown == (("concerns", 6), ("modality", 4), ("availability", 1))
    assert first.reasons[:2] == (
        "works with relationship difficulties and attachment difficulties",
        "practises psychodynamic therapy",
    )
    assert second.breakdown == (("availability", 1),)


def test_a_structured_leaning_prefers_cbt() -> None:
    cbt = make_profile("b", modalities=("cbt",))
    dynamic = make_profile("a", modalities=("psychodynamic",))
    ranked = rank([cbt, dynamic], Query(modality_leaning="structured"))
    assert [m.profile_id for m in ranked] == ["b", "a"]
    assert "practises CBT" in ranked[0].reasons


@pytest.mark.parametrize(("hour", "is_evening"), [(16, False), (17, True), (23, True)])
def test_evening_means_five_pm_or_later(hour: int, is_evening: bool) -> None:
    profile = make_profile("p", open_slots=((2, hour),))
    (match,) = rank([profile], Query(time_windows=frozenset({"evening"})))
    assert (("time", 2) in match.breakdown) is is_evening
    assert ("offers evening telehealth" in match.reasons) is is_evening


def test_weekday_preferences_name_the_matching_days() -> None:
    profile = make_profile(
        "p",
        telehealth=False,
        in_person_location="York",
        open_slots=((1, 18), (3, 19), (5, 9)),
    )
    query = Query(time_windows=frozenset({"evening"}), weekdays=frozenset({1, 3, 4}))
    (match,) = rank([profile], query)
    assert "offers evening sessions in York on Tuesday or Thursday" in match.reasons


def test_more_than_weekly_sessions_favour_openings_on_several_days() -> None:
    one_day = make_profile("a", open_slots=((0, 9), (0, 10)))
    two_days = make_profile("b", open_slots=((0, 9), (2, 9)))
    ranked = rank([one_day, two_days], Query(multiple_days=True))
    assert [m.profile_id for m in ranked] == ["b", "a"]
    assert ranked[0].breakdown == (("days", 1), ("availability", 1))
    assert "has openings on 2 different days, enough to come more often" in ranked[0].reasons


def test_equal_scores_are_ordered_by_profile_id() -> None:
    profiles = [make_profile(pid) for pid in ("m", "c", "x", "a")]
    assert [m.profile_id for m in rank(profiles, Query())] == ["a", "c", "m", "x"]


def test_there_is_no_profile_field_that_could_buy_a_higher_place() -> None:
    fields = {f.name for f in dataclasses.fields(Profile)}
    assert fields == {
        "id",
        "name",
        "modalities",
        "concerns",
        "languages",
        "fee",
        "sliding_scale",
        "sliding_scale_min_fee",
        "insurance",
        "telehealth",
        "in_person_location",
        "open_slots",
        "accepting_new",
    }


def test_the_fee_itself_never_changes_the_order() -> None:
    cheap = make_profile("b", fee=40)
    dear = make_profile("a", fee=300)
    assert [m.profile_id for m in rank([cheap, dear], Query())] == ["a", "b"]


# --- From the self-check to a query -----------------------------------------------------------


def test_self_check_preferences_become_must_haves_and_soft_preferences() -> None:
    result = evaluate(
        {
            "roots": "understand",
            "talking": "talking",
            "concerns": ["grief"],
            "language": "English",
            "budget": 80,
            "sliding_scale": "yes",
            "insurance": "Aetna",
            "setting": "telehealth",
            "frequency": "more_than_weekly",
            "wellbeing": "no",
        }
    )
    query = query_from_preferences(
        result.preferences, location="Leeds", time_windows=["evening"], weekdays=[0]
    )
    assert query == Query(
        language="English",
        max_budget=80,
        sliding_scale=True,
        insurance="Aetna",
        setting="telehealth",
        location=None,
        concerns=frozenset({"grief"}),
        modality_leaning="psychodynamic",
        time_windows=frozenset({"evening"}),
        weekdays=frozenset({0}),
        multiple_days=True,
    )


def test_a_mixed_self_check_gives_no_modality_preference() -> None:
    preferences = evaluate({"setting": "in_person", "wellbeing": "no"}).preferences
    query = query_from_preferences(preferences, location="York")
    assert query.modality_leaning is None
    assert (query.setting, query.location) == ("in_person", "York")
    assert query.modalities == frozenset()


# --- Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fee": -5}, "fee must be a whole number"),
        ({"fee": 99.5}, "fee must be a whole number"),
        ({"concerns": ("boredom",)}, "unknown profile 'p' concern: boredom"),
        ({"modalities": ("reiki",)}, "unknown profile 'p' modality: reiki"),
        ({"languages": ()}, "at least one language"),
        ({"languages": "English"}, "languages must be a tuple"),
        ({"sliding_scale": True}, "sliding scale needs sliding_scale_min_fee"),
        ({"sliding_scale": True, "sliding_scale_min_fee": 150}, "sliding scale needs"),
        ({"sliding_scale_min_fee": 50}, "sliding_scale is off"),
        ({"open_slots": ((7, 10),)}, "bad open slot"),
        ({"open_slots": ((1, 24),)}, "bad open slot"),
        ({"telehealth": "yes"}, "telehealth must be True or False"),
        ({"in_person_location": "  "}, "in_person_location"),
    ],
)
def test_an_invalid_profile_is_rejected_with_a_clear_message(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_profile("p", **overrides)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"setting": "telehealth", "location": "Leeds"}, "telehealth only"),
        ({"setting": "online"}, "setting 'online'"),
        ({"max_budget": -1}, "max_budget"),
        ({"time_windows": frozenset({"night"})}, "unknown query time window: night"),
        ({"weekdays": frozenset({7})}, "weekday 7"),
        ({"concerns": frozenset({"boredom"})}, "unknown query concern"),
        ({"modality_leaning": "cbt"}, "modality_leaning 'cbt'"),
        ({"language": ""}, "language"),
        ({"concerns": "anxiety"}, "concerns must be a set"),
    ],
)
def test_an_invalid_query_is_rejected_with_a_clear_message(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Query(**kwargs)


@pytest.mark.parametrize("limit", [0, -3, True, 2.5])
def test_a_limit_below_one_or_not_a_whole_number_is_rejected(limit: Any) -> None:
    with pytest.raises(ValueError, match="limit"):
        rank([make_profile("p")], Query(), limit=limit)
    with pytest.raises(ValueError, match="limit"):
        rank_bruteforce([make_profile("p")], Query(), limit=limit)


def test_duplicate_profile_ids_are_rejected() -> None:
    twins = [make_profile("same"), make_profile("same")]
    with pytest.raises(ValueError, match="duplicate profile id 'same'"):
        ProfileIndex(twins)
    with pytest.raises(ValueError, match="duplicate profile id 'same'"):
        rank_bruteforce(twins, Query())


def test_something_that_is_not_a_query_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected a Query"):
        rank([make_profile("p")], {"language": "English"})  # type: ignore[arg-type]
