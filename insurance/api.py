"""DRF endpoints for work-injury insurance coverage, scoped through portal.scoping.ScopeFilterBackend."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
router.include_root_view = False
