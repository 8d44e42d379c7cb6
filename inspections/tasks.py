"""Celery tasks for inspection plans, teams, checklists, findings and reports: one-line wrappers
around services."""

from celery import shared_task


@shared_task(acks_late=True)
def close_expired_plans() -> int:
    """Nightly (django-celery-beat): plans whose report deadline has passed are closed."""
    from inspections.services import plans_close_expired

    return plans_close_expired()
