from django.apps import AppConfig


class ProcessConfig(AppConfig):
    name = "reverie.process"
    label = "process"
