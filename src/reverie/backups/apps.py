"""Backups: encrypted archives of the whole installation, and restoring them."""

from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "reverie.backups"
    label = "backups"
    verbose_name = "backups"
