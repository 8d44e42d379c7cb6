import os

from celery import Celery
from celery.signals import task_failure, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def export_queue() -> str:
    """The queue of the export tasks, beside the default one: exports take seconds to minutes,
    and on the shared queue two of them held both of the worker's slots while the rollup a save
    enqueues waited (save → province dashboard p95 39 s at 100 users in `make bench-load`). Its
    own worker (scripts/run.sh, docker-compose.yml) serves it one export at a time."""
    return f"{app.conf.task_default_queue}-exports"


def route_task(name, _args, _kwargs, _options, task=None, **_kw):
    """CELERY_TASK_ROUTES: exports to export_queue(), everything else to the default queue."""
    return {"queue": export_queue()} if name == "portal.export_write" else None


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
