"""Measurement pages: the client's portal under /measures/, one-time links under /m/, and
the therapist's and admin's measurement pages under /measures/."""

from django.urls import path

from reverie.measures import views

app_name = "measures"

urlpatterns = [
    path("measures/", views.portal, name="portal"),
    path("measures/r/<int:pk>/", views.answer, name="answer"),
    path("measures/r/<int:pk>/save", views.save, name="save"),
    path("measures/r/<int:pk>/done/", views.done, name="done"),
    path("m/<str:token>/", views.link, name="link"),
    path("m/<str:token>/save", views.link_save, name="link_save"),
    path("measures/clients/<int:pk>/", views.client_measures, name="client"),
    path("measures/clients/<int:pk>/paper/", views.paper, name="paper"),
    path("measures/clients/<int:pk>/ask/", views.ask, name="ask"),
    path("measures/episodes/<int:pk>/schedule/", views.schedule, name="schedule"),
    path("measures/requests/<int:pk>/send/", views.send_link, name="send_link"),
    path("measures/requests/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("measures/results/<int:pk>/", views.administration, name="administration"),
    path("measures/instruments/", views.instruments, name="instruments"),
    path("measures/instruments/import/", views.import_instrument, name="import"),
    path("measures/instruments/<slug:code>/", views.instrument, name="instrument"),
]
