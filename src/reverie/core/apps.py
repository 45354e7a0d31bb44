from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "reverie.core"
    label = "core"
    verbose_name = "Reverie core"
