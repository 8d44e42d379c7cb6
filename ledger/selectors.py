"""Every read of the employer dust-hazard ledger that a view or the API uses, always through portal.scoping."""
