from django.urls import path

from reverie.lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("clients/<int:pk>/export/", views.client_export, name="client_export"),
    path("me/export/", views.my_export, name="my_export"),
    path("exports/<int:pk>/", views.export_status, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("retention/", views.retention, name="retention"),
    path("clients/<int:pk>/erasure/", views.client_erasure, name="client_erasure"),
    path("erasures/<int:pk>/confirm/", views.erasure_confirm, name="erasure_confirm"),
    path("erasures/<int:pk>/withdraw/", views.erasure_withdraw, name="erasure_withdraw"),
]
