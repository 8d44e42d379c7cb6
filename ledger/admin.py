"""Django admin registrations for the employer dust-hazard ledger."""
