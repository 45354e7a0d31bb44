"""Measurement routes of the JSON API, mounted under /api/v1/ in the ``api`` namespace.
Each route must have an entry in :data:`reverie.measures.openapi.OPERATIONS`."""

from django.urls import URLPattern, path

from reverie.measures import api

urlpatterns: list[URLPattern] = [
    path("openapi.json", api.openapi, name="openapi"),
    path("instruments", api.instruments, name="instruments"),
    path("instruments/<slug:code>", api.instrument, name="instrument"),
    path("measures/requests", api.measure_requests, name="measure_requests"),
    path("measures/requests/<id:pk>", api.measure_request, name="measure_request"),
    path("measures/requests/<id:pk>/draft", api.measure_request_draft, name="measure_draft"),
    path("measures/requests/<id:pk>/submit", api.measure_request_submit, name="measure_submit"),
    path(
        "clients/<id:pk>/administrations",
        api.client_administrations,
        name="client_administrations",
    ),
    path("administrations/<id:pk>", api.administration, name="administration"),
    path("episodes/<id:pk>/schedule", api.episode_schedule, name="episode_schedule"),
]
