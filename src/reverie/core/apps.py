from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "reverie.core"
    label = "core"
    verbose_name = "Reverie core"

    def ready(self) -> None:
        from reverie.core import datadir

        datadir.secure()
