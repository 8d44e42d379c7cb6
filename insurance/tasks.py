"""Celery tasks for work-injury insurance coverage on the HRSS side: one-line wrappers around services."""
