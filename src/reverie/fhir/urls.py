"""The FHIR R4 API, mounted at /fhir/ (see docs/fhir.md)."""

from django.urls import path

from reverie.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("Questionnaire", views.questionnaire_search, name="questionnaire_search"),
    path("Questionnaire/<slug:code>", views.questionnaire_read, name="questionnaire"),
    path(
        "QuestionnaireResponse",
        views.questionnaire_response_create,
        name="questionnaire_response_create",
    ),
    path(
        "QuestionnaireResponse/<id:pk>",
        views.questionnaire_response_read,
        name="questionnaire_response",
    ),
    path("Observation", views.observation_search, name="observation_search"),
    path("Observation/<str:observation_id>", views.observation_read, name="observation"),
    path("Patient", views.patient_search, name="patient_search"),
    path("Patient/<id:pk>", views.patient_read, name="patient"),
    path("Patient/<id:pk>/$everything", views.patient_everything, name="patient_everything"),
]
