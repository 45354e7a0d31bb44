"""Answering in the client's language: the therapist's choice on the request, the client's
switch on the form, identical scores, and the language kept with the result."""

from __future__ import annotations

from django.urls import reverse

from measures.conftest import form_data, phq9_answers
from reverie.audit.models import AuditEntry
from reverie.measures.models import Administration, Instrument, MeasureRequest
from reverie.testing import World

SPANISH_ITEM_1 = "Poco interés o placer en hacer cosas"
ENGLISH_ITEM_1 = "Little interest or pleasure in doing things"


def test_the_client_switches_the_form_to_spanish(world: World, as_user, make_request) -> None:
    request = make_request()
    url = reverse("measures:answer", args=[request.pk])
    http = as_user("client")
    english = http.get(url).content.decode()
    assert ENGLISH_ITEM_1 in english and 'href="?lang=es-US"' in english
    spanish = http.get(url + "?lang=es-US").content.decode()
    assert SPANISH_ITEM_1 in spanish and ENGLISH_ITEM_1 not in spanish
    assert "Ningún día" in spanish and 'name="lang" value="es-US"' in spanish
    assert 'href="?lang=en"' in spanish and "Elaborado por los doctores" in spanish
    # An unknown tag is ignored, not refused: the form stays in English.
    assert ENGLISH_ITEM_1 in http.get(url + "?lang=xx").content.decode()


def test_spanish_answers_score_like_english_ones_and_the_language_is_kept(
    world: World, as_user, make_request
) -> None:
    answers = phq9_answers(3, 2, 1, 0, 3, 2, 1, 0, 1, difficulty=2)
    english_request, spanish_request = make_request(), make_request()
    http = as_user("client")
    for request, extra in ((english_request, {}), (spanish_request, {"lang": "es-US"})):
        response = http.post(
            reverse("measures:answer", args=[request.pk]),
            form_data(answers, action="submit", key=f"{request.pk:032d}", **extra),
        )
        assert response.status_code == 302
    english = Administration.objects.get(request=english_request)
    spanish = Administration.objects.get(request=spanish_request)
    assert (spanish.total, spanish.band, spanish.answers, spanish.has_critical) == (
        english.total,
        english.band,
        english.answers,
        english.has_critical,
    )
    assert english.total == 13 and spanish.has_critical
    assert spanish.result["language"] == "es-US" and "language" not in english.result
    # The therapist's result page says which language the client answered in.
    therapist = as_user("therapist")
    page = therapist.get(reverse("measures:administration", args=[spanish.pk])).content.decode()
    assert "Answered in" in page and "Español (EE. UU.)" in page
    page = therapist.get(reverse("measures:administration", args=[english.pk])).content.decode()
    assert "Answered in" not in page


def test_the_therapist_asks_in_spanish_and_the_form_opens_in_it(world: World, as_user) -> None:
    phq9 = Instrument.objects.get(code="phq-9")
    http = as_user("therapist")
    page = http.get(reverse("measures:client", args=[world.client.pk])).content.decode()
    assert '<option value="es-US">Español (EE. UU.)</option>' in page
    response = http.post(
        reverse("measures:ask", args=[world.client.pk]),
        {
            "instrument": phq9.pk,
            "episode": world.episode.pk,
            "timepoint": "session",
            "language": "es-US",
        },
    )
    assert response.status_code == 302
    request = MeasureRequest.objects.get(instrument=phq9, client=world.client)
    assert request.language == "es-US"
    assert AuditEntry.objects.filter(object_id=str(request.pk), detail__language="es-US").exists()
    url = reverse("measures:answer", args=[request.pk])
    client = as_user("client")
    assert SPANISH_ITEM_1 in client.get(url).content.decode()
    # The client can still choose English.
    assert ENGLISH_ITEM_1 in client.get(url + "?lang=en").content.decode()


def test_a_language_the_questionnaire_is_not_published_in_is_refused(world: World, as_user) -> None:
    gad7 = Instrument.objects.get(code="gad-7")
    response = as_user("therapist").post(
        reverse("measures:ask", args=[world.client.pk]),
        {
            "instrument": gad7.pk,
            "episode": world.episode.pk,
            "timepoint": "session",
            "language": "es-US",
        },
    )
    assert response.status_code == 302
    assert not MeasureRequest.objects.filter(instrument=gad7, client=world.client).exists()


def test_the_core10_form_shows_the_trusts_copyright_line(
    world: World, as_user, make_request
) -> None:
    request = make_request("core-10")
    page = as_user("client").get(reverse("measures:answer", args=[request.pk])).content.decode()
    assert "© CORE System Trust: https://www.coresystemtrust.org.uk/copyright.pdf" in page
    assert "I made plans to end my life" in page and page.count('type="radio"') == 50
    assert "language-choice" not in page  # no translation, no chooser


def test_the_coreom_form_shows_all_34_statements_and_the_trusts_copyright_line(
    world: World, as_user, make_request
) -> None:
    request = make_request("core-om")
    page = as_user("client").get(reverse("measures:answer", args=[request.pk])).content.decode()
    assert "© CORE System Trust: https://www.coresystemtrust.org.uk/copyright.pdf" in page
    assert "Tension and anxiety have prevented me doing important things" in page
    assert page.count('type="radio"') == 34 * 5 and "Most or all the time" in page
