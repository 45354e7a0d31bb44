from django.urls import path

from reverie.process import ccrt_views, journal_views, theme_views, views

app_name = "process"

urlpatterns = [
    # The therapist's process overview of one client, and the seven-feature reflection.
    path("clients/<int:pk>/", views.client_overview, name="client"),
    path("sessions/<int:pk>/reflect/", views.reflect, name="reflect"),
    path("episodes/<int:pk>/profile/", views.episode_profile, name="episode_profile"),
    path("profile/", views.my_profile, name="my_profile"),
    # Relationship episodes and the CCRT.
    path(
        "clients/<int:pk>/relationship-episodes/new/",
        ccrt_views.relationship_new,
        name="relationship_new",
    ),
    path("relationship-episodes/<int:pk>/", ccrt_views.relationship_edit, name="relationship"),
    path("clients/<int:pk>/ccrt/", ccrt_views.ccrt_summary, name="ccrt"),
    path("clients/<int:pk>/ccrt/groups/", ccrt_views.ccrt_groups, name="ccrt_groups"),
    path("clients/<int:pk>/ccrt/suggest/", ccrt_views.ccrt_suggest, name="ccrt_suggest"),
    path("categories/", ccrt_views.category_sets, name="category_sets"),
    path("categories/<int:pk>/active/", ccrt_views.category_set_toggle, name="category_set_toggle"),
    # The client's journal, and shared entries as the therapist sees them.
    path("journal/", journal_views.journal, name="journal"),
    path("journal/new/", journal_views.journal_new, name="journal_new"),
    path("journal/<int:pk>/", journal_views.journal_entry, name="journal_entry"),
    path("journal/<int:pk>/share/", journal_views.journal_share, name="journal_share"),
    path("journal/<int:pk>/delete/", journal_views.journal_delete, name="journal_delete"),
    path("shared/<int:pk>/", journal_views.shared_entry, name="shared_entry"),
    path("shared/<int:pk>/link/", journal_views.shared_entry_link, name="shared_entry_link"),
    # Recurring themes.
    path("clients/<int:pk>/themes/", theme_views.themes, name="themes"),
    path("clients/<int:pk>/themes/run/", theme_views.themes_run, name="themes_run"),
    path("runs/<int:pk>/", theme_views.theme_run_status, name="theme_run_status"),
    path("runs/<int:pk>/cancel/", theme_views.theme_run_cancel, name="theme_run_cancel"),
    path("themes/<int:pk>/", theme_views.theme_detail, name="theme"),
    path("themes/<int:pk>/update/", theme_views.theme_update, name="theme_update"),
    path("clients/<int:pk>/themes/seed/", theme_views.theme_seed, name="theme_seed"),
    path("themes/<int:pk>/judge/", theme_views.theme_judge, name="theme_judge"),
]
