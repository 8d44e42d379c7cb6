"""Readiness and the metrics computed at scrape time (queue length, rollup lag)."""

from __future__ import annotations

import datetime
import logging
import os

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

log = logging.getLogger(__name__)
BEAT_STALE_AFTER = datetime.timedelta(minutes=15)


def _check(name: str, func) -> bool:
    try:
        return bool(func())
    except Exception as exc:  # noqa: BLE001 - a failing dependency is a "no", reported by name
        log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        return False


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _redis() -> bool:
    cache.set("portal:readyz", 1, timeout=30)
    return cache.get("portal:readyz") == 1


def queues_served(active_queues: dict | None) -> bool:
    """Whether the workers' replies to `inspect().active_queues()` cover the default queue and the
    exports' (portal.celery.export_queue): with only one served, saves' rollups or exports would
    wait for good while a plain ping said ready."""
    from portal.celery import export_queue

    served = {queue["name"] for queues in (active_queues or {}).values() for queue in queues}
    return {settings.CELERY_TASK_DEFAULT_QUEUE, export_queue()} <= served


def _worker() -> bool:
    from portal.celery import app

    return queues_served(app.control.inspect(timeout=settings.PNEUMO_READY_WORKER_TIMEOUT).active_queues())


def _beat() -> bool:
    from django_celery_beat.models import PeriodicTask

    last = PeriodicTask.objects.filter(enabled=True).order_by("-last_run_at").values_list("last_run_at", flat=True)
    return bool(last) and last[0] is not None and last[0] >= timezone.now() - BEAT_STALE_AFTER


def readiness() -> dict[str, bool]:
    return {"database": _check("database", _database), "redis": _check("redis", _redis),
            "worker": _check("worker", _worker), "beat": _check("beat", _beat)}


def metrics_text() -> tuple[bytes, str]:
    """The process's (or, with PROMETHEUS_MULTIPROC_DIR, every process's) counters, plus gauges
    read now: the Celery queue's length and the rollup lag (age of the oldest dirty mark)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    extra = CollectorRegistry()
    queue = Gauge("pneumo_celery_queue_length", "Tasks waiting in the Celery queues (default and exports)",
                  registry=extra)
    lag = Gauge("pneumo_rollup_lag_seconds", "Age of the oldest dirty rollup mark (0: none)", registry=extra)
    try:
        from portal.celery import app, export_queue

        with app.connection_for_read() as conn:
            redis = conn.default_channel.client
            queue.set(redis.llen(settings.CELERY_TASK_DEFAULT_QUEUE) + redis.llen(export_queue()))
    except Exception as exc:  # noqa: BLE001 - the broker is down: leave the gauge out
        log.warning("metrics: queue length unavailable: %s", type(exc).__name__)
    from targets.models import DirtyCounty

    oldest = DirtyCounty.objects.order_by("marked_at").values_list("marked_at", flat=True).first()
    lag.set((timezone.now() - oldest).total_seconds() if oldest else 0)
    return generate_latest(registry) + generate_latest(extra), CONTENT_TYPE_LATEST
