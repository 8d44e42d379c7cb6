"""Celery tasks for the employer dust-hazard ledger: one-line wrappers around services.

Enqueue with `.delay_on_commit(...)` so a task never sees uncommitted data. The import tasks
(`ledger.validate_import`, `ledger.commit_import`, `ledger.close_interrupted_imports`) are the
shared runner's (portal.importing.celery_tasks): not `acks_late`, a task whose worker died is
not run again (a file that killed a worker would kill the next); the job's lease
(portal.jobs) lets the beat check close it as interrupted within minutes.
"""

from celery import shared_task

from ledger import imports
from portal import exports
from portal.importing import celery_tasks

_import_tasks = celery_tasks(imports.LEDGER)
validate_import = _import_tasks["validate"]
commit_import = _import_tasks["commit"]
close_interrupted_imports = _import_tasks["close_interrupted"]


@shared_task(name="ledger.purge_old_files", ignore_result=True)
def purge_old_files() -> None:
    imports.LEDGER.close_interrupted()  # also nightly: beat's own check may have been down
    imports.LEDGER.purge_files()
    exports.purge()
