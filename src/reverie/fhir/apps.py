from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "reverie.fhir"
    label = "fhir"

    def ready(self) -> None:
        from reverie.core import errors
        from reverie.fhir.views import error_outcome

        # Unknown paths and refused requests under /fhir/ answer with an OperationOutcome.
        errors.register("/fhir/", error_outcome)
