"""Process note routes. They keep their old names and addresses in care's namespace
(``care:process_note*`` under ``/care/``): ``reverie/urls.py`` adds these patterns to care's,
as it does for the caseload."""

from django.urls import path

from reverie.process import note_views

urlpatterns = [
    path(
        "episodes/<int:pk>/process-notes/new/",
        note_views.process_note_new,
        name="process_note_new",
    ),
    path("process-notes/<int:pk>/", note_views.process_note, name="process_note"),
    path("process-notes/<int:pk>/save/", note_views.process_note_save, name="process_note_save"),
]
