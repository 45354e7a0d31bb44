"""Scheduling with clients: first consultations booked from the directory, the portal's
cancel and move, and the waitlist."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _booking_to_session(
    sender: object, *, ctx: Any, request: Any, episode: Any, **kwargs: Any
) -> None:
    """A consultation request became a client: its booked consultation becomes the
    client's first session, in the same transaction (directory/hooks.py)."""
    from reverie.scheduling import actions

    actions.booking_to_session(ctx, request, episode)


class SchedulingConfig(AppConfig):
    name = "reverie.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from reverie.care import hooks as care_hooks
        from reverie.directory import hooks
        from reverie.scheduling import (
            agenda,
            jobs,  # noqa: F401  (registers the waitlist's jobs)
            openings,
            panels,
        )

        care_hooks.provide_agenda("scheduling", agenda.booked_consultations)
        hooks.request_converted.connect(_booking_to_session, dispatch_uid="scheduling.session")

        hooks.provide_busy("scheduling", openings.live_bookings)
        hooks.provide_profile_panel("scheduling", panels.booking_panel)
