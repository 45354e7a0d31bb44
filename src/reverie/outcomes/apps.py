"""Outcomes: change metrics, trajectories, practice evidence and reports."""

from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "reverie.outcomes"
    label = "outcomes"

    def ready(self) -> None:
        from reverie.outcomes import jobs  # noqa: F401  (registers the refresh jobs)
