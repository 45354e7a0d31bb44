from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "reverie.care"
    label = "care"

    def ready(self) -> None:
        from reverie.audit import names
        from reverie.care import jobs  # noqa: F401  (registers the alert escalation job)
        from reverie.care.access import client_names

        # The audit pages name clients by the care app's access rules (audit/names.py).
        names.provide(client_names)
