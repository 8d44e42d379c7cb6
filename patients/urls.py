from django.urls import path

from patients import views, views_excel

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("overdue/", views.overdue_list, name="overdue"),
    path("new/", views.patient_edit, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/move/", views.patient_move, name="move"),
    path("<int:pk>/followups/new/", views.followup_create, name="followup-create"),
    path("relief/", views.relief_list, name="relief"),
    path("relief/<int:pk>/", views.relief_detail, name="relief-detail"),
    path("rehab/", views.rehab, name="rehab"),
    path("rehab/sites/new/", views.rehab_site_edit, name="rehab-site-create"),
    path("rehab/sites/<int:pk>/", views.rehab_site_edit, name="rehab-site-edit"),
    path("access-log/", views.access_log, name="access-log"),
    path("excel/template/", views_excel.template, name="excel-template"),
    path("excel/export/", views_excel.export, name="excel-export"),
    path("excel/import/", views_excel.upload, name="import"),
    path("excel/import/<int:pk>/", views_excel.job_views.page, name="import-job"),
    path("excel/import/<int:pk>/status/", views_excel.job_views.status, name="import-status"),
    path("excel/import/<int:pk>/commit/", views_excel.job_views.commit, name="import-commit"),
    path("excel/import/<int:pk>/errors/", views_excel.job_views.errors, name="import-errors"),
]
