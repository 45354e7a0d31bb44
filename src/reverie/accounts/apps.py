from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "reverie.accounts"
    label = "accounts"

    def ready(self) -> None:
        from reverie.accounts import jobs, signals  # noqa: F401  (registers jobs and audit hooks)
