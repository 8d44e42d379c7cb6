"""Celery tasks of the patient files: the shared import runner's (portal.importing), as the
ledger's: `patients.validate_import`, `patients.commit_import`, `patients.close_interrupted_imports`
(beat), and the nightly purge of uploads past retention."""

from celery import shared_task

from patients.imports import PATIENTS
from portal.importing import celery_tasks

_import_tasks = celery_tasks(PATIENTS)
validate_import = _import_tasks["validate"]
commit_import = _import_tasks["commit"]
close_interrupted_imports = _import_tasks["close_interrupted"]


@shared_task(name="patients.purge_old_files", ignore_result=True)
def purge_old_files() -> None:
    PATIENTS.close_interrupted()
    PATIENTS.purge_files()
