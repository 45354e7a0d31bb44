from django.urls import path

from reverie.lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("clients/<int:pk>/export/", views.client_export, name="client_export"),
    path("me/export/", views.my_export, name="my_export"),
    path("exports/<int:pk>/", views.export_status, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
