"""The Celery path of the import, with a real worker process: a file above the inline
threshold is checked by a task while the page polls, then committed by another task."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ledger import columns as cols
from ledger.models import Employer, EmployerRecord, ImportJob, ImportStatus, RecordDustExposure
from portal.importing import inline_max_bytes, inline_max_rows
from portal.models import Region
from tests.factories import poll_import_status
from tests.ledger.test_import import make_row

ROWS = inline_max_rows() + 100  # above both thresholds: checked and committed by tasks


def big_workbook() -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(cols.SHEET_NAME)
    ws.append([cols.title_for("东昌府区")])
    ws.append([cols.note_line()])
    ws.append([c.group for c in cols.COLUMNS])
    ws.append(cols.HEADERS)
    for serial in range(1, ROWS + 1):
        row = make_row(serial, township=None)
        ws.append([row[c.key] for c in cols.COLUMNS])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_checked_and_committed_by_the_worker(
        celery_worker_process, reference_data, client, clerk, period_2020h1, open_submission):
    content = big_workbook()
    assert len(content) > inline_max_bytes()
    client.force_login(clerk)
    response = client.post(reverse("ledger:import"), {
        "county": Region.objects.get(code="371502").pk, "period": period_2020h1.pk,
        "file": SimpleUploadedFile("东昌府区台帐（全量）.xlsx", content)})
    job = ImportJob.objects.get()
    try:
        assert response.status_code == 302
        assert job.status in (ImportStatus.PENDING, ImportStatus.VALIDATING)  # not checked in the request
        page = client.get(response["Location"]).content.decode()
        assert 'data-testid="import-progress"' in page and 'hx-trigger="every 1s"' in page

        job, _partial = poll_import_status(client, reverse("ledger:import-status", args=[job.pk]), job,
                                           {ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.FAILED}, timeout=180)
        assert job.status == ImportStatus.VALIDATED, job.errors[:5]
        assert (job.rows_total, job.rows_done, job.rows_created) == (ROWS, ROWS, ROWS)
        assert not Employer.objects.exists()

        response = client.post(reverse("ledger:import-commit", args=[job.pk]))
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.status in (ImportStatus.IMPORTING, ImportStatus.DONE)  # handed to the worker
        job, _partial = poll_import_status(client, reverse("ledger:import-status", args=[job.pk]), job,
                                           {ImportStatus.DONE, ImportStatus.INVALID, ImportStatus.FAILED}, timeout=180)
        assert job.status == ImportStatus.DONE, job.errors[:5]
        assert (job.rows_created, job.rows_updated) == (ROWS, 0)
        assert Employer.objects.filter(county__code="371502").count() == ROWS
        assert EmployerRecord.objects.filter(period=period_2020h1).count() == ROWS
        assert RecordDustExposure.objects.count() == 2 * ROWS
        assert "导入完成" in client.get(reverse("ledger:import-job", args=[job.pk])).content.decode()
    finally:
        job.file.delete(save=False)
