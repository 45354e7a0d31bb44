from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "reverie.outcomes"
    label = "outcomes"
