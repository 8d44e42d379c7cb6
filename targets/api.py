"""DRF endpoints for campaigns, indicator targets, rollups and dashboards, scoped through portal.scoping.ScopeFilterBackend."""
