"""Two people book the same consultation time at the same moment: exactly one wins.

Each request runs in its own thread with its own database connection and real commits, on
SQLite and PostgreSQL alike. The second test makes both requests pass the "is it free?"
check before either writes, so it is the database's unique constraint on live bookings, not
the check, that decides.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from reverie.directory.models import ConsultationRequest
from reverie.outbox.models import Message
from reverie.scheduling import actions, openings
from reverie.scheduling.forms import link_value
from reverie.scheduling.models import Booking
from reverie.testing import build_world

from .conftest import make_profile


def _race(url: str, start) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    results: list[tuple[str, int, str]] = []
    errors: list[BaseException] = []
    start_together = threading.Barrier(2)

    def post(who: str) -> None:
        from django.db import connection as own

        try:
            http = HttpClient()
            start_together.wait(timeout=30)
            response = http.post(
                url,
                {
                    "start": link_value(start),
                    "name": who.title(),
                    "email": f"{who}@example.org",
                    "phone": "",
                    "message": "",
                    "website": "",
                },
                REMOTE_ADDR=f"10.0.0.{len(who)}",
            )
            results.append((who, response.status_code, response.content.decode()))
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=post, args=(who,)) for who in ("ada", "bartholomew")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert errors == []
    return results


def _check_one_winner(results: list[tuple[str, int, str]], start) -> None:  # type: ignore[no-untyped-def]
    statuses = sorted(status for _, status, _ in results)
    assert statuses == [302, 409], results
    (loser,) = [body for _, status, body in results if status == 409]
    assert "just taken" in loser
    (winner,) = [who for who, status, _ in results if status == 302]
    booking = Booking.objects.get()
    assert booking.starts_at == start
    assert booking.request is not None and booking.request.email == f"{winner}@example.org"
    assert ConsultationRequest.objects.count() == 1
    assert Message.objects.filter(template="booking_confirmed").count() == 1


def _setup(settings):  # type: ignore[no-untyped-def]
    world = build_world()
    settings.PUBLIC_PRACTICE = world.practice.slug
    profile = make_profile(world.therapist)
    start = openings.consultation_times(profile, world.practice)[0]
    return world, profile, start


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bookings_of_one_time_exactly_one_wins(settings) -> None:
    _, profile, start = _setup(settings)
    results = _race(reverse("scheduling:book", args=[profile.pk]), start)
    _check_one_winner(results, start)


@pytest.mark.django_db(transaction=True)
def test_when_both_pass_the_check_the_database_decides(settings, monkeypatch) -> None:
    """Both requests see the time free (the check is made to agree), then insert."""
    _, profile, start = _setup(settings)
    real = openings.consultation_times
    monkeypatch.setattr(
        actions.openings,
        "consultation_times",
        lambda p, pr, now=None: sorted({*real(p, pr, now=now), start}),
    )
    if connection.vendor == "postgresql":
        # Hold both requests between the check and the insert, so both have checked before
        # either writes. (SQLite serialises write transactions from their first statement,
        # so there the second request waits for the first to commit and then inserts.)
        gate = threading.Barrier(2)
        real_create = Booking.objects.create

        def create_after_both_checked(**fields):  # type: ignore[no-untyped-def]
            gate.wait(timeout=30)
            return real_create(**fields)

        monkeypatch.setattr(Booking.objects, "create", create_after_both_checked)
    results = _race(reverse("scheduling:book", args=[profile.pk]), start)
    _check_one_winner(results, start)
