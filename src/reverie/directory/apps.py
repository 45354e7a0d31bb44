from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "reverie.directory"
    label = "directory"

    def ready(self) -> None:
        from reverie.directory import jobs  # noqa: F401  (registers the front door's jobs)
