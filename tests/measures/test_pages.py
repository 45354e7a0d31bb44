"""The measurement pages: portal, one-time links, paper entry, schedule, results, instruments."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from measures.conftest import form_data, mean_scored_instrument, phq9_answers
from reverie.audit import trail
from reverie.audit.models import AuditEntry
from reverie.care.models import Alert
from reverie.measures import actions
from reverie.measures.models import Administration, Draft, Instrument, MeasureRequest
from reverie.testing import World

DATA = Path(__file__).parent / "data"


def _last_audit(n: int = 1) -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("-seq")[:n])[::-1]


def test_client_sees_waiting_questionnaires_and_the_read_is_audited(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    page = as_user("client").get(reverse("measures:portal"))
    assert page.status_code == 200
    assert "Patient Health Questionnaire-9" in page.content.decode()
    (entry,) = _last_audit()
    assert (entry.action, entry.client_id, entry.detail["requests"]) == (
        "list",
        world.client.pk,
        [request.pk],
    )


def test_the_questionnaire_page_offers_every_item_with_large_radio_options(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    page = as_user("client").get(reverse("measures:answer", args=[request.pk])).content.decode()
    assert page.count('type="radio"') == 40
    assert "Over the last 2 weeks" in page and 'data-critical-threshold="1"' in page
    assert 'id="crisis-card"' in page and 'role="alert"' in page
    assert re.search(r'<section class="crisis-card"[^>]* hidden>', page)
    assert "measures/portal.js" in page
    (entry,) = _last_audit()
    assert (entry.action, entry.object_id, entry.detail) == (
        "view",
        str(request.pk),
        {"view": "questionnaire"},
    )


def test_submitting_in_the_portal_stores_one_administration_and_thanks_the_client(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    http = as_user("client")
    data = form_data(phq9_answers(1, 1, 1), action="submit", key="a" * 32)
    response = http.post(reverse("measures:answer", args=[request.pk]), data)
    assert response.status_code == 302 and response["Location"] == reverse(
        "measures:done", args=[request.pk]
    )
    # A double tap posts the same form again: the same administration, nothing new.
    again = http.post(reverse("measures:answer", args=[request.pk]), data)
    assert Administration.objects.filter(request=request).count() == 1
    assert again.status_code == 200 and "Thank you" in again.content.decode()
    done = http.get(response["Location"]).content.decode()
    assert "Thank you" in done and not re.search(r'class="crisis-card"[^>]*>(?![^<]*hidden)', "")
    assert re.search(r'<section class="crisis-card"[^>]* hidden>', done)
    row = Administration.objects.get(request=request)
    assert (row.source, row.total) == ("portal", 3)


def test_a_refused_form_names_each_question_keeps_the_answers_and_stores_nothing(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    before = (Administration.objects.count(), Draft.objects.count())
    data = {"item-phq9-1": "2", "item-phq9-2": "9", "action": "submit", "key": "b" * 32}
    response = as_user("client").post(reverse("measures:answer", args=[request.pk]), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Question 2: that answer is not one of the choices." in page
    for n in range(3, 10):
        assert f"Question {n} has no answer yet" in page
    assert 'value="2" checked' in page
    assert "Nothing has been stored yet." in page
    assert (Administration.objects.count(), Draft.objects.count()) == before


def test_an_instrument_whose_total_cannot_be_stored_is_refused_in_its_own_words(
    world: World, as_user, make_request
) -> None:
    # submit() refuses a fractional total before storing anything. The request is still
    # open, so the page must say why, not that the questionnaire is closed; and with nothing
    # stored there is no alert, so no crisis card promising that the therapist will see it.
    world.practice.crisis_info = "Call or text 988 now."
    world.practice.save(update_fields=["crisis_info"])
    request = make_request(mean_scored_instrument(world).code)
    http = as_user("client")
    url = reverse("measures:answer", args=[request.pk])
    assert http.get(url).status_code == 200
    data = {"item-q1": "2", "item-q2": "1", "item-q3": "1", "action": "submit", "key": "f" * 32}
    response = http.post(url, data)
    page = response.content.decode()
    assert response.status_code == 409 and "Your answers were not sent" in page
    assert (
        "SessionCheckinFixture can score fractions; Reverie stores totals as whole numbers "
        "only, so nothing was stored." in page
    )
    assert "This questionnaire is closed" not in page and "has passed" not in page
    assert "crisis-card" not in page and "One of your answers" not in page
    assert "Thank you" not in page
    assert "If you need help now" in page and 'href="tel:988"' in page
    assert not Administration.objects.filter(request=request).exists()
    assert not Draft.objects.filter(request=request).exists()
    assert not Alert.objects.filter(kind="crisis", client=world.client).exists()
    request.refresh_from_db()
    assert request.status == "open"


def test_crisis_answer_in_the_portal_shows_the_crisis_card_and_alerts_the_therapist(
    world: World, as_user, make_request, django_capture_on_commit_callbacks
) -> None:
    world.practice.crisis_info = "Call or text 988 now.\n\nIn danger: call 911."
    world.practice.save(update_fields=["crisis_info"])
    request = make_request()
    mail.outbox.clear()
    http = as_user("client")
    data = form_data(phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 1), action="submit", key="c" * 32)
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(reverse("measures:answer", args=[request.pk]), data, follow=True)
    page = response.content.decode()
    assert re.search(r'<section class="crisis-card"[^>]*tabindex="-1">', page)
    assert '<a class="tel" href="tel:988">988</a>' in page
    assert '<a class="tel" href="tel:911">911</a>' in page
    alert = Alert.objects.get(kind="crisis", client=world.client)
    assert alert.episode == world.episode
    assert [m.to for m in mail.outbox] == [[world.therapist.email]]


def test_saving_without_script_keeps_a_draft_that_comes_back(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    http = as_user("client")
    data = {"item-phq9-1": "2", "item-phq9-4": "1", "action": "save", "key": "d" * 32}
    response = http.post(reverse("measures:answer", args=[request.pk]), data)
    assert response.status_code == 302
    draft = Draft.objects.get(request=request)
    assert draft.answers == {"phq9-1": 2, "phq9-4": 1} and draft.key == "d" * 32
    page = http.get(reverse("measures:answer", args=[request.pk])).content.decode()
    assert (
        len(re.findall(r"value=\"\d\" checked", page)) == 2 and 'value="' + "d" * 32 + '"' in page
    )


def test_background_save_answers_json_and_flags_a_crisis(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    http = as_user("client")
    url = reverse("measures:save", args=[request.pk])
    ok = http.post(url, {"item-phq9-1": "1", "key": "e" * 32})
    assert ok.status_code == 200 and ok.json()["crisis"] is False
    crisis = http.post(url, {"item-phq9-1": "1", "item-phq9-9": "2", "key": "e" * 32})
    assert crisis.json()["crisis"] is True and crisis.json()["key"] == "e" * 32
    bad = http.post(url, {"item-phq9-1": "7"})
    assert bad.status_code == 400 and "phq9-1" in bad.json()["errors"]


def test_another_client_and_staff_cannot_open_someone_elses_questionnaire(
    world: World, as_user, make_request
) -> None:
    request = make_request()
    url = reverse("measures:answer", args=[request.pk])
    assert as_user("other_client").get(url).status_code == 404
    assert as_user("therapist").get(url).status_code == 403
    assert as_user("other_client").post(url, form_data(phq9_answers())).status_code == 404
    assert not Administration.objects.filter(request=request).exists()


def _emailed_link(world: World, request: MeasureRequest) -> str:
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the outbox sends after commit
        actions.send_link(trail.Context(user=world.therapist), request)
    return re.search(r"(/m/[\w-]+/)", mail.outbox[0].body).group(1)  # type: ignore[union-attr]


def test_a_one_time_link_works_without_an_account_until_it_is_used(
    world: World, make_request
) -> None:
    request = make_request()
    path = _emailed_link(world, request)
    anonymous = HttpClient()
    page = anonymous.get(path)
    assert page.status_code == 200 and "Send my answers" in page.content.decode()
    entry = _last_audit()[0]
    assert (entry.actor_id, entry.actor_label, entry.client_id) == (
        None,
        f"one-time link to request {request.pk}",
        world.client.pk,
    )
    response = anonymous.post(path, form_data(phq9_answers(2), action="submit", key="f" * 32))
    assert response.status_code == 302
    row = Administration.objects.get(request=request)
    assert (row.source, row.total, row.entered_by) == ("link", 2, None)
    after = anonymous.get(path).content.decode()
    assert "Thank you" in after and "Send my answers" not in after


def test_a_used_link_shows_neither_the_answers_nor_the_crisis_state(
    world: World, make_request
) -> None:
    """Anyone who can read the client's inbox can open the emailed link. After a crisis
    answer it must not tell them so: the page is neutral, with crisis resources for
    whoever is reading, and only the browser that just submitted sees its thank-you."""
    world.practice.crisis_info = "Call or text 988 now."
    world.practice.save(update_fields=["crisis_info"])
    request = make_request()
    path = _emailed_link(world, request)
    submitter = HttpClient()
    answers = phq9_answers(3, 3, 2, 2, 1, 1, 0, 0, 2)
    response = submitter.post(path, form_data(answers, action="submit", key="e" * 32))
    assert response.status_code == 302 and Administration.objects.get(request=request).has_critical
    thanks = submitter.get(path).content.decode()  # once, right after submitting
    assert "Thank you" in thanks and re.search(r'<section class="crisis-card"[^>]*tabindex', thanks)
    for reader in (HttpClient(), submitter):  # someone else; the submitter coming back later
        response = reader.get(path)
        page = response.content.decode()
        assert response.status_code == 410 and "This link is closed" in page
        assert "crisis-card" not in page and "One of your answers" not in page
        assert "Thank you" not in page and "Your answers" not in page
        assert "Patient Health" not in page and "PHQ" not in page
        assert 'value="3"' not in page and "checked" not in page
        assert "If you need help now" in page and 'href="tel:988"' in page
    # A replayed submission through the used link learns nothing either.
    replay = HttpClient().post(path, form_data(answers, action="submit", key="e" * 32))
    assert replay.status_code == 410 and "crisis-card" not in replay.content.decode()


def test_an_expired_link_says_so_and_an_unknown_one_is_not_found(
    world: World, make_request
) -> None:
    request = make_request()
    path = _emailed_link(world, request)
    MeasureRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = HttpClient().get(path)
    page = response.content.decode()
    assert response.status_code == 410 and "This link is closed" in page
    assert "If you need help now" in page and 'href="tel:988"' in page  # crisis resources
    post = HttpClient().post(path, form_data(phq9_answers(), action="submit"))
    assert post.status_code == 410 and not Administration.objects.filter(request=request).exists()
    assert HttpClient().get("/m/not-a-real-token/").status_code == 404


def test_therapist_enters_a_paper_form_and_the_record_says_so(world: World, as_user) -> None:
    http = as_user("therapist")
    url = reverse("measures:paper", args=[world.client.pk])
    assert "Patient Health Questionnaire-9" in http.get(url).content.decode()
    form = http.get(url + "?instrument=phq-9").content.decode()
    key = re.search(r'name="key" value="(\w+)"', form).group(1)  # type: ignore[union-attr]
    day = timezone.localdate() - datetime.timedelta(days=3)
    data = form_data(
        phq9_answers(2, 2, 2, 2, 2),
        instrument="phq-9",
        key=key,
        episode=str(world.episode.pk),
        timepoint="session",
        completed_on=day.isoformat(),
    )
    response = http.post(url, data)
    row = Administration.objects.get(source="paper")
    assert response.status_code == 302
    assert response["Location"] == reverse("measures:administration", args=[row.pk])
    assert (row.entered_by, row.total, row.completed_at.date()) == (world.therapist, 10, day)
    http.post(url, data)  # pressed twice
    assert Administration.objects.filter(source="paper").count() == 1
    detail = http.get(response["Location"]).content.decode()
    assert "Paper form, entered by Theo Therapist" in detail


def test_a_paper_form_with_a_future_date_or_missing_answers_is_refused(
    world: World, as_user
) -> None:
    url = reverse("measures:paper", args=[world.client.pk])
    data = form_data(
        {"phq9-1": 1},
        instrument="phq-9",
        key="g" * 32,
        episode=str(world.episode.pk),
        timepoint="session",
        completed_on=(timezone.localdate() + datetime.timedelta(days=1)).isoformat(),
    )
    response = as_user("therapist").post(url, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The date is in the future." in page and "Question 9 has no answer yet" in page
    assert not Administration.objects.filter(source="paper").exists()


def test_client_measures_page_lists_results_and_is_audited(world: World, as_user) -> None:
    page = as_user("therapist").get(reverse("measures:client", args=[world.client.pk]))
    assert page.status_code == 200
    ids = list(Administration.objects.filter(client=world.client).values_list("pk", flat=True))
    (entry,) = _last_audit()
    assert (entry.action, entry.client_id) == ("list", world.client.pk)
    assert sorted(entry.detail["administrations"]) == sorted(ids)
    assert (
        as_user("colleague").get(reverse("measures:client", args=[world.client.pk])).status_code
        == 404
    )


def test_result_detail_shows_each_answer_and_is_audited(world: World, as_user) -> None:
    result = actions.submit(
        trail.Context(user=world.client_user),
        client=world.client,
        instrument=Instrument.objects.get(code="phq-9"),
        answers=phq9_answers(3, difficulty=2),
        source="portal",
    )
    url = reverse("measures:administration", args=[result.administration.pk])
    page = as_user("therapist").get(url).content.decode()
    assert "Nearly every day" in page and "Very difficult" in page
    (entry,) = _last_audit()
    assert (entry.action, entry.object_id, entry.detail) == (
        "view",
        str(result.administration.pk),
        {"view": "detail"},
    )
    assert as_user("stranger").get(url).status_code == 404


def test_therapist_changes_the_schedule_on_its_page(world: World, as_user) -> None:
    http = as_user("therapist")
    url = reverse("measures:schedule", args=[world.episode.pk])
    page = http.get(url).content.decode()
    # One row per instrument the practice sees (five ticks each); CORE-10, CORE-OM and SPARQ
    # are opt-in.
    assert page.count('type="checkbox"') == Instrument.objects.count() * 5 == 5 * 5
    # The SPARQ rates the session, so its tick says it is asked after every session.
    assert page.count("Before every session</label>") == 4
    assert page.count("After every session</label>") == 1
    response = http.post(url, {"before-phq-9": "on", "months-phq-9": ["3", "12"]})
    assert response.status_code == 302
    rows = {
        r.instrument.code: r for r in world.episode.measure_schedules.select_related("instrument")
    }
    assert (rows["phq-9"].before_sessions, rows["phq-9"].followup_months) == (True, [3, 12])
    assert (rows["gad-7"].before_sessions, rows["gad-7"].followup_months) == (False, [])
    bad = http.post(url, {"months-phq-9": ["2"]})
    assert bad.status_code == 400 and "Nothing was changed" in bad.content.decode()


def test_therapist_asks_for_a_questionnaire_and_a_link_is_emailed(
    world: World, as_user, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    gad7 = Instrument.objects.get(code="gad-7")
    http = as_user("therapist")
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            reverse("measures:ask", args=[world.client.pk]),
            {"instrument": gad7.pk, "episode": world.episode.pk, "timepoint": "session"},
        )
    assert response.status_code == 302
    request = MeasureRequest.objects.get(instrument=gad7, client=world.client)
    assert request.link_sent_at is not None and [m.to for m in mail.outbox] == [
        [world.client.email]
    ]


def test_admin_imports_an_sdc_questionnaire_that_then_scores_a_response(
    world: World, as_user
) -> None:
    raw = (DATA / "checkin-answeroption-weights.json").read_bytes()
    http = as_user("admin")
    refused = http.post(
        reverse("measures:import"),
        {
            "questionnaire": SimpleUploadedFile("q.json", raw, "application/json"),
            "licence_holder": "Example Clinic",
            "licence_terms": "Free to use.",
        },
    )
    assert refused.status_code == 400 and "licence allows" in refused.content.decode()
    assert not Instrument.objects.filter(practice=world.practice).exists()
    response = http.post(
        reverse("measures:import"),
        {
            "questionnaire": SimpleUploadedFile("q.json", raw, "application/json"),
            "licence_holder": "Example Clinic",
            "licence_terms": "Free to use.",
            "permits_electronic_use": "on",
        },
    )
    assert response.status_code == 302
    instrument = Instrument.objects.get(practice=world.practice)
    assert instrument.code.startswith("harbour-")
    entry = AuditEntry.objects.filter(action="import").get()
    assert (entry.object_id, entry.actor_id) == (str(instrument.pk), world.admin.pk)
    # The stranger's practice does not see it; the therapist does.
    assert (
        as_user("stranger").get(reverse("measures:instrument", args=[instrument.code])).status_code
        == 404
    )
    assert (
        as_user("therapist").get(reverse("measures:instrument", args=[instrument.code])).status_code
        == 200
    )
    doc = json.loads(raw)
    item = doc["item"][0] if doc["item"][0]["type"] != "display" else doc["item"][1]
    assert item["linkId"] in instrument.definition["items"][0]["id"]


def test_sparq_results_show_both_scales_and_chart_on_the_trajectory(world: World, as_user) -> None:
    sparq = Instrument.objects.get(code="sparq")
    ctx = trail.Context(user=world.client_user)
    first = {f"sparq-{n}": v for n, v in zip(range(1, 9), [2, 3, 2, 2, 1, 2, 3, 2], strict=True)}
    later = {f"sparq-{n}": v for n, v in zip(range(1, 9), [4, 0, 1, 0, 0, 4, 4, 3], strict=True)}
    rows = [
        actions.submit(ctx, client=world.client, instrument=sparq, answers=a, source="portal")
        for a in (first, later)
    ]
    # Positive affect is the total; Negative affect is kept beside it.
    assert [r.administration.total for r in rows] == [9, 15]
    assert rows[0].administration.result["subscales"] == {
        "positive-affect": 9,
        "negative-affect": 8,
    }
    detail = as_user("therapist").get(
        reverse("measures:administration", args=[rows[1].administration.pk])
    )
    page = detail.content.decode()
    assert detail.status_code == 200 and "Negative affect" in page and "Very Much" in page
    # Both the client's questionnaires page and the outcomes chart page render it.
    scheduling_ctx = trail.Context(user=world.therapist)
    actions.set_schedule(scheduling_ctx, world.episode, [(sparq, True, [])])
    listing = as_user("therapist").get(reverse("measures:client", args=[world.client.pk]))
    text = listing.content.decode()
    assert listing.status_code == 200 and sparq.name in text
    assert f"{sparq.name}: after every session" in text
    chart = as_user("therapist").get(reverse("outcomes:trajectory", args=[world.client.pk]))
    assert chart.status_code == 200 and "SPARQ" in chart.content.decode()
    # A form with a Negative affect item left out is refused, naming the question.
    gap = dict(first, **{"sparq-4": None})
    with pytest.raises(actions.AnswerProblems) as caught:
        actions.submit(ctx, client=world.client, instrument=sparq, answers=gap, source="portal")
    assert list(caught.value.problems) == ["sparq-4"]


def test_coreom_domain_scores_show_on_the_questionnaire_page(world: World, as_user) -> None:
    coreom = Instrument.objects.get(code="core-om")
    ctx = trail.Context(user=world.client_user)
    reversed_items = {3, 4, 7, 12, 19, 21, 31, 32}
    # Every item weighs 10 (reversed at 'Often', the rest at 'Only occasionally'), except
    # functioning item 1 at 'Often' (30): total 360 / 34 = 10.6 -> 11; functioning 140 / 12
    # = 11.7 -> 12; the other domains 10.
    answers: dict[str, int | None] = {
        f"coreom-{n}": (3 if n in reversed_items else 1) for n in range(1, 35)
    }
    answers["coreom-1"] = 3
    row = actions.submit(
        ctx, client=world.client, instrument=coreom, answers=answers, source="portal"
    ).administration
    assert row.total == 11
    assert row.result["subscales"] == {
        "wellbeing": 10,
        "problems": 10,
        "functioning": 12,
        "risk": 10,
        "non-risk": 11,
    }
    page = as_user("therapist").get(reverse("measures:administration", args=[row.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "Life functioning" in text and "Only occasionally" in text
    chart = as_user("therapist").get(reverse("outcomes:trajectory", args=[world.client.pk]))
    assert chart.status_code == 200 and "CORE-OM" in chart.content.decode()
