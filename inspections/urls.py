"""URLs of supervision inspections."""

from django.urls import path

from inspections import views

app_name = "inspections"

urlpatterns = [
    path("", views.index, name="index"),
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("plans/new/", views.plan_create, name="plan-create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/teams/new/", views.team_create, name="team-create"),
    path("plans/<int:pk>/assignments/new/", views.assignment_create, name="assignment-create"),
    path("plans/<int:pk>/close/", views.plan_close, name="plan-close"),
    path("plans/<int:pk>/report/", views.plan_report, name="plan-report"),
    path("plans/<int:pk>/report.xlsx", views.plan_report_xlsx, name="plan-report-xlsx"),
    path("assignments/<int:pk>/", views.assignment_fill, name="fill"),
    path("assignments/<int:pk>/submit/", views.assignment_submit, name="submit"),
    path("assignments/<int:pk>/reassign/", views.assignment_reassign, name="assignment-reassign"),
    path("reports/<int:pk>/", views.inspection_report, name="report"),
    path("reports/<int:pk>/sign/", views.inspection_sign, name="sign"),
    path("reports/<int:pk>/return/", views.inspection_return, name="return"),
    path("reports/<int:pk>/signature.png", views.signature, name="signature"),
    path("photos/<uuid:client_uuid>", views.photo, name="photo"),
    path("findings/<int:pk>/evidence/<int:evidence_pk>", views.evidence, name="evidence"),
    path("reports/<int:pk>/report.xlsx", views.inspection_xlsx, name="report-xlsx"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/versions/<int:pk>/", views.checklist_version, name="checklist-version"),
    path("checklists/items/<int:pk>/", views.checklist_item_edit, name="checklist-item"),
    path("findings/", views.finding_list, name="findings"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("employers/<int:employer_pk>/findings/", views.employer_findings, name="employer-findings"),
]
