"""Celery tasks for work-injury insurance coverage on the HRSS side: one-line wrappers around services.

Enqueue with `.delay_on_commit(...)`. Not `acks_late`: a task whose worker died is not run
again (a file that killed a worker would kill the next); the job's lease (portal.jobs) lets the
beat check close it as interrupted within minutes. A redelivered import finds its job claimed
and leaves it (the service claims it with a conditional UPDATE)."""

from celery import shared_task

from insurance import services


@shared_task(name="insurance.import_coverage", ignore_result=True)
def import_coverage(job_id: int) -> None:
    services.coverage_import_run(job_id=job_id)


@shared_task(name="insurance.close_interrupted_imports", ignore_result=True)
def close_interrupted_imports() -> None:
    services.coverage_jobs_close_interrupted()
