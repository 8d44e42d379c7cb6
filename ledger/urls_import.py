"""URLs of the Excel template, import and export (included at /ledger/excel/)."""

from django.urls import path

from ledger import views_import, views_roster

urlpatterns = [
    path("template/", views_import.template_download, name="excel-template"),
    path("import/", views_import.import_upload, name="import"),
    path("import/<int:pk>/", views_import.job_views.page, name="import-job"),
    path("import/<int:pk>/status/", views_import.job_views.status, name="import-status"),
    path("import/<int:pk>/commit/", views_import.job_views.commit, name="import-commit"),
    path("import/<int:pk>/errors.xlsx", views_import.job_views.errors, name="import-errors"),
    path("roster/template/", views_roster.template, name="roster-template"),
    path("roster/import/", views_roster.upload, name="roster-import"),
    path("roster/export/", views_roster.export, name="roster-export"),
    path("export/", views_import.export, name="excel-export"),
]
