from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "reverie.outbox"
    label = "outbox"
    verbose_name = "Outgoing messages"

    def ready(self) -> None:
        from reverie.outbox import checks, delivery, jobs  # noqa: F401  (registers the job)

        delivery.connect_request_signals()
        checks.register()
