from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "reverie.demo"
    label = "demo"
