"""Celery tasks for the employer dust-hazard ledger: one-line wrappers around services."""
