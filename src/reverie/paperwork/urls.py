from django.urls import path

from reverie.paperwork import views

app_name = "paperwork"

urlpatterns = [
    # The client's own forms in the portal.
    path("", views.mine, name="mine"),
    path("<int:pk>/sign/", views.sign, name="sign"),
    path("<int:pk>/signed.pdf", views.signed_pdf, name="pdf"),
    # A client's forms for their therapists and the practice admin.
    path("clients/<int:pk>/", views.client_forms, name="client"),
    path("clients/<int:pk>/send/", views.send, name="send"),
    path("clients/<int:pk>/documents/", views.upload, name="upload"),
    path("documents/<int:pk>/", views.document, name="document"),
    # The practice admin's forms and their versions.
    path("forms/", views.practice_forms, name="forms"),
    path("forms/<int:pk>/", views.form_edit, name="form_edit"),
]
