"""Celery tasks of the patient files: thin wrappers around the import service."""

from celery import shared_task

from patients import imports


@shared_task(name="patients.run_import", ignore_result=True)
def run_import(job_id: int) -> None:
    imports.job_run(job_id)
