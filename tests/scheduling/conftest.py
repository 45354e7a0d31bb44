"""Fixtures for scheduling: a public practice whose therapist offers 09:00 and 18:00 every
day, so that consultation times exist whenever the tests run; the colleague offers none."""

from __future__ import annotations

import pytest

from reverie.directory.models import TherapistProfile
from reverie.testing import World

EVERY_DAY = [[d, h] for d in range(7) for h in (9, 18)]


def make_profile(user, **fields) -> TherapistProfile:  # type: ignore[no-untyped-def]
    values = {
        "credentials": "PhD",
        "modalities": ["psychodynamic"],
        "concerns": ["relationships"],
        "languages": ["English"],
        "fee": 150,
        "telehealth": True,
        "location": "Harbourside",
        "weekly_slots": EVERY_DAY,
        "accepting_new": True,
        "published": True,
    }
    values.update(fields)
    return TherapistProfile.objects.create(user=user, **values)


@pytest.fixture
def public(settings, world: World) -> World:
    """Anonymous visitors see the world's practice."""
    settings.PUBLIC_PRACTICE = world.practice.slug
    return world


@pytest.fixture
def profile(world: World) -> TherapistProfile:
    return make_profile(world.therapist)


@pytest.fixture
def full_profile(world: World) -> TherapistProfile:
    """The colleague: published, taking new clients, but offering no hour at all."""
    return make_profile(world.colleague, weekly_slots=[])
