from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "reverie.audit"
    label = "audit"
