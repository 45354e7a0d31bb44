"""Billing: fees, charges from attendance, payments, statements, superbills and Good
Faith Estimates."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _on_attendance(sender: Any, *, ctx: Any, appointment: Any, **_: Any) -> None:
    from reverie.billing import actions

    actions.charge_attendance(ctx, appointment)


def _on_booking(sender: Any, *, ctx: Any, booking: Any, **_: Any) -> None:
    from reverie.billing import actions

    actions.estimate_for_booking(ctx, booking)


class BillingConfig(AppConfig):
    name = "reverie.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from reverie.care import hooks
        from reverie.scheduling import hooks as scheduling_hooks

        hooks.attendance_recorded.connect(_on_attendance, dispatch_uid="billing.charges")
        scheduling_hooks.consultation_booked.connect(_on_booking, dispatch_uid="billing.estimates")
