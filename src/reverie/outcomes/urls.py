from django.urls import path

from reverie.outcomes import support_views, views

app_name = "outcomes"

urlpatterns = [
    path("", views.practice_dashboard, name="dashboard"),
    path("progress/", views.refresh_progress, name="progress"),
    path("report.pdf", views.practice_pdf, name="practice_pdf"),
    path("dataset.csv", views.export_csv, name="export_csv"),
    path("recompute/", views.recompute, name="recompute"),
    path("publish/", views.publish, name="publish"),
    path("public/", views.public, name="public"),
    path("me/", views.my_progress, name="my_progress"),
    path("clients/<int:pk>/", views.trajectory_page, name="trajectory"),
    path("clients/<int:pk>/report.pdf", views.trajectory_pdf, name="trajectory_pdf"),
    path("alerts/<int:pk>/review/", support_views.support_review, name="support_review"),
]
