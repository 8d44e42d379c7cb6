"""Migration patients 0004 moves the patient import jobs onto the shared runner's fields: a job
the old one-step runner failed keeps its reason as a line of the per-cell report, one it left
queued or running (no worker runs that task any more) ends "interrupted" with its upload (ID
numbers) deleted, and finished ones keep their figures."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.models import Region
from tests.factories import make_user
from tests.patients.conftest import COUNTY

BEFORE = [("patients", "0003_patient_rollup_summary")]
AFTER = [("patients", "0004_import_job_shared")]


@pytest.mark.django_db(transaction=True)
def test_old_patient_import_jobs_are_carried_onto_the_shared_runner(reference_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    clerk = make_user(COUNTY, username="migration_patient_clerk")
    county = Region.objects.select_related("parent").get(code=COUNTY)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        Job = executor.loader.project_state(BEFORE).apps.get_model("patients", "PatientImportJob")
        keys = {"created_by_id": clerk.pk, "province_id": county.parent.parent_id, "city_id": county.parent_id,
                "county_id": county.pk}
        upload = default_storage.save("patient-imports/old.xlsx", ContentFile(b"ID numbers"))
        running = Job.objects.create(**keys, original_name="跑着.xlsx", status="running", file=upload, rows_done=7)
        failed = Job.objects.create(**keys, original_name="坏.xlsx", status="failed", message="不是 Excel 工作簿")
        done = Job.objects.create(**keys, original_name="好.xlsx", status="done", rows_done=3, rows_created=2,
                                  rows_updated=1)
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    from patients.models import ImportStatus, PatientImportJob

    running, failed, done = (PatientImportJob.objects.get(pk=j.pk) for j in (running, failed, done))
    assert running.status == ImportStatus.INTERRUPTED and running.finished_at and not running.file
    assert not default_storage.exists(upload)
    assert "后台处理中断" in running.errors[0]["problem"] and running.rows_created == 0
    assert failed.status == ImportStatus.FAILED and failed.errors[0]["problem"] == "不是 Excel 工作簿"
    assert (done.status, done.rows_total, done.rows_created, done.rows_updated) == (ImportStatus.DONE, 3, 2, 1)
