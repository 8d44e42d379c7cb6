"""Every write of the employer dust-hazard ledger: plain functions taking the acting user, one transaction each."""
