"""The Celery path of the patient import with a real worker process, as the ledger's: above the
inline thresholds the dry run and the commit each run in the worker while the page polls."""

import pytest
from django.urls import reverse

from patients.models import ImportStatus, Patient, PatientImportJob
from portal.models import Region
from tests.factories import make_user, poll_import_status
from tests.patients.conftest import COUNTY
from tests.patients.test_excel import row, workbook


@pytest.mark.django_db(transaction=True)
def test_a_patient_list_is_checked_and_committed_by_the_worker(celery_worker_process, reference_data, client,
                                                                settings):
    settings.PNEUMO_IMPORT_INLINE_MAX_BYTES = 0  # the web side hands both steps to the worker
    settings.PNEUMO_IMPORT_INLINE_MAX_ROWS = 0
    clerk = make_user(COUNTY, username="worker_patient_clerk")
    client.force_login(clerk)
    response = client.post(reverse("patients:import"), {
        "county": Region.objects.get(code=COUNTY).pk,
        "file": workbook([row(), row(name="钱二", stage="1", employer_gone="否"), row(name="孙三")])})
    assert response.status_code == 302
    job = PatientImportJob.objects.get()
    assert job.status in (ImportStatus.PENDING, ImportStatus.VALIDATING)  # not checked in the request
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-progress"' in page and 'hx-trigger="every 1s"' in page

    status_url = reverse("patients:import-status", args=[job.pk])
    job, _partial = poll_import_status(client, status_url, job, {
        ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.FAILED, ImportStatus.REFUSED})
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert (job.rows_total, job.rows_created) == (3, 3) and not Patient.objects.exists()

    response = client.post(reverse("patients:import-commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status in (ImportStatus.IMPORTING, ImportStatus.DONE)  # handed to the worker
    job, _partial = poll_import_status(client, status_url, job, {ImportStatus.DONE, ImportStatus.INVALID,
                                                                  ImportStatus.FAILED})
    assert job.status == ImportStatus.DONE, job.errors
    assert Patient.objects.filter(county__code=COUNTY).count() == 3
    assert not job.file  # the upload (ID numbers) is gone once the job ends
    assert "导入完成" in client.get(reverse("patients:import-job", args=[job.pk])).content.decode()
