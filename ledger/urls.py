from django.urls import include, path

from ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.employer_list, name="employers"),
    path("employers/new/", views.employer_edit, name="employer-create"),
    path("employers/<int:pk>/", views.employer_detail, name="employer-detail"),
    path("employers/<int:pk>/edit/", views.employer_edit, name="employer-edit"),
    path("employers/<int:employer_pk>/workers/new/", views.worker_edit, name="worker-create"),
    path("employers/<int:employer_pk>/workers/<int:pk>/", views.worker_edit, name="worker-edit"),
    path("records/<int:pk>/edit/", views.record_edit, name="record-edit"),
    path("periods/", views.period_overview, name="periods"),
    path("periods/new/", views.period_create, name="period-create"),
    path("periods/deadline/", views.period_deadline, name="period-deadline"),
    path("periods/open/", views.period_open, name="period-open"),
    path("submissions/<int:pk>/submit/", views.submission_submit, name="submission-submit"),
    path("submissions/<int:pk>/return/", views.submission_return, name="submission-return"),
    path("submissions/<int:pk>/approve/", views.submission_approve, name="submission-approve"),
    path("submissions/<int:pk>/accept/", views.submission_accept, name="submission-accept"),
    path("completeness/", views.completeness, name="completeness"),
    path("excel/", include("ledger.urls_import")),
]
