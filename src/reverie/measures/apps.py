from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync(sender: AppConfig, **kwargs: Any) -> None:
    from reverie.measures.registry import sync_shipped_instruments

    sync_shipped_instruments()


class MeasuresConfig(AppConfig):
    name = "reverie.measures"
    label = "measures"

    def ready(self) -> None:
        from reverie.measures import jobs  # noqa: F401  (registers the measurement jobs)

        post_migrate.connect(_sync, sender=self)
