from django.urls import path

from reverie.scheduling import public_views

app_name = "scheduling"

urlpatterns = [
    # Public: booking a first consultation from a therapist's directory profile.
    path("therapists/<int:pk>/book/", public_views.book, name="book"),
    path("consultation/booked/", public_views.booked, name="booked"),
]
