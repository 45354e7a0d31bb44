from django.urls import path

from reverie.messaging import views

app_name = "messaging"

urlpatterns = [
    # The client's own thread in the portal.
    path("", views.mine, name="mine"),
    # A therapist's threads and each client's thread.
    path("inbox/", views.inbox, name="inbox"),
    path("clients/<int:pk>/", views.thread, name="thread"),
    path("clients/<int:pk>/switch/", views.switch, name="switch"),
    # The practice admin's setting.
    path("settings/", views.practice_setting, name="settings"),
]
