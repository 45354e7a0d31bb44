"""Billing: fees, charges from attendance, payments, statements, superbills and Good
Faith Estimates."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _on_attendance(sender: Any, *, ctx: Any, appointment: Any, **_: Any) -> None:
    from reverie.billing import actions

    actions.charge_attendance(ctx, appointment)


class BillingConfig(AppConfig):
    name = "reverie.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from reverie.care import hooks

        hooks.attendance_recorded.connect(_on_attendance, dispatch_uid="billing.charges")
