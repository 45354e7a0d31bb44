"""FHIR Bulk Data routes, mounted under /fhir/ before the rest of the FHIR API (the bulk
export needs the worker's export machinery, which lives in this app, above ``fhir``)."""

from django.urls import path

from reverie.lifecycle import bulk_views

app_name = "bulk"

urlpatterns = [
    path("$export", bulk_views.system_export, name="system"),
    path("Patient/$export", bulk_views.patient_export, name="patient"),
    path("Group/<id:pk>/$export", bulk_views.group_export, name="group"),
    path("$export-status/<id:pk>", bulk_views.status, name="status"),
    path("$export-status/<id:pk>/<str:kind>.ndjson", bulk_views.export_file, name="file"),
]
