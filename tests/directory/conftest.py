"""Fixtures for the front door: a public practice and two directory profiles.

The world's therapist offers Tuesday and Thursday evenings by video and in person; the
colleague offers Monday mornings by video only, with a sliding scale. Slot hours are in the
practice's time zone (UTC in the world).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image

from reverie.directory.models import TherapistProfile
from reverie.testing import World


@dataclass
class Profiles:
    therapist: TherapistProfile
    colleague: TherapistProfile


def make_profile(user, **fields) -> TherapistProfile:  # type: ignore[no-untyped-def]
    values = {
        "credentials": "PhD",
        "pronouns": "",
        "approach": "I listen closely and help you find words for what is hard to say.",
        "modalities": ["psychodynamic"],
        "concerns": ["relationships", "anxiety"],
        "languages": ["English"],
        "fee": 150,
        "sliding_scale": False,
        "sliding_scale_min": None,
        "insurance": [],
        "telehealth": True,
        "location": "",
        "weekly_slots": [[1, 18], [3, 19]],
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
def profiles(world: World) -> Profiles:
    return Profiles(
        therapist=make_profile(
            world.therapist,
            location="Harbourside",
            insurance=["Aetna"],
            languages=["English", "Spanish"],
        ),
        colleague=make_profile(
            world.colleague,
            modalities=["cbt"],
            concerns=["panic", "anxiety"],
            fee=120,
            sliding_scale=True,
            sliding_scale_min=60,
            weekly_slots=[[0, 9], [0, 10]],
        ),
    )


def jpeg_bytes(size: tuple[int, int] = (300, 200), color: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def jpeg():
    """``jpeg()`` gives the bytes of a small JPEG, for photo uploads."""
    return jpeg_bytes


@pytest.fixture
def new_profile():
    """``new_profile(user, **fields)`` creates a published directory profile."""
    return make_profile
