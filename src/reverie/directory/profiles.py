"""From stored therapist profiles to the directory: verified openings and matching profiles.

Two queries serve a whole directory page whatever its size: one for the published profiles
(with their users) and one for every booked session of those therapists in the horizon.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from reverie.accounts.models import Practice, Role
from reverie.care.models import Appointment, Attendance
from reverie.directory import hooks
from reverie.directory.availability import (
    HORIZON_WEEKS,
    Openings,
    clean_weekly_slots,
    openings,
)
from reverie.directory.matching import MODALITIES, Profile, ProfileIndex
from reverie.directory.models import TherapistProfile
from reverie.directory.selfcheck import CONCERNS

log = logging.getLogger(__name__)

#: Sessions with these outcomes no longer take up the therapist's time.
FREED = (Attendance.CANCELLED, Attendance.LATE_CANCEL)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def concern_key(value: object) -> str | None:
    """Map a stored concern onto the shared vocabulary, forgiving spelling variants such as
    "self-esteem" or "substance use" (the demo data's spelling); None if it is not one."""
    if not isinstance(value, str):
        return None
    key = "_".join(value.strip().casefold().replace("-", " ").split())
    return key if key in CONCERNS else None


def _texts(values: object) -> tuple[str, ...]:
    if not isinstance(values, list | tuple):
        return ()
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value.strip():
            seen.setdefault(" ".join(value.split()), None)
    return tuple(seen)


@dataclass(frozen=True)
class Entry:
    """One therapist in the directory: the stored profile, its openings and its matching view."""

    model: TherapistProfile
    openings: Openings
    profile: Profile

    @property
    def pk(self) -> int:
        return self.model.pk

    @property
    def available(self) -> bool:
        return self.profile.available


def published_profiles(practice: Practice) -> QuerySet[TherapistProfile]:
    """Profiles shown in the practice's directory: published, of active therapists."""
    return (
        TherapistProfile.objects.filter(
            published=True,
            user__practice=practice,
            user__role=Role.THERAPIST,
            user__is_active=True,
        )
        .select_related("user")
        .defer("photo")
        .annotate(
            photo_present=ExpressionWrapper(Q(photo__isnull=False), output_field=BooleanField())
        )
        .order_by("user__full_name", "pk")
    )


def booked_sessions(
    therapist_ids: list[int], *, now: dt.datetime, weeks: int = HORIZON_WEEKS
) -> dict[int, list[tuple[dt.datetime, int]]]:
    """(start, minutes) of every session that still takes up each therapist's time."""
    booked: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    if not therapist_ids:
        return booked
    # Start a day early so a long session running into the first hour is still seen.
    rows = (
        Appointment.objects.filter(
            episode__therapist_id__in=therapist_ids,
            starts_at__gte=now - dt.timedelta(days=1),
            starts_at__lt=now + dt.timedelta(weeks=weeks),
        )
        .exclude(attendance__in=FREED)
        .values_list("episode__therapist_id", "starts_at", "duration_minutes")
    )
    for therapist_id, starts_at, minutes in rows:
        booked[therapist_id].append((starts_at, minutes))
    # Held and booked first consultations (scheduling) take up the therapist's time too.
    extra = hooks.busy(therapist_ids, now - dt.timedelta(days=1), now + dt.timedelta(weeks=weeks))
    for therapist_id, times in extra.items():
        booked[therapist_id].extend(times)
    return booked


def match_id(pk: int) -> str:
    """Matching ids are strings; zero-padding keeps their order the order of creation."""
    return f"{pk:09d}"


def to_profile(model: TherapistProfile, open_slots: tuple[tuple[int, int], ...]) -> Profile:
    """The matching view of a stored profile. Raises ValueError for an incomplete profile."""
    sliding_min = model.sliding_scale_min if model.sliding_scale else None
    if model.sliding_scale and sliding_min is None:
        sliding_min = model.fee
    return Profile(
        id=match_id(model.pk),
        name=model.user.display_name,
        modalities=tuple(m for m in _texts(model.modalities) if m in MODALITIES),
        concerns=tuple(c for c in CONCERNS if c in {concern_key(x) for x in model.concerns or []}),
        languages=_texts(model.languages),
        fee=model.fee if model.fee is not None else -1,
        sliding_scale=model.sliding_scale,
        sliding_scale_min_fee=sliding_min,
        insurance=_texts(model.insurance),
        telehealth=model.telehealth,
        in_person_location=" ".join(model.location.split()) or None,
        open_slots=open_slots,
        accepting_new=model.accepting_new,
    )


def directory_entries(
    practice: Practice, *, now: dt.datetime | None = None, pk: int | None = None
) -> list[Entry]:
    """Every published therapist of the practice (or only profile ``pk``) with verified
    openings.

    A profile that cannot be matched (no fee or no language yet, or corrupted slots) is left
    out of the directory and logged by id; the therapist's edit page says what is missing.
    """
    now = now or timezone.now()
    profiles = published_profiles(practice)
    if pk is not None:
        profiles = profiles.filter(pk=pk)
    models = list(profiles)
    booked = booked_sessions([m.user_id for m in models], now=now)
    entries = []
    for model in models:
        try:
            free = openings(
                model.weekly_slots or [],
                booked.get(model.user_id, []),
                now=now,
                time_zone=practice.time_zone or "UTC",
            )
            profile = to_profile(model, free.slots)
        except (ValueError, TypeError) as exc:
            log.warning("directory profile %s left out: %s", model.pk, exc)
            continue
        entries.append(Entry(model, free, profile))
    return entries


def build_index(entries: list[Entry]) -> ProfileIndex:
    return ProfileIndex(entry.profile for entry in entries)


def slot_label(slot: tuple[int, int]) -> str:
    """ "Tuesday 18:00" for (1, 18)."""
    return f"{WEEKDAYS[slot[0]]} {slot[1]:02d}:00"


def profile_problems(model: TherapistProfile) -> list[str]:
    """What keeps this profile out of the directory, in plain words; empty if nothing."""
    problems = []
    if model.fee is None:
        problems.append("Add your fee so that people can see whether they can afford sessions.")
    if not _texts(model.languages):
        problems.append("Add at least one language you work in.")
    if not any(m in MODALITIES for m in _texts(model.modalities)):
        problems.append("Choose at least one approach you offer.")
    if not model.telehealth and not model.location.strip():
        problems.append("Say where you see clients, or offer sessions by video.")
    try:
        clean_weekly_slots(model.weekly_slots or [])
        if not problems:
            to_profile(model, ())
    except (ValueError, TypeError) as exc:
        problems.append(f"The profile has a problem that needs fixing: {exc}.")
    return problems
