from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "reverie.core"
    label = "core"
    verbose_name = "Reverie core"

    def ready(self) -> None:
        from django.urls import register_converter

        from reverie.core import datadir
        from reverie.core.converters import IdConverter

        datadir.secure()
        # Before any URL configuration is imported: routes use ``<id:pk>``.
        register_converter(IdConverter, "id")
