"""DRF endpoints for inspections, scoped through portal.scoping and guarded by object permissions."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
router.include_root_view = False
