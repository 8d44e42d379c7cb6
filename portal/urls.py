from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from inspections import api as inspections_api
from insurance import api as insurance_api
from ledger import api as ledger_api
from patients import api as patients_api
from portal import api, views, views_exports
from targets import api as targets_api

router = DefaultRouter()
router.register("regions", api.RegionViewSet, basename="region")
router.APIRootView.scope_access = api.LOGIN_ONLY

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", views.logout, name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("accounts/password/done/", views.password_change_done, name="password_change_done"),
    path("i18n/setlang/", views.language, name="set_language"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<int:pk>/", views.user_detail, name="user-detail"),
    path("users/<int:pk>/grant/", views.user_grant, name="user-grant"),
    path("users/<int:pk>/revoke/", views.user_revoke, name="user-revoke"),
    path("users/<int:pk>/update/", views.user_update, name="user-update"),
    path("users/<int:pk>/activate/", views.user_activate, name="user-activate"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("users/<int:pk>/password/", views.user_password, name="user-password"),
    path("exports/<str:token>/", views_exports.export_status, name="export-status"),
    path("exports/<str:token>/download/", views_exports.export_download, name="export-download"),
    path("regions/", views.regions, name="regions"),
    path("regions/zones/", views.region_zone_create, name="region-zone-create"),
    path("regions/<str:code>/edit/", views.region_edit, name="region-edit"),
    path("api/me/", api.MeView.as_view(), name="api-me"),
    path("api/schema/", api.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api.SchemaDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("api/ledger/", include(ledger_api.router.urls)),
    path("api/targets/", include(targets_api.router.urls)),
    path("api/insurance/", include(insurance_api.router.urls)),
    path("api/inspections/", include(inspections_api.router.urls)),
    path("api/patients/", include(patients_api.router.urls)),
    path("ledger/", include("ledger.urls")),
    path("dashboard/", include("targets.urls")),
    path("insurance/", include("insurance.urls")),
    path("inspections/", include("inspections.urls")),
    path("patients/", include("patients.urls")),
    path("worklist/", include("worklist.urls")),
    path("admin/", admin.site.urls),
]
