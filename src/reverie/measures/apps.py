from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "reverie.measures"
    label = "measures"
