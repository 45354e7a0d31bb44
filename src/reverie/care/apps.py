from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "reverie.care"
    label = "care"
