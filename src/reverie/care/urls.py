from django.urls import path

from reverie.care import calendar_views, record_views, views

app_name = "care"

urlpatterns = [
    path("today/", record_views.today, name="today"),
    path("me/", views.client_home, name="client_home"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge_alert, name="acknowledge_alert"),
    path("clients/", record_views.client_list, name="clients"),
    path("clients/new/", record_views.client_new, name="client_new"),
    path("clients/<int:pk>/", record_views.client_detail, name="client"),
    path("clients/<int:pk>/edit/", record_views.client_edit, name="client_edit"),
    path("clients/<int:pk>/episodes/new/", record_views.episode_new, name="episode_new"),
    path("episodes/<int:pk>/status/", record_views.episode_status, name="episode_status"),
    path("episodes/<int:pk>/end/", record_views.episode_end, name="episode_end"),
    path("episodes/<int:pk>/frequency/", record_views.episode_frequency, name="episode_frequency"),
    path("episodes/<int:pk>/series/new/", record_views.series_new, name="series_new"),
    path("episodes/<int:pk>/breaks/new/", record_views.break_new, name="break_new"),
    path("episodes/<int:pk>/notes/new/", record_views.progress_note_new, name="progress_note_new"),
    path("series/<int:pk>/change/", record_views.series_change, name="series_change"),
    path("sessions/<int:pk>/attendance/", record_views.attendance, name="attendance"),
    path("sessions/<int:pk>/video/", record_views.session_video, name="session_video"),
    path("notes/<int:pk>/", record_views.progress_note, name="progress_note"),
    path("notes/<int:pk>/save/", record_views.progress_note_save, name="progress_note_save"),
    path("notes/<int:pk>/sign/", record_views.progress_note_sign, name="progress_note_sign"),
    path(
        "notes/<int:pk>/addendum/",
        record_views.progress_note_addendum,
        name="progress_note_addendum",
    ),
    path("calendar/", calendar_views.calendar_settings, name="calendar"),
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
]
