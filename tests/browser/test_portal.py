"""The questionnaire portal in a real browser at phone size: one question at a time, saved
as it goes, the crisis card shown the moment a crisis item is answered, and the same form
working without JavaScript. Screenshots land in test-artifacts/."""

from __future__ import annotations

import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from reverie.audit import trail
from reverie.care.models import Alert
from reverie.measures import scheduling
from reverie.measures.models import Administration, Draft, Instrument, MeasureRequest
from reverie.testing import PASSWORD, World, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _request(world: World, code: str = "phq-9") -> MeasureRequest:
    return scheduling.create_manual_request(
        trail.system("test"),
        episode=world.episode,
        instrument=Instrument.objects.get(code=code),
        now=timezone.now() - datetime.timedelta(minutes=1),
    )


def _sign_in_client(page, world: World) -> None:
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(world.client_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")


def _fits_phone(page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{where} is {width}px wide on a 390px phone"


def _accessible(page, where: str) -> None:
    # base.html's flash-message list (role="status" on a <ul>) is not this domain's to fix.
    results = Axe().run(page, context={"exclude": [[".messages"]]})
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


def test_client_answers_on_a_phone_one_question_at_a_time_and_sees_the_crisis_card(
    phone, shot
) -> None:
    world = build_world()
    request = _request(world)
    _sign_in_client(phone, world)
    phone.get_by_role("link", name="Questionnaires").click()
    phone.wait_for_url("**/measures/")
    phone.get_by_role("link", name="Patient Health Questionnaire-9").click()
    progress = phone.locator(".stepper-nav .progress")
    progress.wait_for()
    assert progress.inner_text() == "Question 1 of 10"
    assert phone.get_by_role("button", name="Send my answers").is_hidden()
    _fits_phone(phone, "questionnaire")
    _accessible(phone, "questionnaire")
    shot(phone, "portal-question-phone")

    card = phone.locator("#crisis-card")
    for number in range(1, 9):
        question = phone.locator(f"#q-phq9-{number}")
        question.get_by_text("Not at all").click()
        assert card.is_hidden()
        phone.get_by_role("button", name="Next").click()
    assert progress.inner_text() == "Question 9 of 10"
    phone.locator("#q-phq9-9").get_by_text("Several days").click()
    card.wait_for(state="visible")
    assert "988" in card.inner_text()
    assert card.get_by_role("link", name="988").get_attribute("href") == "tel:988"
    phone.get_by_text("Saved at").wait_for()
    # The answer was saved and the therapist alerted before anything was submitted.
    alert = Alert.objects.get(kind="crisis", client=world.client)
    assert "not yet submitted" in alert.summary
    assert Draft.objects.get(request=request).answers["phq9-9"] == 1
    shot(phone, "portal-crisis-card-phone")
    _accessible(phone, "questionnaire with crisis card")

    phone.get_by_role("button", name="Next").click()
    phone.locator("#q-phq9-difficulty").get_by_text("Somewhat difficult").click()
    phone.get_by_role("button", name="Send my answers").click()
    phone.wait_for_url(f"**/measures/r/{request.pk}/done/")
    phone.get_by_role("heading", name="Thank you").wait_for()
    assert phone.locator("#crisis-card").is_visible()
    _fits_phone(phone, "thank-you page")
    shot(phone, "portal-done-with-crisis-card-phone")
    row = Administration.objects.get(request=request)
    assert (row.total, row.source, row.has_critical) == (1, "portal", True)
    assert Alert.objects.filter(kind="crisis", client=world.client).count() == 1


def test_the_whole_form_works_without_javascript_and_names_missing_questions(
    browser, live_server, shot
) -> None:
    world = build_world()
    request = _request(world, "gad-7")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url
    try:
        _sign_in_client(page, world)
        page.goto(page.base + f"/measures/r/{request.pk}/")
        assert page.get_by_role("button", name="Send my answers").is_visible()
        assert page.locator("fieldset.question:visible").count() == 7
        page.locator("#q-gad7-1").get_by_text("Several days").click()
        page.get_by_role("button", name="Send my answers").click()
        summary = page.get_by_role("alert").filter(has_text="need your attention")
        summary.wait_for()
        assert "Question 2 has no answer yet" in summary.inner_text()
        assert page.locator("#q-gad7-1 input[value='1']").is_checked()
        assert not Administration.objects.filter(request=request).exists()
        shot(page, "portal-missing-answers-no-js-phone")
        for number in range(2, 8):
            page.locator(f"#q-gad7-{number}").get_by_text("Not at all").click()
        page.get_by_role("button", name="Send my answers").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        assert Administration.objects.get(request=request).total == 1
    finally:
        context.close()


def _sign_in_therapist(page, world: World) -> None:
    import time

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=world.therapist, name="phone", confirmed=True)
    page.goto(page.base + "/accounts/login/")
    page.get_by_label("Email").fill(world.therapist.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/caseload/")


def test_therapist_changes_the_schedule_and_enters_a_paper_form(page, shot) -> None:
    world = build_world()
    _sign_in_therapist(page, world)
    page.goto(page.base + f"/measures/clients/{world.client.pk}/")
    page.get_by_role("heading", name="Questionnaires: Cleo Client").wait_for()
    _accessible(page, "client questionnaires page")

    page.get_by_role("link", name="Change schedule").click()
    phq9 = page.get_by_role("group", name="Patient Health Questionnaire-9")
    phq9.get_by_label("12 months after ending").uncheck()
    page.get_by_role("button", name="Save schedule").click()
    page.get_by_text("Questionnaire schedule saved.").wait_for()
    saved = world.episode.measure_schedules.get(instrument__code="phq-9")
    assert saved.followup_months == [1, 3, 6]

    page.get_by_role("link", name="Enter a paper form").click()
    page.get_by_role("link", name="Generalized Anxiety Disorder 7-item").click()
    _accessible(page, "paper form")
    for number in range(1, 8):
        page.locator(f"#q-gad7-{number}").get_by_text("Several days").click()
    page.get_by_role("button", name="Save paper form").click()
    page.get_by_text("Paper GAD-7 saved.").wait_for()
    assert page.get_by_text("Paper form, entered by Theo Therapist").is_visible()
    shot(page, "measures-paper-result")
    row = Administration.objects.get(source="paper")
    assert (row.total, row.entered_by) == (7, world.therapist)
