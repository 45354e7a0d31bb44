"""``reverie check`` warning when text cannot be encrypted."""

from __future__ import annotations

from typing import Any

from django.core import checks

from reverie.vault import envelope


def no_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if envelope.available():
        return []
    return [
        checks.Warning(
            "Nothing a client or therapist writes can be saved: no usable "
            "REVERIE_ENCRYPTION_KEYS are set, and such text is only ever stored encrypted.",
            hint="Generate a key with `reverie keys generate` and set REVERIE_ENCRYPTION_KEYS.",
            id="vault.W001",
        )
    ]


def register() -> None:
    checks.register(no_key, checks.Tags.security)
