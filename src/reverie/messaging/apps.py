"""Secure messages between a client and their current therapists."""

from django.apps import AppConfig


def _unread(client_ids: list[int]) -> dict[int, str]:
    from reverie.messaging import queries

    return {
        client_id: f"{n} unread message{'s' if n != 1 else ''}"
        for client_id, n in queries.unread_from_clients(client_ids).items()
    }


class MessagingConfig(AppConfig):
    name = "reverie.messaging"
    label = "messaging"
    verbose_name = "Secure messages"

    def ready(self) -> None:
        from reverie.care import hooks

        # Unread messages show beside the client's name on Today and the caseload.
        hooks.provide_flags("messaging", _unread)
