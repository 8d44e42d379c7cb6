from django.urls import path

from targets import views

app_name = "targets"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.dashboard_export, name="dashboard-export"),
    path("targets/", views.target_list, name="targets"),
    path("zero-penalty/", views.zero_penalty, name="zero-penalty"),
]
