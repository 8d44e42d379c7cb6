"""Background jobs that always end: a worker holds a lease on the job while it works, and a beat
check closes every job whose worker is gone.

The lease is a PostgreSQL session advisory lock on (job kind, job id), taken before the job is
marked started and held until its final status is written. It needs no heartbeat: when the
process holding it dies (SIGKILL, the OOM killer, a gunicorn timeout), its connection closes and
PostgreSQL rolls back its open transaction and releases the lock in the same moment, so "the lock
is free but the job says it is running" means exactly "its worker died, and nothing it was
writing was kept". `close_interrupted` (run every two minutes by beat) tries the lock of each
started job and closes the ones it gets; a job queued but never started (its task lost by the
broker) is closed once it has waited `QUEUE_LOST_AFTER`.

    with jobs.lease(job):            # in the task or the request, around the whole run
        ...mark started, work, write the final status...
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import zlib
from collections.abc import Callable, Iterator

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    VALIDATING = "validating", _("校验中")
    INVALID = "invalid", _("校验未通过")
    VALIDATED = "validated", _("校验通过，待确认导入")
    IMPORTING = "importing", _("导入中")
    DONE = "done", _("导入完成")
    FAILED = "failed", _("导入失败")
    REFUSED = "refused", _("文件无法读取")
    INTERRUPTED = "interrupted", _("已中断")


class ImportJobBase(models.Model):
    """One uploaded workbook: a dry run that reports every problem by cell, then, once the user
    confirms, an all-or-nothing commit (portal.importing runs both, for every kind of import).
    Each import's model adds its region keys and its own context (the ledger's period)."""

    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row", "column", "value", "problem", "expected"}]
    preview = models.JSONField(default=list, blank=True)
    # When the job was handed to a worker, and when one began it (under its lease).
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def progress_percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


# A job handed to Celery that no worker has started after this long lost its task.
QUEUE_LOST_AFTER = datetime.timedelta(minutes=30)


def _lock_class(model) -> int:
    """A stable 31-bit key per job model (the first key of the two-key advisory lock)."""
    return zlib.crc32(model._meta.label_lower.encode()) & 0x7FFFFFFF


@contextlib.contextmanager
def lease(job) -> Iterator[None]:
    """Hold the job's lease on this process's database session while working on it."""
    key = [_lock_class(type(job)), job.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        except Exception as exc:  # noqa: BLE001 - a broken connection released it already
            log.warning("job lease of %s %s not released (%s)", type(job).__name__, job.pk, type(exc).__name__)


def _worker_gone(model, pk: int) -> bool:
    """Whether nobody holds the job's lease (taken and dropped at once inside a transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_lock_class(model), pk])
        return bool(cursor.fetchone()[0])


def close_interrupted(model, *, running: list[str], queued: list[str], close: Callable[[object], bool],
                      import_kind: str | None = None) -> int:
    """Close the jobs of `model` whose worker died (in a `running` status, started, lease free)
    or whose task was lost (in a `queued` status, not started, queued long ago), with
    `close(job)` (which must change the status only if it is still the one read). Returns how
    many were closed; each counts as an "interrupted" outcome of `import_kind` imports."""
    closed = 0
    started = model.objects.filter(status__in=running, started_at__isnull=False)
    for job in started.iterator():
        if _worker_gone(model, job.pk) and close(job):
            closed += 1
    cutoff = timezone.now() - QUEUE_LOST_AFTER
    lost = model.objects.filter(status__in=queued, started_at__isnull=True, queued_at__lt=cutoff)
    for job in lost.iterator():
        if _worker_gone(model, job.pk) and close(job):
            closed += 1
    if closed:
        log.warning("%s: %s interrupted jobs closed", model._meta.label, closed)
        if import_kind:
            from portal.metrics import import_ended

            import_ended(import_kind, "interrupted", closed)
    return closed
