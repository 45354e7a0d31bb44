"""One date format across the product: the |rdate filters, in the practice's locale."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import dateformat

from reverie.accounts.models import Practice
from reverie.lib import dates
from reverie.measures.models import Administration
from reverie.outbox.queue import render_email
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
