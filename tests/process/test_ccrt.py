"""The relationship-episode (CCRT) workbench: recording episodes, grouping formulations,
counting the CCRT and its pervasiveness, response valence, and licensed category sets."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from reverie.audit import trail
from reverie.care import actions as care_actions
from reverie.process import actions, ccrt, theme_runs
from reverie.process.categories import CategoryError, ParsedCategory, parse_category_file
from reverie.process.embeddings import HashingEmbedder
from reverie.process.models import (
    CategorySet,
    FormulationAssignment,
    FormulationGroup,
    RelationshipEpisode,
    StandardCategory,
)
from reverie.testing import World

DAY = dt.date(2025, 1, 6)


def _group(component: str, label: str) -> FormulationGroup:
    """The one group of ``component`` named ``label`` (sealed, so found in Python)."""
    (group,) = [g for g in FormulationGroup.objects.filter(component=component) if g.label == label]
    return group


# ------------------------------------------------------------------ counting (pure)


def test_ccrt_is_the_most_frequent_category_of_each_component_with_ties_kept() -> None:
    eps = [
        ccrt.ScoredEpisode(1, DAY, "close", "reject", "withdraw"),
        ccrt.ScoredEpisode(2, DAY, "close", "control", "withdraw"),
        ccrt.ScoredEpisode(3, DAY, "assert", "reject", "angry"),
        ccrt.ScoredEpisode(4, DAY, "assert", "control", None, transference=True),
    ]
    result = ccrt.ccrt(eps)
    assert [t.key for t in result.top["wish"]] == ["assert", "close"]  # a tie, both shown
    assert [t.key for t in result.top["rs"]] == ["withdraw"]
    assert result.top["rs"][0].pervasiveness == 0.5
    assert result.transference == 1
    assert result.categorised == {"wish": 4, "ro": 4, "rs": 3}


def test_pervasiveness_divides_by_all_episodes_of_the_period() -> None:
    eps = [ccrt.ScoredEpisode(i, DAY, wish="close" if i < 3 else None) for i in range(10)]
    (row,) = ccrt.component_counts(eps, "wish")
    assert (row.count, row.pervasiveness) == (3, 0.3)


def test_positive_share_leaves_out_neutral_and_unrated_responses() -> None:
    eps = [
        ccrt.ScoredEpisode(1, DAY, rs_valence="positive"),
        ccrt.ScoredEpisode(2, DAY, rs_valence="neutral"),
        ccrt.ScoredEpisode(3, DAY, rs_valence=""),
        ccrt.ScoredEpisode(4, DAY, rs_valence="negative"),
    ]
    assert ccrt.positive_share(eps, "rs") == (0.5, 2)
    assert ccrt.positive_share(eps[1:3], "rs") == (None, 0)
    with pytest.raises(ValueError, match="only responses"):
        ccrt.positive_share(eps, "wish")


def test_over_time_follows_the_core_theme_and_response_valence_by_period() -> None:
    eps = [
        ccrt.ScoredEpisode(1, dt.date(2024, 11, 2), "close", "reject", ro_valence="negative"),
        ccrt.ScoredEpisode(2, dt.date(2024, 12, 9), "close", "reject", ro_valence="negative"),
        ccrt.ScoredEpisode(3, dt.date(2025, 2, 1), "close", "warm", ro_valence="positive"),
        ccrt.ScoredEpisode(4, dt.date(2025, 3, 3), "other", "reject", ro_valence="positive"),
    ]
    rows = ccrt.over_time(eps, {"wish": "close", "ro": "reject", "rs": None}, "quarter")
    assert [(r.label, r.episodes) for r in rows] == [("Q4 2024", 2), ("Q1 2025", 2)]
    assert [r.pervasiveness["wish"] for r in rows] == [1.0, 0.5]
    assert [r.pervasiveness["ro"] for r in rows] == [1.0, 0.5]
    assert [r.pervasiveness["rs"] for r in rows] == [None, None]
    assert [r.positive["ro"] for r in rows] == [0.0, 1.0]
    assert [r.label for r in ccrt.over_time(eps, {}, "year")] == ["2024", "2025"]
    with pytest.raises(ValueError, match="unit must be one of"):
        ccrt.over_time(eps, {}, "week")


# ------------------------------------------------------------------ grouping (pure)


def test_normalised_grouping_joins_same_wording_only() -> None:
    items = [(1, "To be loved."), (2, "to be LOVED"), (3, "to be cherished"), (4, "in control")]
    suggestions = ccrt.suggest_groups(items, {"g": ["to be in control"]})
    assert [(s.members, s.existing, s.label) for s in suggestions] == [
        ((4,), "g", ""),
        ((1, 2), None, "To be loved."),
        ((3,), None, "to be cherished"),
    ]


def test_embedding_grouping_joins_similar_wording_and_names_groups_by_their_medoid() -> None:
    items = [
        (1, "wants her mother to notice her drawings"),
        (2, "wants her mother to notice her"),
        (3, "wants her boss to praise her work"),
        (4, "wants her boss to praise her"),
        (5, "wants to sleep"),
    ]
    out = ccrt.suggest_groups(items, {}, embedder=HashingEmbedder(), distance_threshold=0.6)
    groups = sorted(s.members for s in out)
    assert groups == [(1, 2), (3, 4), (5,)]
    assert all(s.existing is None for s in out)
    assert {s.label for s in out} <= {text for _, text in items}


def test_embedding_grouping_prefers_an_existing_group_when_close_enough() -> None:
    existing = {7: ["wants her mother to notice her", "wants her mother to notice her drawings"]}
    out = ccrt.suggest_groups(
        [(1, "wants her mother to notice her paintings")],
        existing,
        embedder=HashingEmbedder(),
        distance_threshold=0.6,
    )
    assert [(s.members, s.existing) for s in out] == [((1,), 7)]


def test_grouping_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="duplicate item key"):
        ccrt.suggest_groups([(1, "a"), (1, "b")])
    with pytest.raises(ValueError, match="no formulation"):
        ccrt.suggest_groups([(1, "  ")])
    with pytest.raises(ValueError, match="distance_threshold"):
        ccrt.suggest_groups([(1, "a")], distance_threshold=0)
    assert ccrt.suggest_groups([]) == []


# ------------------------------------------------------------------ category files (pure)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "a.csv", "the file is empty"),
        (b"label,component\nW,x\n", "a.csv", "line 1 must be the header"),
        (b"component,label\nW,x,y\n", "a.csv", "line 2: expected 2 columns, found 3"),
        (b"component,label\nW,\n", "a.csv", "line 2: the label is empty"),
        (b"component,label\nW,x\nw,X\n", "a.csv", "appears twice"),
        (b"component,label\n", "a.csv", "the file has no categories"),
        ("component,label\nW,é\n".encode("latin-1"), "a.csv", "must be UTF-8"),
        (b"{}", "a.json", "the JSON must be an object"),
        (b'{"W": "x"}', "a.json", "must be a list"),
        (b'{"Q": ["x"]}', "a.json", "the component must be W, RO or RS"),
        (b'{"W": [{"label": "x", "colour": "red"}]}', "a.json", "unknown keys colour"),
        (b"{not json", "a.json", "the JSON is not valid"),
        (b"component,label\nW,x\n", "a.xlsx", "upload a .csv or .json file"),
        (b"component,label\nW," + b"x" * 201 + b"\n", "a.csv", "longer than 200"),
    ],
)
def test_a_bad_category_file_is_refused_with_the_reason(
    content: bytes, name: str, message: str
) -> None:
    with pytest.raises(CategoryError, match=message):
        parse_category_file(content, name)


def test_category_files_accept_aliases_codes_and_a_byte_order_mark() -> None:
    csv = "\ufeffcomponent,label,code\nWish,To be close,1\nResponse of other,Rejecting,\n"
    assert parse_category_file(csv.encode(), "set.CSV") == [
        ParsedCategory("wish", "To be close", "1"),
        ParsedCategory("ro", "Rejecting", ""),
    ]


# ------------------------------------------------------------------ recording episodes


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "occurred_on": timezone.localdate().isoformat(),
        "source": "session",
        "appointment": "",
        "other_person": "parent",
        "other_person_note": "mother",
        "narrative": "Her mother looked at her phone while she talked about the exam.",
        "wish": "to be listened to",
        "response_of_other": "turns away",
        "ro_valence": "negative",
        "response_of_self": "gives up talking",
        "rs_valence": "negative",
    }
    data.update(overrides)
    return data


def test_therapist_records_an_episode_and_it_is_audited(
    world: World, as_user, proc, audit_mark
) -> None:
    session = proc.past_sessions()[-1]
    http = as_user("therapist")
    audit_mark()
    response = http.post(
        reverse("process:relationship_new", args=[world.client.pk]),
        _form(appointment=str(session.pk)),
    )
    assert response.status_code == 302
    episode = RelationshipEpisode.objects.get()
    assert (episode.appointment, episode.author, episode.is_transference) == (
        session,
        world.therapist,
        False,
    )
    assert audit_mark() == [
        (
            world.therapist.email,
            "create",
            "process.relationshipepisode",
            str(episode.pk),
            world.client.pk,
            {
                "source": "session",
                "appointment": session.pk,
                "journal_entry": None,
                "transference": False,
            },
        )
    ]


def test_episodes_about_the_therapist_are_flagged_as_transference(world: World, as_user) -> None:
    http = as_user("therapist")
    response = http.post(
        reverse("process:relationship_new", args=[world.client.pk]),
        _form(other_person="therapist", other_person_note=""),
        follow=True,
    )
    assert "It is flagged as transference." in response.content.decode()
    episode = RelationshipEpisode.objects.get()
    assert episode.is_transference
    page = http.get(reverse("process:ccrt", args=[world.client.pk])).content.decode()
    assert "of which 1 about the therapist (transference)" in page
    assert '<span class="flag">Transference</span>' in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"narrative": ""}, "This field is required."),
        ({"occurred_on": "2999-01-01"}, "The date is in the future."),
        ({"other_person": "neighbour"}, "Select a valid choice"),
        ({"response_of_other": "", "ro_valence": "negative"}, "Describe the response first."),
        ({"source": "dream"}, "Select a valid choice"),
    ],
)
def test_bad_episode_input_is_refused_and_nothing_is_saved(
    world: World, as_user, change: dict[str, str], message: str
) -> None:
    response = as_user("therapist").post(
        reverse("process:relationship_new", args=[world.client.pk]), _form(**change)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RelationshipEpisode.objects.exists()


def test_a_session_of_another_client_is_not_offered_and_is_refused(world: World, as_user) -> None:
    from reverie.care.models import Appointment

    foreign = Appointment.objects.create(
        episode=world.other_episode, starts_at=timezone.now() - dt.timedelta(days=1)
    )
    response = as_user("therapist").post(
        reverse("process:relationship_new", args=[world.client.pk]),
        _form(appointment=str(foreign.pk)),
    )
    assert response.status_code == 400
    assert not RelationshipEpisode.objects.exists()


def test_a_shared_journal_entry_becomes_a_relationship_episode(world: World, as_user, proc) -> None:
    entry = proc.entry("My sister borrowed my coat and gave it back torn. I said it was fine.")
    http = as_user("therapist")
    url = reverse("process:relationship_new", args=[world.client.pk]) + f"?journal={entry.pk}"
    page = http.get(url).content.decode()
    assert "gave it back torn" in page and 'value="journal"' in page
    response = http.post(url, _form(source="journal", other_person="sibling", narrative=entry.text))
    assert response.status_code == 302
    episode = RelationshipEpisode.objects.get()
    assert (episode.journal_entry, episode.source) == (entry, "journal")
    shared = http.get(reverse("process:shared_entry", args=[entry.pk])).content.decode()
    assert reverse("process:relationship", args=[episode.pk]) in shared


def test_only_the_author_changes_an_episode(world: World, as_user, proc) -> None:
    care_actions.grant_access(
        trail.Context(user=world.admin), client=world.client, therapist=world.colleague, reason="x"
    )
    episode = proc.episode()
    colleague = as_user("colleague")
    page = colleague.get(reverse("process:relationship", args=[episode.pk]))
    assert page.status_code == 200 and "Only they can change it." in page.content.decode()
    response = colleague.post(
        reverse("process:relationship", args=[episode.pk]), _form(narrative="rewritten")
    )
    assert response.status_code == 400
    episode.refresh_from_db()
    assert episode.narrative != "rewritten"


def test_changing_a_formulation_removes_its_group(world: World, as_user, proc) -> None:
    episode = proc.episode(wish="to be remembered")
    ctx = trail.Context(user=world.therapist)
    actions.suggest_formulation_groups(ctx, client=world.client, embedder=None, method="test")
    assert FormulationAssignment.objects.filter(relationship_episode=episode).count() == 3
    actions.save_relationship_episode(
        ctx,
        client=world.client,
        episode=episode,
        fields={
            **{f: getattr(episode, f) for f in actions.EPISODE_FIELDS},
            "wish": "to be seen",
        },
    )
    assert set(
        FormulationAssignment.objects.filter(relationship_episode=episode).values_list(
            "component", flat=True
        )
    ) == {"ro", "rs"}
    assert not FormulationGroup.objects.filter(component="wish").exists()


# ------------------------------------------------------------------ grouping workbench


def _three_episodes(proc) -> list[RelationshipEpisode]:
    return [
        proc.episode(days_ago=60, wish="To be loved.", response_of_other="rejects her"),
        proc.episode(days_ago=30, wish="to be loved", response_of_other="Rejects her"),
        proc.episode(
            days_ago=1,
            wish="to be independent",
            response_of_other="supports her",
            ro_valence="positive",
        ),
    ]


def test_suggestions_group_identical_wording_and_count_only_once_confirmed(
    world: World, as_user, proc, audit_mark, no_model
) -> None:
    first, second, third = _three_episodes(proc)
    http = as_user("therapist")
    audit_mark()
    response = http.post(reverse("process:ccrt_suggest", args=[world.client.pk]), follow=True)
    text = response.content.decode()
    assert "grouped by identical wording only" in text and "pip install" in text
    loved = _group("wish", "To be loved.")
    assert set(loved.assignments.values_list("relationship_episode_id", "status")) == {
        (first.pk, "suggested"),
        (second.pk, "suggested"),
    }
    rows = audit_mark()
    assert rows[0][:5] == (
        world.therapist.email,
        "update",
        "process.formulationgroup",
        "",
        world.client.pk,
    )
    assert rows[0][5]["suggested"] == {
        "wish": [first.pk, second.pk, third.pk],
        "ro": [first.pk, second.pk, third.pk],
        "rs": [first.pk, second.pk, third.pk],
    }
    assert rows[0][5]["method"].startswith("suggested by identical wording")
    page = http.get(reverse("process:ccrt", args=[world.client.pk])).content.decode()
    assert "Not enough grouped formulations yet." in page
    assert "wait for you" in page

    independent = _group("wish", "to be independent")
    audit_mark()
    response = http.post(
        reverse("process:ccrt_groups", args=[world.client.pk]),
        {
            "component": "wish",
            f"g-{first.pk}": str(loved.pk),
            f"g-{second.pk}": str(loved.pk),
            f"g-{third.pk}": str(independent.pk),
            f"label-{loved.pk}": "to be loved",
            f"label-{independent.pk}": "to be independent",
        },
    )
    assert response.status_code == 302
    assert set(
        FormulationAssignment.objects.filter(component="wish").values_list("status", flat=True)
    ) == {"confirmed"}
    assert audit_mark() == [
        (
            world.therapist.email,
            "update",
            "process.formulationgroup",
            "",
            world.client.pk,
            {
                "component": "wish",
                "confirmed": [first.pk, second.pk, third.pk],
                "ungrouped": [],
                "renamed": [loved.pk],
                "created": [],
                "merged": {},
                "removed": [],
            },
        )
    ]
    page = http.get(reverse("process:ccrt", args=[world.client.pk])).content.decode()
    assert '<p class="big">to be loved</p>' in page
    assert "In 2 of 3 episodes (pervasiveness 0.67)" in page


def test_the_therapist_merges_moves_and_renames_groups(world: World, as_user, proc) -> None:
    first, second, third = _three_episodes(proc)
    ctx = trail.Context(user=world.therapist)
    actions.suggest_formulation_groups(ctx, client=world.client, embedder=None, method="test")
    groups = {g.label: g for g in FormulationGroup.objects.filter(component="ro")}
    rejects, supports = groups["rejects her"], groups["supports her"]
    response = as_user("therapist").post(
        reverse("process:ccrt_groups", args=[world.client.pk]),
        {
            "component": "ro",
            f"g-{first.pk}": str(rejects.pk),
            f"g-{second.pk}": "new",
            f"g-{third.pk}": str(supports.pk),
            f"label-{rejects.pk}": "rejects or dismisses her",
            f"label-{supports.pk}": "supports her",
            f"merge-{supports.pk}": str(rejects.pk),
        },
    )
    assert response.status_code == 302
    remaining = {g.label: g for g in FormulationGroup.objects.filter(component="ro")}
    assert set(remaining) == {"rejects or dismisses her", "Rejects her"}
    merged = remaining["rejects or dismisses her"]
    assert set(merged.assignments.values_list("relationship_episode_id", flat=True)) == {
        first.pk,
        third.pk,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"label": ""},
        {"assign": "999999"},
        {"merge_self": True},
        {"episode": "999999"},
        {"component": "xx"},
        {"assign": "abc"},
    ],
)
def test_a_bad_grouping_form_changes_nothing(world: World, as_user, proc, bad: dict) -> None:
    first, _second, _third = _three_episodes(proc)
    ctx = trail.Context(user=world.therapist)
    actions.suggest_formulation_groups(ctx, client=world.client, embedder=None, method="test")
    group = FormulationGroup.objects.filter(component="wish").first()
    assert group is not None
    data = {
        "component": bad.get("component", "wish"),
        f"g-{first.pk}": bad.get("assign", str(group.pk)),
        f"label-{group.pk}": bad.get("label", "fine"),
    }
    if bad.get("merge_self"):
        data[f"merge-{group.pk}"] = str(group.pk)
    if bad.get("episode"):
        data[f"g-{bad['episode']}"] = str(group.pk)
    before = sorted(
        FormulationAssignment.objects.values_list("relationship_episode_id", "component", "status")
    )
    labels = sorted(FormulationGroup.objects.values_list("label", flat=True))
    response = as_user("therapist").post(
        reverse("process:ccrt_groups", args=[world.client.pk]), data
    )
    assert response.status_code == 400
    assert (
        sorted(
            FormulationAssignment.objects.values_list(
                "relationship_episode_id", "component", "status"
            )
        )
        == before
    )
    assert sorted(FormulationGroup.objects.values_list("label", flat=True)) == labels


def test_a_group_of_another_client_cannot_be_used(world: World, as_user, proc) -> None:
    (first, *_rest) = _three_episodes(proc)
    foreign = FormulationGroup.objects.create(
        client=world.other_client, component="wish", label="theirs", created_by=world.colleague
    )
    response = as_user("therapist").post(
        reverse("process:ccrt_groups", args=[world.client.pk]),
        {"component": "wish", f"g-{first.pk}": str(foreign.pk)},
    )
    assert response.status_code == 400
    assert not FormulationAssignment.objects.exists()


def test_suggestions_use_the_sentence_model_when_it_is_there(
    world: World, as_user, proc, monkeypatch
) -> None:
    monkeypatch.setattr(theme_runs, "formulation_embedder", lambda: HashingEmbedder())
    proc.episode(wish="wants her mother to notice her drawings")
    proc.episode(wish="wants her mother to notice her")
    response = as_user("therapist").post(
        reverse("process:ccrt_suggest", args=[world.client.pk]), follow=True
    )
    assert "grouped by meaning" in response.content.decode()
    assert set(FormulationAssignment.objects.values_list("method", flat=True)) == {
        "suggested by the sentence model all-MiniLM-L6-v2"
    }


def test_ccrt_page_shows_valence_over_time(world: World, as_user, proc) -> None:
    # The first two episodes must share a calendar month whatever today is: fixed offsets
    # (200 and 190 days) straddled 1 June when run on 8 December.
    today = timezone.localdate()
    month_start = (today.replace(day=1) - dt.timedelta(days=170)).replace(day=1)
    early = (today - month_start).days
    episodes = [
        proc.episode(days_ago=early, ro_valence="negative", rs_valence="negative"),
        proc.episode(days_ago=early - 9, ro_valence="negative", rs_valence="neutral"),
        proc.episode(days_ago=2, ro_valence="positive", rs_valence="positive"),
    ]
    assert len(episodes) == 3
    page = (
        as_user("therapist")
        .get(reverse("process:ccrt", args=[world.client.pk]) + "?unit=month")
        .content.decode()
    )
    assert '0% <span class="muted small">of 2</span>' in page
    assert '100% <span class="muted small">of 1</span>' in page
    assert "positive responses of others 33% of 3" in page


def test_ccrt_reading_is_audited_with_episode_ids(world: World, as_user, proc, audit_mark) -> None:
    episodes = _three_episodes(proc)
    audit_mark()
    as_user("therapist").get(reverse("process:ccrt", args=[world.client.pk]))
    assert audit_mark() == [
        (
            world.therapist.email,
            "list",
            "process.relationshipepisode",
            "",
            world.client.pk,
            {"view": "ccrt", "relationship_episodes": [e.pk for e in episodes]},
        )
    ]


def test_ccrt_period_filter_narrows_the_episodes(world: World, as_user, proc) -> None:
    proc.episode(days_ago=100, narrative="Old one.", wish="old wish")
    proc.episode(days_ago=1, narrative="New one.", wish="new wish")
    since = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    page = (
        as_user("therapist")
        .get(reverse("process:ccrt", args=[world.client.pk]) + f"?start={since}")
        .content.decode()
    )
    assert "new wish" in page and "old wish" not in page
    bad = as_user("therapist").get(
        reverse("process:ccrt", args=[world.client.pk]) + "?start=2025-02-01&end=2025-01-01"
    )
    assert "The end is before the start." in bad.content.decode()


# ------------------------------------------------------------------ category sets


def _upload(content: bytes, name: str = "set.csv", **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Licensed CCRT set",
        "licence_note": "Licence 42 from the rights holder, 2025",
        "file": io.BytesIO(content),
        "confirm": "on",
    }
    data["file"].name = name  # type: ignore[attr-defined]
    data.update(overrides)
    return data


def test_an_admin_imports_a_licensed_category_set(world: World, as_user, audit_mark) -> None:
    admin = as_user("admin")
    audit_mark()
    response = admin.post(
        reverse("process:category_sets"),
        _upload(b"component,label,code\nW,To be close,A\nRO,Rejecting,B\nRS,Withdrawing,C\n"),
    )
    assert response.status_code == 302
    category_set = CategorySet.objects.get()
    assert list(
        category_set.categories.order_by("position").values_list("component", "label", "code")
    ) == [
        ("wish", "To be close", "A"),
        ("ro", "Rejecting", "B"),
        ("rs", "Withdrawing", "C"),
    ]
    assert audit_mark() == [
        (
            world.admin.email,
            "import",
            "process.categoryset",
            str(category_set.pk),
            None,
            {"categories": 3},
        )
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"confirm": ""}, "Confirm the practice holds a licence for this set."),
        ({"file": None}, "This field is required."),
        ({"content": b"component,label\nX,oops\n"}, "Line 2: the component must be W, RO or RS"),
    ],
)
def test_a_bad_import_changes_nothing(
    world: World, as_user, overrides: dict[str, object], message: str
) -> None:
    content = overrides.pop("content", b"component,label\nW,x\n")
    data = _upload(content)  # type: ignore[arg-type]
    for key, value in overrides.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    response = as_user("admin").post(reverse("process:category_sets"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CategorySet.objects.exists()


def test_therapists_map_groups_to_an_imported_category(world: World, as_user, proc) -> None:
    admin = trail.Context(user=world.admin)
    category_set = actions.import_category_set(
        admin,
        name="Licensed",
        licence_note="yes",
        categories=[ParsedCategory("wish", "To be loved and understood", "W1")],
    )
    category = StandardCategory.objects.get()
    first, second, _third = _three_episodes(proc)
    actions.suggest_formulation_groups(
        trail.Context(user=world.therapist), client=world.client, embedder=None, method="test"
    )
    loved = _group("wish", "To be loved.")
    http = as_user("therapist")
    groups_page = http.get(reverse("process:ccrt_groups", args=[world.client.pk])).content.decode()
    assert "W1 To be loved and understood (Licensed)" in groups_page
    http.post(
        reverse("process:ccrt_groups", args=[world.client.pk]),
        {
            "component": "wish",
            f"g-{first.pk}": str(loved.pk),
            f"g-{second.pk}": str(loved.pk),
            f"label-{loved.pk}": loved.label,
            f"std-{loved.pk}": str(category.pk),
        },
    )
    loved.refresh_from_db()
    assert loved.standard_category == category
    page = http.get(reverse("process:ccrt", args=[world.client.pk])).content.decode()
    assert "By the practice's standard categories" in page
    assert "W1 To be loved and understood" in page
    # A hidden set is no longer offered, and cannot be chosen.
    actions.set_category_set_active(admin, category_set, False)
    response = http.post(
        reverse("process:ccrt_groups", args=[world.client.pk]),
        {"component": "wish", f"std-{loved.pk}": str(category.pk)},
    )
    assert response.status_code == 400


def test_therapists_and_other_practices_cannot_import_or_toggle(world: World, as_user) -> None:
    from reverie.testing import sign_in

    assert (
        as_user("therapist")
        .post(reverse("process:category_sets"), _upload(b"component,label\nW,x\n"))
        .status_code
        == 403
    )
    category_set = actions.import_category_set(
        trail.Context(user=world.admin),
        name="Ours",
        licence_note="yes",
        categories=[ParsedCategory("wish", "x")],
    )
    from django.test import Client as HttpClient

    other_admin = sign_in(HttpClient(), world.stranger_admin)
    response = other_admin.post(
        reverse("process:category_set_toggle", args=[category_set.pk]), {"active": "0"}
    )
    assert response.status_code == 404
    assert "Ours" not in other_admin.get(reverse("process:category_sets")).content.decode()
    category_set.refresh_from_db()
    assert category_set.is_active


def test_an_episode_keeps_its_journal_link_after_the_client_stops_sharing(
    world: World, as_user, proc, audit_mark
) -> None:
    entry = proc.entry("My father did not call on my birthday.")
    episode = proc.episode(source="journal", journal_entry=entry, narrative=entry.text)
    actions.set_journal_sharing(trail.Context(user=world.client_user), entry, False)
    http = as_user("therapist")
    audit_mark()
    page = http.get(reverse("process:relationship", args=[episode.pk]))
    assert page.status_code == 200
    assert audit_mark() == [
        (
            world.therapist.email,
            "view",
            "process.relationshipepisode",
            str(episode.pk),
            world.client.pk,
            {},
        )
    ]
    response = http.post(
        reverse("process:relationship", args=[episode.pk]),
        _form(source="journal", narrative="My father forgot my birthday.", other_person="parent"),
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    assert (episode.narrative, episode.journal_entry) == ("My father forgot my birthday.", entry)
    # A new episode cannot be made from the entry now that it is private again.
    with pytest.raises(actions.ProcessActionError, match="not shared with you"):
        proc.episode(source="journal", journal_entry=entry)
