from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "reverie.directory"
    label = "directory"
