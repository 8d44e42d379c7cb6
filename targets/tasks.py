"""Celery tasks of the rollups: thin wrappers around targets.services."""

from celery import shared_task

from targets import services


@shared_task(acks_late=True)
def recompute_dirty() -> int:
    """Idempotent: claims marks with SKIP LOCKED and overwrites whole rows."""
    return len(services.rollup_recompute_dirty())


@shared_task(acks_late=True)
def recompute_all() -> int:
    return len(services.rollup_recompute_all())
