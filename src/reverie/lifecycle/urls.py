from django.urls import path

from reverie.lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("clients/<int:pk>/export/", views.client_export, name="client_export"),
    path("me/export/", views.my_export, name="my_export"),
]
