from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "reverie.audit"
    label = "audit"

    def ready(self) -> None:
        from reverie.audit import jobs  # noqa: F401  (registers the checkpoint and verify jobs)
