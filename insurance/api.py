"""DRF endpoints for work-injury insurance coverage on the HRSS side, scoped through portal.scoping.ScopeFilterBackend."""
