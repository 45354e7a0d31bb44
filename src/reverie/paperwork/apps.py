"""Intake paperwork: forms as versioned data, electronic signatures, signed copies."""

from typing import Any

from django.apps import AppConfig


def _forms_with_portal(sender: object, *, ctx: Any, client: Any, **kwargs: Any) -> None:
    """A client who gets a portal account is sent the forms to sign, in the same
    transaction as the invitation (care/hooks.py)."""
    from reverie.paperwork import actions

    actions.send_forms(ctx, client)


def _unsigned(client_ids: list[int]) -> dict[int, str]:
    from reverie.paperwork import actions

    return {
        client_id: f"{n} form{'s' if n != 1 else ''} unsigned"
        for client_id, n in actions.unsigned_counts(client_ids).items()
    }


class PaperworkConfig(AppConfig):
    name = "reverie.paperwork"
    label = "paperwork"
    verbose_name = "Intake paperwork"

    def ready(self) -> None:
        from reverie.care import hooks

        hooks.portal_account_linked.connect(_forms_with_portal, dispatch_uid="paperwork.send")
        hooks.provide_flags("paperwork", _unsigned)
