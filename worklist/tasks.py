"""Celery tasks of the notifications: thin wrappers around worklist.services. All idempotent
(events are claimed with SKIP LOCKED, notifications keyed per user), hence acks_late."""

from celery import shared_task

from worklist import services


@shared_task(acks_late=True)
def deliver_event(event_id: int) -> int:
    return services.event_deliver(event_id=event_id)


@shared_task(acks_late=True)
def sweep_events() -> int:
    return services.events_sweep()


@shared_task(acks_late=True)
def send_reminders() -> int:
    """Daily: deadline reminders (7 days and 1 day before) and overdue findings."""
    return services.deadline_reminders() + services.findings_overdue_notify()
