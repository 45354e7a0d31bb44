from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync(sender: AppConfig, **kwargs: Any) -> None:
    from reverie.measures.registry import sync_shipped_instruments

    sync_shipped_instruments()


def _followups(sender: object, *, ctx: Any, episode: Any, **kwargs: Any) -> None:
    """An ended episode starts its follow-up questionnaires, in the same transaction as
    the ending (care/hooks.py)."""
    from reverie.measures.scheduling import schedule_followups

    schedule_followups(ctx, episode)


class MeasuresConfig(AppConfig):
    name = "reverie.measures"
    label = "measures"

    def ready(self) -> None:
        from reverie.care import hooks
        from reverie.measures import (
            jobs,  # noqa: F401  (registers the measurement jobs)
            today,
        )

        post_migrate.connect(_sync, sender=self)
        hooks.episode_ended.connect(_followups, dispatch_uid="measures.followups")
        hooks.provide_questionnaires(today.READER)
