"""URLs of work-injury insurance coverage (HRSS side)."""

from django.urls import path

from insurance import views

app_name = "insurance"

urlpatterns = [
    path("", views.index, name="index"),
    path("handovers/new/", views.handover_create, name="handover-create"),
    path("handovers/<int:pk>/", views.handover_detail, name="handover-detail"),
    path("handovers/<int:pk>/employers/<int:employer_pk>/", views.handover_roster, name="handover-roster"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/import/", views.coverage_import, name="import"),
    path("coverage/import/template.xlsx", views.import_template, name="import-template"),
    path("coverage/import/jobs/<int:pk>/", views.import_job, name="import-job"),
    path("coverage/import/jobs/<int:pk>/status/", views.import_job_status, name="import-job-status"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("work-list/", views.work_list, name="work-list"),
    path("work-list/export.xlsx", views.work_list_export, name="work-list-export"),
    path("follow-ups/<int:employer_pk>/", views.follow_ups, name="follow-ups"),
    path("plans/", views.plans, name="plans"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("training/", views.training, name="training"),
]
