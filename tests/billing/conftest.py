"""Fixtures for billing: the world's practice with a fee schedule from 1 January 2026,
its therapist's published range ($90–$150) and a session helper."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reverie.audit import trail
from reverie.billing import actions
from reverie.care.models import Appointment
from reverie.directory.models import TherapistProfile
from reverie.testing import World

SCHEDULE = {
    "initial_consultation": 20000,
    "psychotherapy_30": 9000,
    "psychotherapy_45": 15000,
    "psychotherapy_60": 18000,
    "psychoanalysis": 12000,
    "family_without_client": 17000,
    "family_with_client": 17000,
    "late_cancel": 15000,
    "no_show": 15000,
}
FROM = dt.date(2026, 1, 1)


@pytest.fixture
def admin_ctx(world: World) -> trail.Context:
    return trail.Context(user=world.admin)


@pytest.fixture
def therapist_ctx(world: World) -> trail.Context:
    return trail.Context(user=world.therapist)


@pytest.fixture
def priced(world: World, admin_ctx: trail.Context) -> World:
    for service, amount in SCHEDULE.items():
        actions.set_fee(admin_ctx, world.practice, service, amount, FROM)
    TherapistProfile.objects.create(
        user=world.therapist, fee=150, sliding_scale=True, sliding_scale_min=90
    )
    return world


def session(world: World, days_ago: int, minutes: int = 50, episode=None, **fields) -> Appointment:  # type: ignore[no-untyped-def]
    """A past session of the world's client (or of ``episode``), at 10:00 UTC ``days_ago``
    days ago; today's is a minute ago."""
    if days_ago == 0:
        starts = timezone.now() - dt.timedelta(minutes=1)
    else:
        day = timezone.localdate() - dt.timedelta(days=days_ago)
        starts = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    return Appointment.objects.create(
        episode=episode or world.episode, starts_at=starts, duration_minutes=minutes, **fields
    )
