from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "reverie.care"
    label = "care"

    def ready(self) -> None:
        from reverie.care import jobs  # noqa: F401  (registers the alert escalation job)
