from django.urls import path

from reverie.scheduling import portal_views, public_views, staff_views, waitlist_views

app_name = "scheduling"

urlpatterns = [
    # Public: booking a first consultation from a therapist's directory profile.
    path("therapists/<int:pk>/book/", public_views.book, name="book"),
    path("consultation/booked/", public_views.booked, name="booked"),
    path("therapists/<int:pk>/waitlist/", waitlist_views.join, name="waitlist_join"),
    path("waitlist/offer/<str:token>/", waitlist_views.offer, name="offer"),
    # The client's sessions in the portal.
    path("me/sessions/", portal_views.my_sessions, name="my_sessions"),
    path("me/sessions/<int:pk>/cancel/", portal_views.cancel, name="cancel"),
    path("me/sessions/<int:pk>/move/", portal_views.move, name="move"),
    # The therapist's requests and consultations; the practice admin's settings.
    path("scheduling/requests/", staff_views.requests, name="requests"),
    path("scheduling/requests/<int:pk>/answered/", staff_views.answer, name="answer"),
    path("practice/scheduling/", staff_views.settings_page, name="settings"),
    path("practice/waitlist/", waitlist_views.entries, name="waitlist"),
    path("practice/waitlist/<int:pk>/remove/", waitlist_views.remove, name="waitlist_remove"),
]
