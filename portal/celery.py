import os

from celery import Celery
from celery.signals import task_failure, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _close_inherited_connections(**_kwargs):
    """A forked worker must not reuse the parent's database sockets."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()


@task_failure.connect
def _count_failure(sender=None, **_kwargs):
    from portal.metrics import TASK_FAILURES

    TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()
