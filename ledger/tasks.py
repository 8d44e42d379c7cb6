"""Celery tasks for the employer dust-hazard ledger: one-line wrappers around services.

Enqueue with `.delay_on_commit(...)` so a task never sees uncommitted data. The import tasks
are not `acks_late`: a task whose worker died is not run again (a file that killed a worker
would kill the next); the job's lease (portal.jobs) lets the beat check close it as
interrupted within minutes, and the clerk imports again.
"""

from celery import shared_task
from django.core.exceptions import PermissionDenied

from ledger import imports
from ledger.models import ImportJob
from portal import exports


def _job(job_id: int) -> ImportJob:
    return ImportJob.objects.select_related("county__parent", "period", "created_by").get(pk=job_id)


@shared_task(name="ledger.validate_import", ignore_result=True)
def validate_import(job_id: int, actor_id: int | None = None) -> None:
    job = _job(job_id)
    try:
        imports.import_validate(actor=imports.actor_for(job, actor_id), job=job)
    except PermissionDenied as exc:
        imports.import_refused(job, str(exc))


@shared_task(name="ledger.commit_import", ignore_result=True)
def commit_import(job_id: int, actor_id: int | None = None) -> None:
    job = _job(job_id)
    try:
        imports.import_commit(actor=imports.actor_for(job, actor_id), job=job, queued=True)
    except PermissionDenied as exc:
        imports.import_refused(job, str(exc))


@shared_task(name="ledger.close_interrupted_imports", ignore_result=True)
def close_interrupted_imports() -> None:
    imports.import_jobs_close_interrupted()


@shared_task(name="ledger.purge_old_files", ignore_result=True)
def purge_old_files() -> None:
    imports.import_jobs_fail_interrupted()
    imports.import_files_purge()
    exports.purge()
