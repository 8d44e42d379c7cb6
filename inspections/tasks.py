"""Celery tasks for inspection plans, teams, checklists, findings and reports: one-line wrappers around services."""
