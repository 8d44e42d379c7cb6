"""The Celery path of the coverage import, with a real worker process: a file above the inline
threshold is stored, imported by the task while the page polls the status partial, and the
stored upload is deleted when it finishes."""

import datetime

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from insurance import services
from insurance.models import CoverageImportJob, CoverageImportStatus, InsuranceCoverage, WorkerCoverage
from ledger.demo import demo_uscc
from tests.factories import poll_import_status
from tests.insurance.conftest import ID_A, ID_B, add_worker
from tests.insurance.test_services import unit, xlsx

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN_UNITS = 12_000  # about 290 KB of xlsx: above the 256 KB threshold
SETTLED = set(CoverageImportStatus) - {CoverageImportStatus.PENDING, CoverageImportStatus.RUNNING}


def poll(client, job: CoverageImportJob) -> CoverageImportJob:
    job, partial = poll_import_status(client, reverse("insurance:import-job-status", args=[job.pk]), job, SETTLED)
    assert "hx-trigger" not in partial  # the page stops polling
    return job


def upload(client, county, period, content, name="社保导出（全区）.xlsx"):
    return client.post(reverse("insurance:import"), {
        "region": county.pk, "period": period.pk, "file": SimpleUploadedFile(name, content)})


def test_a_large_file_is_imported_by_the_worker(celery_worker_process, reference_data, client, ledger, hrss_clerk,
                                                period_2020h1, county):
    add_worker(ledger["cement"], "赵一", ID_A)
    add_worker(ledger["cement"], "钱二", ID_B)
    as_of = datetime.date(2020, 6, 30)
    rows = [unit(ledger["cement"], 61), unit(ledger["coal"], 50)] + [
        (f"社保登记单位{i}", demo_uscc("371502", 100_000 + i), i % 40, as_of) for i in range(UNKNOWN_UNITS)]
    content = xlsx(rows, persons=[("赵一", ID_A, ledger["cement"].uscc)])
    assert len(content) > services.import_inline_max_bytes()
    client.force_login(hrss_clerk)
    response = upload(client, county, period_2020h1, content)
    job = CoverageImportJob.objects.get()
    path = job.file.name
    try:
        assert response.status_code == 302
        assert job.status in (CoverageImportStatus.PENDING, CoverageImportStatus.RUNNING)  # not in the request
        page = client.get(response["Location"]).content.decode()
        assert 'data-testid="import-progress"' in page and 'hx-trigger="every 1s"' in page

        job = poll(client, job)
        assert job.status == CoverageImportStatus.DONE, job.errors[:5]
        assert (job.rows_done, job.rows_total) == (len(rows) + 1, len(rows) + 1)  # units and the one person
        record = job.result
        assert (record.rows_total, record.rows_matched, len(record.unmatched)) == (len(rows), 2, UNKNOWN_UNITS)
        assert (record.workers_insured, record.workers_uninsured) == (1, 1)
        assert dict(InsuranceCoverage.objects.values_list("employer__name", "insured_workers")) == {
            "鑫达水泥有限公司": 61, "恒泰煤业有限公司": 50}
        assert WorkerCoverage.objects.filter(insured=True).count() == 1
        assert job.file.name == "" and not default_storage.exists(path)  # ID numbers not kept
        page = client.get(reverse("insurance:import-job", args=[job.pk])).content.decode()
        assert 'data-testid="import-result"' in page and f"台帐中没有的单位 {UNKNOWN_UNITS} 家" in page
    finally:
        default_storage.delete(path)


def test_a_rejected_large_file_shows_the_row_report(celery_worker_process, reference_data, client, ledger,
                                                    hrss_clerk, period_2020h1, county, settings):
    settings.PNEUMO_COVERAGE_INLINE_MAX_BYTES = 1000  # the view's threshold; the worker needs none
    content = xlsx([unit(ledger["cement"], 101), unit(ledger["coal"], 50)])
    client.force_login(hrss_clerk)
    upload(client, county, period_2020h1, content)
    job = CoverageImportJob.objects.get()
    path = job.file.name
    try:
        job = poll(client, job)
        assert job.status == CoverageImportStatus.INVALID
        assert [(e["row"], e["column"]) for e in job.errors] == [(2, "参保人数")]
        assert not InsuranceCoverage.objects.exists() and not default_storage.exists(path)
        page = client.get(reverse("insurance:import-job", args=[job.pk])).content.decode()
        assert 'data-testid="import-errors"' in page and "参保人数大于该单位台帐职工总人数（100）" in page
    finally:
        default_storage.delete(path)
