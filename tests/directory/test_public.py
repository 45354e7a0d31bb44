"""The public front door: self-check without scripts, the directory and its matches."""

from __future__ import annotations

import datetime as dt
import json
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reverie.accounts.models import Role
from reverie.audit.models import AuditEntry
from reverie.care.models import Appointment
from reverie.directory.models import ConsultationAttempt, ConsultationRequest, TherapistProfile
from reverie.directory.selfcheck import ITEMS
from reverie.testing import World, make_user

SELF_CHECK = {
    "roots": "understand",
    "talking": "talking",
    "scope": "big_picture",
    "pace": "gradual",
    "time_focus": "present",
    "frequency": "weekly",
    "budget": "160",
    "setting": "either",
    "concerns": ["relationships", "grief"],
    "wellbeing": "no",
}
WRITES = ("INSERT", "UPDATE", "DELETE")


def _result_card_hidden(html: str) -> bool:
    """Whether the result's crisis card (not the one in the <template>) is hidden."""
    live = html.split("<template", 1)[0]
    found = re.search(
        r'<aside class="crisis-card" aria-labelledby="crisis-result-h"( hidden)?', live
    )
    assert found, "the result has no crisis card"
    return bool(found.group(1))


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)
    ]


# --- the self-check ----------------------------------------------------------------------------


def test_self_check_page_carries_its_data_and_script(client, db) -> None:
    page = client.get(reverse("directory:selfcheck")).content.decode()
    assert 'id="selfcheck-data" type="application/json"' in page
    assert "directory/selfcheck.js" in page
    assert "Your answers stay on this device" in page
    groups = [i for i in ITEMS if i.kind in ("choice", "multi")]
    assert page.count("<fieldset") == len(groups)  # every group of choices has a legend


def test_without_scripts_the_server_explains_the_result_and_stores_nothing(
    public: World, client
) -> None:
    client.get(reverse("directory:selfcheck"))
    audit_before = AuditEntry.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("directory:selfcheck"), SELF_CHECK)
    assert response.status_code == 200
    assert _writes(queries) == []
    assert AuditEntry.objects.count() == audit_before
    text = response.content.decode()
    assert "Your answers lean towards psychodynamic therapy" in text
    assert "Answers that point towards psychodynamic therapy (4)" in text
    assert "Answers that point towards a structured approach such as CBT (1)" in text
    assert "On what is happening now and what to do next" in text
    assert "not a diagnosis" in text
    assert _result_card_hidden(text)


def test_a_risk_answer_shows_the_crisis_card_with_the_practice_text(public: World, client) -> None:
    public.practice.crisis_info = "Call the Harbour crisis line on 555 0100."
    public.practice.save(update_fields=["crisis_info"])
    response = client.post(reverse("directory:selfcheck"), {**SELF_CHECK, "wellbeing": "yes"})
    text = response.content.decode()
    assert "Call the Harbour crisis line on 555 0100." in text
    assert not _result_card_hidden(text)


def test_no_risk_answer_keeps_the_result_crisis_card_hidden(public: World, client) -> None:
    text = client.post(reverse("directory:selfcheck"), SELF_CHECK).content.decode()
    assert _result_card_hidden(text)


def test_the_wellbeing_question_must_be_answered(public: World, client) -> None:
    answers = {k: v for k, v in SELF_CHECK.items() if k != "wellbeing"}
    response = client.post(reverse("directory:selfcheck"), answers)
    assert response.status_code == 400
    assert "Please answer this question; any answer is fine." in response.content.decode()


def test_bad_answers_are_refused_clearly(public: World, client) -> None:
    response = client.post(reverse("directory:selfcheck"), {**SELF_CHECK, "budget": "lots"})
    assert response.status_code == 400
    assert "Enter a whole number." in response.content.decode()
    response = client.post(reverse("directory:selfcheck"), {**SELF_CHECK, "roots": "nonsense"})
    assert response.status_code == 400


def test_the_self_check_works_without_a_public_practice(client, world: World) -> None:
    # Two practices and no REVERIE_PUBLIC_PRACTICE: no directory, but the self-check works.
    response = client.post(reverse("directory:selfcheck"), {**SELF_CHECK, "wellbeing": "yes"})
    assert response.status_code == 200
    assert "988" in response.content.decode()  # the default crisis text
    assert client.get(reverse("directory:therapists")).status_code == 404
    assert client.get(reverse("directory:consult")).status_code == 404


# --- the directory ----------------------------------------------------------------------------


def _selfcheck_json(**changes: object) -> str:
    answers: dict[str, object] = {**SELF_CHECK, "budget": 160, **changes}
    return json.dumps(answers)


