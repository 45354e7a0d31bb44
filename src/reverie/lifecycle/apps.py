"""Data lifecycle: a client's complete record as one download, and retention review."""

from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "reverie.lifecycle"
    label = "lifecycle"
    verbose_name = "Data lifecycle"

    def ready(self) -> None:
        from reverie.lifecycle import jobs  # noqa: F401  (registers the export jobs)
