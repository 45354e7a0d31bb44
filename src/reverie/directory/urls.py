"""The front door (public pages at the site root) and its staff pages."""

from django.urls import path

from reverie.directory import public_views, staff_views

app_name = "directory"

urlpatterns = [
    # Public: no account needed.
    path("learn/", public_views.learn, name="learn"),
    path("learn/<slug:slug>/", public_views.learn_page, name="learn_page"),
    path("self-check/", public_views.selfcheck_view, name="selfcheck"),
    path("therapists/", public_views.therapists, name="therapists"),
    path("therapists/<int:pk>/", public_views.therapist, name="therapist"),
    path("therapists/<int:pk>/photo.jpg", public_views.therapist_photo, name="therapist_photo"),
    path("consultation/", public_views.consult, name="consult"),
    path("consultation/sent/", public_views.consult_sent, name="consult_sent"),
    # A therapist's own profile.
    path("profile/", staff_views.profile_edit, name="profile_edit"),
    # The practice admin's pages.
    path("practice/intake/", staff_views.intake, name="intake"),
    path("practice/intake/<int:pk>/", staff_views.intake_request, name="intake_request"),
    path("practice/intake/<int:pk>/convert/", staff_views.intake_convert, name="intake_convert"),
    path("practice/directory/", staff_views.profiles_admin, name="profiles_admin"),
    path(
        "practice/directory/<int:pk>/published/",
        staff_views.profile_publish,
        name="profile_publish",
    ),
    path("practice/pages/", staff_views.pages_admin, name="pages_admin"),
    path("practice/pages/<slug:slug>/", staff_views.page_edit, name="page_edit"),
    path("practice/pages/<slug:slug>/reset/", staff_views.page_reset, name="page_reset"),
]
