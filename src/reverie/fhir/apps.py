from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "reverie.fhir"
    label = "fhir"
