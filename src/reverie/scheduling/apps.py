"""Scheduling with clients: first consultations booked from the directory, the portal's
cancel and move, and the waitlist."""

from __future__ import annotations

from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "reverie.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from reverie.directory import hooks
        from reverie.scheduling import (
            jobs,  # noqa: F401  (registers the waitlist's jobs)
            openings,
            panels,
        )

        hooks.provide_busy("scheduling", openings.live_bookings)
        hooks.provide_profile_panel("scheduling", panels.booking_panel)
