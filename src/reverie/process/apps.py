"""Psychodynamic process: session reflection, CCRT workbench, client journal, recurring themes."""

from django.apps import AppConfig


class ProcessConfig(AppConfig):
    name = "reverie.process"
    label = "process"
    verbose_name = "Psychodynamic process"

    def ready(self) -> None:
        from reverie.process import jobs  # noqa: F401  (registers the theme-search job)
