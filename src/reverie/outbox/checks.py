"""``reverie check`` warnings about outgoing messages."""

from __future__ import annotations

from typing import Any

from django.core import checks

from reverie.outbox import sealing


def no_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if sealing.keys_configured():
        return []
    return [
        checks.Warning(
            "Queued messages are stored unencrypted until they are sent: no "
            "REVERIE_ENCRYPTION_KEYS are set.",
            hint="Generate a key with `reverie keys generate` and set REVERIE_ENCRYPTION_KEYS.",
            id="outbox.W001",
        )
    ]


def register() -> None:
    checks.register(no_key, checks.Tags.security)
