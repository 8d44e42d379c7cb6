"""Forms for the employer dust-hazard ledger."""