def test_matches_from_the_self_check_come_with_reasons(public: World, profiles, client) -> None:
    response = client.post(
        reverse("directory:therapists"),
        {"intent": "selfcheck", "selfcheck": _selfcheck_json(concerns=["relationships"])},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Therapists who fit (2)" in text
    theo, cora = text.index("Theo Therapist"), text.index("Cora Colleague")
    assert theo < cora  # relationships and a psychodynamic leaning put Theo first
    assert "Works with relationship difficulties" in text
    assert "Practises psychodynamic therapy" in text
    assert "Fit score: 8 points" in text  # 3 (concern) + 4 (approach) + 1 (open times)
    # The answers travel on with each "ask for a consultation" button, and nothing is stored.
    assert text.count('name="selfcheck"') >= 3
    assert not ConsultationRequest.objects.exists()


def test_must_haves_filter_and_say_what_emptied_the_list(public: World, profiles, client) -> None:
    response = client.post(
        reverse("directory:therapists"),
        {"intent": "filter", "language": "Welsh", "setting": "any"},
    )
    text = response.content.decode()
    assert "No therapist meets all of your must-haves right now." in text
    assert "Taking new clients with open times: 2 left" in text
    assert "Works in Welsh: 0 left" in text


def test_a_budget_with_a_sliding_scale_keeps_only_the_affordable(
    public: World, profiles, client
) -> None:
    response = client.post(
        reverse("directory:therapists"),
        {"intent": "filter", "budget": "80", "sliding_scale": "on", "setting": "any"},
    )
    text = response.content.decode()
    assert "Cora Colleague" in text and "Theo Therapist" not in text.split('id="results-h"')[1]
    assert "Sliding scale from $60" in text


def test_a_bad_filter_is_refused_with_the_reason(public: World, profiles, client) -> None:
    response = client.post(
        reverse("directory:therapists"),
        {"intent": "filter", "setting": "telehealth", "location": "Harbourside"},
    )
    assert response.status_code == 400
    assert "A location only matters for in-person sessions." in response.content.decode()


def test_unreadable_self_check_answers_are_refused(public: World, profiles, client) -> None:
    response = client.post(
        reverse("directory:therapists"), {"intent": "selfcheck", "selfcheck": "{not json"}
    )
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()


def test_booked_sessions_remove_openings_and_cancellations_give_them_back(
    public: World, profiles, client
) -> None:
    # Book the therapist's two offered hours (Tuesday 18:00 and Thursday 19:00, practice
    # time) in every week of the horizon and one week beyond, whatever the day and hour
    # the suite runs.
    zone = public.practice.zone
    today = timezone.now().astimezone(zone).date()
    booked = sorted(
        {
            dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
            for day in (today + dt.timedelta(days=n) for n in range(7 * 5 + 1))
            for weekday, hour in ((1, 18), (3, 19))
            if day.weekday() == weekday
        }
    )
    appointments = [
        Appointment.objects.create(episode=public.episode, starts_at=when) for when in booked
    ]
    text = client.get(reverse("directory:therapists")).content.decode()
    listed = text.split('id="results-h"')[1]
    assert "Therapists taking new clients (1)" in text and "Cora Colleague" in listed
    assert "Therapists without open times right now" in text
    for appointment in appointments:
        appointment.attendance = "cancelled"
        appointment.save(update_fields=["attendance"])
    text = client.get(reverse("directory:therapists")).content.decode()
    assert "Therapists taking new clients (2)" in text


def test_a_therapist_not_taking_new_clients_is_not_shown_as_available(
    public: World, profiles, client
) -> None:
    TherapistProfile.objects.filter(pk=profiles.colleague.pk).update(accepting_new=False)
    text = client.get(reverse("directory:therapists")).content.decode()
    assert "Therapists taking new clients (1)" in text
    page = client.get(reverse("directory:therapist", args=[profiles.colleague.pk]))
    assert "is not taking new clients right now" in page.content.decode()


def test_the_directory_costs_the_same_queries_for_more_therapists(
    public: World, profiles, client, new_profile
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("directory:therapists")).status_code == 200
        return len(queries.captured_queries)

    few = count()
    for n in range(4):
        user = make_user(public.practice, Role.THERAPIST, f"t{n}@harbour.test", f"Tess {n}")
        new_profile(user, weekly_slots=[[2, 10 + n]])
    assert count() == few


def test_a_profile_page_shows_openings_and_what_the_therapist_shares(
    public: World, profiles, client
) -> None:
    TherapistProfile.objects.filter(pk=profiles.therapist.pk).update(
        identity=["Parent", "Bilingual"], pronouns="he/him"
    )
    text = client.get(reverse("directory:therapist", args=[profiles.therapist.pk])).content.decode()
    assert "<h1>Theo Therapist</h1>" in text
    assert "PhD · he/him" in text
    assert "Parent, Bilingual" in text
    assert "Tuesday 18:00 — first free on" in text
    assert "Relationships" in text and "Anxiety" in text
    assert "in person in Harbourside" in text


def test_unpublished_and_other_practice_profiles_are_not_found(
    public: World, profiles, client, as_user, new_profile
) -> None:
    TherapistProfile.objects.filter(pk=profiles.colleague.pk).update(published=False)
    assert (
        client.get(reverse("directory:therapist", args=[profiles.colleague.pk])).status_code == 404
    )
    stranger_profile = new_profile(public.stranger)
    assert client.get(reverse("directory:therapist", args=[stranger_profile.pk])).status_code == 404
    # The stranger, signed in, sees their own practice's directory and not ours.
    stranger = as_user("stranger")
    assert (
        stranger.get(reverse("directory:therapist", args=[profiles.therapist.pk])).status_code
        == 404
    )
    assert b"Theo Therapist" not in stranger.get(reverse("directory:therapists")).content


def test_photos_are_served_from_the_database(public: World, profiles, client, jpeg) -> None:
    url = reverse("directory:therapist_photo", args=[profiles.therapist.pk])
    assert client.get(url).status_code == 404
    TherapistProfile.objects.filter(pk=profiles.therapist.pk).update(
        photo=jpeg(), photo_updated_at=timezone.now()
    )
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"
    page = client.get(reverse("directory:therapists")).content.decode()
    assert f'src="{url}?v=' in page and 'alt="Photo of Theo Therapist"' in page


def test_a_search_leaves_no_trace(public: World, profiles, client) -> None:
    client.get(reverse("directory:therapists"))
    with CaptureQueriesContext(connection) as queries:
        client.post(
            reverse("directory:therapists"),
            {"intent": "selfcheck", "selfcheck": _selfcheck_json(concerns=["trauma"])},
        )
    assert _writes(queries) == []
    assert not ConsultationAttempt.objects.exists()
