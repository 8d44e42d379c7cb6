"""Celery tasks for campaigns, indicator targets, rollups and dashboards: one-line wrappers around services."""
