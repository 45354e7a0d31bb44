"""One date format across the product: the |rdate filters, in the practice's locale."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
import zoneinfo
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import dateformat, timezone

from reverie.accounts.models import Practice
from reverie.audit.models import Action, AuditEntry
from reverie.care.models import Appointment, Episode
from reverie.lib import dates
from reverie.lifecycle.archive import write_zip
from reverie.lifecycle.record import Audience, gather
from reverie.measures.forms import AskForm
from reverie.measures.models import Administration, Instrument
from reverie.outbox.queue import render_email
from reverie.process.forms import SessionChoiceField
from reverie.testing import World

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "reverie" / "templates"
# |date and |time with or without a format, and the {% now %} tag, all bypass the locale.
AD_HOC = re.compile(r"\|\s*(?:date|time)\b|\{%\s*now\b")


def test_no_template_formats_a_date_by_hand() -> None:
    offenders = []
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file() and path.suffix in {".html", ".txt"}:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if AD_HOC.search(line):
                    offenders.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert not offenders, "use |rdate, |rdatetime or |rtime:\n" + "\n".join(offenders)
    # and the check itself recognises what it forbids
    assert AD_HOC.search('{{ x|date:"j M Y" }}') and AD_HOC.search("{{ t|time }}")


def _render(source: str, locale: str, **context: object) -> str:
    with dates.using_locale(locale):
        return Template(source).render(Context(context))


WHEN = datetime.datetime(2026, 12, 6, 14, 30, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "Dec 6, 2026|Dec 6, 2026, 2:30 PM|2:30 PM|Sunday, December 6, 2026"),
        ("en-GB", "6 Dec 2026|6 Dec 2026, 14:30|14:30|Sunday 6 December 2026"),
    ],
)
def test_each_locale_orders_day_and_month_its_own_way(settings, locale, expected) -> None:
    settings.TIME_ZONE = "UTC"
    out = _render(
        '{{ w|rdate }}|{{ w|rdatetime }}|{{ w|rtime }}|{{ w|rdate:"long" }}', locale, w=WHEN
    )
    assert out == expected


def test_machine_forms_do_not_follow_the_locale() -> None:
    for locale in ("en-US", "en-GB"):
        out = _render("{{ w|isodate }} {{ w|epoch }}", locale, w=WHEN)
        assert out == f"2026-12-06 {int(WHEN.timestamp())}"


def test_values_that_are_not_dates_render_empty_rather_than_fail() -> None:
    assert _render("[{{ a|rdate }}{{ b|rdatetime }}{{ c|rtime }}]", "en-GB", a="x", b=None) == "[]"
    # an unknown style or locale falls back to the everyday date
    assert _render('{{ w|rdate:"nonsense" }}', "xx-XX", w=WHEN) == "Dec 6, 2026"


def _completed(world: World) -> datetime.datetime:
    return Administration.objects.filter(client=world.client).latest("completed_at").completed_at


def test_pages_follow_the_practice_locale(world: World, as_user) -> None:
    when = _completed(world)
    us = dateformat.format(when, dates.pattern("date", "en-US"))
    gb = dateformat.format(when, dates.pattern("date", "en-GB"))
    assert us != gb
    page = as_user("client").get(reverse("care:client_home")).content.decode()
    assert us in page and gb not in page
    Practice.objects.filter(pk=world.practice.pk).update(date_locale="en-GB")
    page = as_user("client").get(reverse("care:client_home")).content.decode()
    assert gb in page and us not in page


def test_emails_follow_the_practice_locale(world: World) -> None:
    world.practice.date_locale = "en-GB"
    closes = datetime.datetime(2026, 12, 6, 14, 30, tzinfo=datetime.UTC)
    parts = render_email(
        "measure_reminder",
        {"practice": world.practice, "closes": closes, "link": "https://x", "client": world.client},
    )
    assert "Sunday 6 December 2026" in parts["text"]
    world.practice.date_locale = "en-US"
    parts = render_email(
        "measure_reminder",
        {"practice": world.practice, "closes": closes, "link": "https://x", "client": world.client},
    )
    assert "Sunday, December 6, 2026" in parts["text"]


# --- Python code writes dates through the same helper -----------------------------------------

SRC = Path(__file__).resolve().parents[1] / "src" / "reverie"
# A strftime or f-string format that names a month or weekday, uses a 12-hour clock or an
# unpadded day: that is a date written for people, and belongs to reverie.lib.dates.
BY_HAND = re.compile(r"(strftime\(\s*[\"']|\{[^{}\"']*:)[^\"'{}]*%-?[aAbBIpj]|%-[dmHIM]")
# Dates for machines, where the form is fixed by a standard rather than by a reader.
MACHINE_FORMS = {
    # RFC 9110 HTTP-date in the Expires header: English names by definition.
    "lifecycle/bulk_views.py": "Expires",
    # a doctest of recurrence dates, not output
    "lib/recurrence.py": ">>>",
}


def test_no_python_code_writes_a_date_for_people_by_hand() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = str(path.relative_to(SRC))
        if "migrations" in relative or relative == "lib/dates.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not BY_HAND.search(line):
                continue
            allowed = MACHINE_FORMS.get(relative)
            if allowed is not None and allowed in line:
                continue
            offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "use reverie.lib.dates.format_date/_time/_datetime:\n" + "\n".join(
        offenders
    )
    # and the check recognises what it forbids, and lets ISO forms through
    assert BY_HAND.search('x.strftime("%b %Y")') and BY_HAND.search('f"{d:%-d %B %Y}"')
    assert BY_HAND.search('f"{when:%H:%M}"') is None  # 24-hour ISO-like time is allowed
    assert BY_HAND.search('f"{d:%Y-%m-%d}"') is None


@pytest.mark.parametrize("locale", ["en-US", "en-GB"])
def test_python_helper_writes_what_the_filters_write(settings, locale) -> None:
    settings.TIME_ZONE = "UTC"
    filters = _render(
        '{{ w|rdate }}|{{ w|rdatetime:"long" }}|{{ w|rtime }}|{{ d|rdate:"mon" }}',
        locale,
        w=WHEN,
        d=WHEN.date(),
    )
    helper = "|".join(
        [
            dates.format_date(WHEN, locale=locale),
            dates.format_datetime(WHEN, "long", locale),
            dates.format_time(WHEN, locale),
            dates.format_date(WHEN.date(), "mon", locale),
        ]
    )
    assert helper == filters
    with dates.using_locale(locale):  # the locale of the request or email, when not given
        assert dates.format_date(WHEN) == filters.split("|")[0]


def test_python_helper_zone_and_seconds() -> None:
    when = datetime.datetime(2026, 7, 1, 13, 5, 9, tzinfo=datetime.UTC)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")  # UTC+2 in July
    assert dates.format_time(when, "en-GB", zone=berlin) == "15:05"
    assert dates.format_time(when, "en-US", seconds=True, zone=berlin) == "3:05:09 PM"
    assert dates.format_datetime(when, "date", "en-GB", seconds=True, zone=berlin) == (
        "1 Jul 2026, 15:05:09"
    )
    # the evening in New York is still the previous day there
    assert dates.format_date(
        datetime.datetime(2026, 7, 2, 1, 0, tzinfo=datetime.UTC),
        locale="en-US",
        zone=zoneinfo.ZoneInfo("America/New_York"),
    ) == ("Jul 1, 2026")
    assert dates.format_date(None) == "" and dates.format_datetime("soon") == ""


# --- the practice admin chooses the date format -----------------------------------------------


def test_admin_chooses_the_date_format_and_it_is_audited(world: World, as_user) -> None:
    admin = as_user("admin")
    page = admin.get(reverse("practice:date_format")).content.decode()
    today = timezone.localdate()
    assert dateformat.format(today, "M j, Y") in page and dateformat.format(today, "j M Y") in page
    assert 'value="en-US" checked' in page

    before = AuditEntry.objects.count()
    response = admin.post(reverse("practice:date_format"), {"date_locale": "en-GB"})
    assert response.status_code == 302
    assert Practice.objects.get(pk=world.practice.pk).date_locale == "en-GB"
    entry = AuditEntry.objects.order_by("-seq").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry is not None and entry.action == Action.UPDATE
    assert entry.object_type == "accounts.practice" and entry.detail == {
        "date_locale": ["en-US", "en-GB"]
    }
    # every page now writes the practice's dates the chosen way
    when = _completed(world)
    home = as_user("client").get(reverse("care:client_home")).content.decode()
    assert dateformat.format(when, "j M Y") in home

    # the same choice again changes nothing and records nothing
    admin.post(reverse("practice:date_format"), {"date_locale": "en-GB"})
    assert AuditEntry.objects.filter(object_type="accounts.practice").count() == 1


def test_an_unknown_date_format_is_refused_with_a_message(world: World, as_user) -> None:
    admin = as_user("admin")
    before = AuditEntry.objects.count()
    response = admin.post(reverse("practice:date_format"), {"date_locale": "fr-FR"})
    assert response.status_code == 400
    assert "Choose one of the date formats listed." in response.content.decode()
    assert Practice.objects.get(pk=world.practice.pk).date_locale == "en-US"
    assert AuditEntry.objects.count() == before
    # a therapist cannot change it
    response = as_user("therapist").post(reverse("practice:date_format"), {"date_locale": "en-GB"})
    assert response.status_code == 403
    assert Practice.objects.get(pk=world.practice.pk).date_locale == "en-US"


def test_audit_page_follows_the_locale_and_its_csv_stays_iso(world: World, as_user) -> None:
    Practice.objects.filter(pk=world.practice.pk).update(date_locale="en-GB", time_zone="UTC")
    admin = as_user("admin")
    page = admin.get(reverse("practice:audit")).content.decode()
    # en-GB, to the second: "6 Dec 2026, 14:30:05"
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d</td>", page)
    body = b"".join(admin.get(reverse("practice:audit_csv")).streaming_content).decode()
    rows = body.splitlines()[1:]
    assert rows and all(re.match(r"\d+,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,", r) for r in rows)


def test_trajectory_charts_follow_a_change_of_locale(world: World, as_user) -> None:
    """The chart sections are cached; a practice that changes its format sees the new one."""
    when = _completed(world)
    url = reverse("outcomes:trajectory", args=[world.client.pk])
    therapist = as_user("therapist")
    assert dateformat.format(when, "M j, Y") in therapist.get(url).content.decode()
    Practice.objects.filter(pk=world.practice.pk).update(date_locale="en-GB")
    page = therapist.get(url).content.decode()
    assert dateformat.format(when, "j M Y") in page
    assert dateformat.format(when, "M j, Y") not in page


def test_a_cached_chart_section_is_not_served_for_a_score_with_another_date(
    world: World, as_user
) -> None:
    """The section's cache key named each score by id and total, not by date: the same ids
    written again with other dates (a database rolled back and filled again, as the test
    suite does, or restored) were shown with the old dates."""
    when = _completed(world)
    url = reverse("outcomes:trajectory", args=[world.client.pk])
    therapist = as_user("therapist")
    assert dateformat.format(when, "M j, Y") in therapist.get(url).content.decode()
    moved = when - datetime.timedelta(days=3)
    Administration.objects.filter(client=world.client, completed_at=when).update(completed_at=moved)
    page = therapist.get(url).content.decode()
    assert dateformat.format(moved, "M j, Y") in page
    assert dateformat.format(when, "M j, Y") not in page


def test_record_export_is_written_in_the_practice_locale(world: World) -> None:
    """The archive is made by the worker, outside any request."""
    Practice.objects.filter(pk=world.practice.pk).update(date_locale="en-GB")
    world.client.practice.refresh_from_db()
    record = gather(world.client, Audience.CLIENT)
    out = io.BytesIO()
    write_zip(record, out)
    with zipfile.ZipFile(out) as archive:
        readme = archive.read("README.txt").decode()
        html = archive.read("record.html").decode()
    made = dateformat.format(timezone.localtime(record.generated_at, datetime.UTC), "j M Y, H:i")
    assert f"Made by Reverie on {made} UTC" in readme
    when = _completed(world)
    assert dateformat.format(when, "j M Y") in html


def test_episode_choices_are_written_in_the_practice_locale(world: World) -> None:
    """The questionnaire forms' episode menu (it showed ISO dates through the model's str)."""
    form = AskForm(
        instruments=Instrument.objects.all(),
        episodes=Episode.objects.filter(pk=world.episode.pk),
    )
    with dates.using_locale("en-GB"):
        labels = [label for value, label in form.fields["episode"].choices]
    start = dateformat.format(world.episode.start_date, "j M Y")
    assert labels == [f"{world.episode.get_modality_display()} from {start}"]


# What a date looks like when a template prints it bare ({{ value }}, Django's own format for
# the site's language, "Dec. 6, 2026, 2:30 p.m.") or Python writes str(date) ("2026-12-06"):
# both bypass the practice's format.
DJANGO_DEFAULT = re.compile(r"\b(?:Jan|Feb|Aug|Sept|Oct|Nov|Dec)\. \d{1,2}, \d{4}|\d [ap]\.m\.")
ISO_DAY = re.compile(r"\b20\d\d-\d\d-\d\d\b")
MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.S)
CODE = re.compile(r"<(code|pre|textarea|script|style)\b.*?</\1>", re.S)


@pytest.mark.parametrize("persona", ["therapist", "admin", "client", "anonymous"])
def test_no_page_prints_a_date_past_the_practice_format(
    world: World, as_user, persona: str
) -> None:
    """Every page a persona may open (from the access matrix), read as text: no date in
    Django's default format and no ISO date outside code samples and form values."""
    from django.utils.html import strip_tags

    from matrix import all_routes

    http = as_user(persona)
    offenders = []
    pages = 0
    for route in all_routes():
        if route.method != "get" or route.api or route.expect.get(persona) != 200:
            continue
        response = http.get(route.url(world))
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        html = response.content.decode()
        found = MAIN.search(html)
        text = strip_tags(CODE.sub(" ", found.group(1) if found else html))
        for pattern in (DJANGO_DEFAULT, ISO_DAY):
            for match in pattern.finditer(text):
                around = " ".join(text[max(0, match.start() - 60) : match.end() + 20].split())
                offenders.append(f"{route.name}: …{around}…")
    assert pages > 3
    assert not offenders, "\n".join(offenders)
    # and the patterns know what they look for
    assert DJANGO_DEFAULT.search("Dec. 6, 2026, 2:30 p.m.") and ISO_DAY.search("on 2026-12-06")
    assert not DJANGO_DEFAULT.search("Dec 6, 2026, 2:30 PM")


def test_session_choices_name_the_weekday_and_the_year(world: World) -> None:
    """The relationship-episode form's session menu spans years of sessions."""
    session = Appointment.objects.filter(episode=world.episode).earliest("starts_at")
    field = SessionChoiceField(queryset=Appointment.objects.all())
    with dates.using_locale("en-GB"), timezone.override(datetime.UTC):
        label = field.label_from_instance(session)
    at = session.starts_at.astimezone(datetime.UTC)
    assert label == dateformat.format(at, "D j M Y, H:i")
    with dates.using_locale("en-US"), timezone.override(datetime.UTC):
        assert field.label_from_instance(session) == dateformat.format(at, "D M j, Y, g:i A")
