from django.urls import path

from targets import views

app_name = "targets"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.dashboard_export, name="dashboard-export"),
    path("targets/", views.target_list, name="targets"),
    path("zero-penalty/", views.zero_penalty, name="zero-penalty"),
    path("reported/", views.reported_figures, name="reported"),
    path("reported/<int:pk>/review/", views.reported_figure_review, name="reported-review"),
    path("reported/<int:pk>/evidence/", views.reported_figure_evidence, name="reported-evidence"),
]
