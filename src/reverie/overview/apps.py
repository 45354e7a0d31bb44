"""The practice overview: the admin's figures across every domain, with a year's trend."""

from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "reverie.overview"
    label = "overview"
    verbose_name = "Practice overview"
