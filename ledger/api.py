"""DRF endpoints for the employer dust-hazard ledger, scoped through portal.scoping.ScopeFilterBackend."""
