from django.urls import path

from reverie.overview import views

app_name = "overview"

urlpatterns = [
    path("", views.practice, name="practice"),
]
