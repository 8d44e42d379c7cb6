"""DRF endpoints for inspection plans, teams, checklists, findings and reports, scoped through portal.scoping.ScopeFilterBackend."""
