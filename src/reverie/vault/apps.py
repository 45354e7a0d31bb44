from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "reverie.vault"
    label = "vault"
    verbose_name = "Encryption keys"

    def ready(self) -> None:
        from reverie.vault import checks, envelope

        envelope.connect_request_signals()
        checks.register()
