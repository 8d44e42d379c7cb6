"""Background coverage imports, in-process: what runs inline and what is queued, the job's
claim, progress, outcome (done, invalid, failed), the stored upload's deletion, and who may
see the job. The Celery round trip with a real worker is in test_import_task.py."""

import logging

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from insurance import services
from insurance.models import CoverageImport, CoverageImportJob, CoverageImportStatus, InsuranceCoverage, WorkerCoverage
from portal.models import Membership
from tests.insurance.conftest import ID_A, ID_B, add_worker
from tests.insurance.test_services import unit, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored_files():
    """Paths stored by the test's jobs, removed afterwards whatever happened."""
    paths = []
    yield paths
    for path in paths:
        default_storage.delete(path)


def enqueue(actor, region, period, content, stored_files, *, name="社保导出.xlsx", persons=None):
    job = services.coverage_import_enqueue(
        actor=actor, region=region, period=period, upload=SimpleUploadedFile(name, content),
        persons_upload=SimpleUploadedFile("人员.csv", persons) if persons is not None else None)
    stored_files.extend(f.name for f in (job.file, job.persons_file) if f)
    return job


# ---- Where the import runs --------------------------------------------------------------------------------------


def test_a_small_file_is_imported_in_the_request(client, ledger, hrss_clerk, period_2020h1, county):
    client.force_login(hrss_clerk)
    response = client.post(reverse("insurance:import"), {
        "region": county.pk, "period": period_2020h1.pk,
        "file": SimpleUploadedFile("社保.xlsx", xlsx([unit(ledger["cement"], 61)]))})
    assert response.status_code == 200
    assert 'data-testid="import-result"' in response.content.decode()
    assert InsuranceCoverage.objects.get().insured_workers == 61
    assert not CoverageImportJob.objects.exists()


def test_a_file_above_the_threshold_is_stored_and_queued(client, ledger, hrss_clerk, period_2020h1, county, settings,
                                                          stored_files):
    content = xlsx([unit(ledger["cement"], 61)])
    settings.PNEUMO_COVERAGE_INLINE_MAX_BYTES = len(content) - 1
    client.force_login(hrss_clerk)
    response = client.post(reverse("insurance:import"), {
        "region": county.pk, "period": period_2020h1.pk, "file": SimpleUploadedFile("社保（全市）.xlsx", content)})
    job = CoverageImportJob.objects.get()
    stored_files.append(job.file.name)
    assert response.status_code == 302 and response["Location"] == reverse("insurance:import-job", args=[job.pk])
    assert job.status == CoverageImportStatus.PENDING and job.created_by == hrss_clerk
    assert job.original_name == "社保（全市）.xlsx"
    # Stored under a neutral name that keeps the extension.
    assert job.file.name.startswith("coverage-imports/coverage-") and job.file.name.endswith(".xlsx")
    assert default_storage.exists(job.file.name)
    assert not InsuranceCoverage.objects.exists()  # nothing imported in the request
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-progress"' in page and 'hx-trigger="every 1s"' in page
    assert reverse("insurance:import-job-status", args=[job.pk]) in page
    assert "社保（全市）.xlsx" in client.get(reverse("insurance:import")).content.decode()  # listed for return


def test_enqueue_refuses_a_file_above_the_limit(ledger, hrss_clerk, period_2020h1, county, settings, stored_files):
    content = xlsx([unit(ledger["cement"], 61)])
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = len(content) - 1
    with pytest.raises(services.ValidationError, match="MB 的上限"):
        enqueue(hrss_clerk, county, period_2020h1, content, stored_files)
    assert not CoverageImportJob.objects.exists()


# ---- Running a job --------------------------------------------------------------------------------------------


def test_a_job_imports_and_deletes_its_upload(ledger, hrss_clerk, period_2020h1, county, stored_files):
    add_worker(ledger["cement"], "赵一", ID_A)
    add_worker(ledger["cement"], "钱二", ID_B)
    persons = f"姓名,居民身份证号,统一社会信用代码\n赵一,{ID_A},{ledger['cement'].uscc}\n".encode()
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61), unit(ledger["coal"], 50)]),
                  stored_files, persons=persons)
    assert job.persons_file.name.endswith(".csv") and job.persons_name == "人员.csv"
    paths = [job.file.name, job.persons_file.name]
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.DONE and job.errors == [] and job.finished_at is not None
    assert job.result == CoverageImport.objects.get()
    assert (job.result.rows_matched, job.result.workers_insured, job.result.workers_uninsured) == (2, 1, 1)
    assert dict(InsuranceCoverage.objects.values_list("employer__name", "insured_workers")) == {
        "鑫达水泥有限公司": 61, "恒泰煤业有限公司": 50}
    assert WorkerCoverage.objects.count() == 2
    assert not any(default_storage.exists(p) for p in paths)
    job.refresh_from_db()
    assert (job.file.name, job.persons_file.name) == ("", "")
    assert (job.rows_done, job.rows_total) == (3, 3)  # two units and one person


def test_progress_is_reported_every_few_hundred_rows(ledger, hrss_clerk, period_2020h1, county, stored_files,
                                                      monkeypatch):
    from ledger.demo import demo_uscc

    rows = [unit(ledger["cement"], 61)] + [(f"单位{i}", demo_uscc("371502", 500000 + i), 1, "2020-06-30")
                                           for i in range(1200)]
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx(rows), stored_files)
    seen = []
    real = services._job_progress

    def spy(job):
        report = real(job)

        def wrapped(done, total):
            report(done, total)
            seen.append(CoverageImportJob.objects.values_list("rows_done", "rows_total").get(pk=job.pk))
        return wrapped

    monkeypatch.setattr(services, "_job_progress", spy)
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.DONE
    # Written to the row as it goes (the polling page reads it from there), then the end.
    assert seen == [(500, 1201), (1000, 1201), (1201, 1201)]
    assert job.result.rows_total == 1201 and len(job.result.unmatched) == 1200


def test_a_rejected_file_ends_invalid_with_the_masked_report(ledger, hrss_clerk, period_2020h1, county, stored_files,
                                                             client, caplog):
    caplog.set_level(logging.DEBUG)
    bad_id = ID_A[:-1] + "9"
    job = enqueue(hrss_clerk, county, period_2020h1,
                  xlsx([unit(ledger["cement"], 101)], persons=[("赵一", bad_id, ledger["cement"].uscc)]), stored_files)
    path = job.file.name
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.INVALID and job.result is None
    assert [(e["sheet"], e["row"], e["column"], e["value"]) for e in job.errors] == [
        ("参保人员", 2, "居民身份证号", "110105********0029")]
    assert bad_id not in str(job.errors) and bad_id not in caplog.text
    assert not default_storage.exists(path)
    assert not InsuranceCoverage.objects.exists() and not CoverageImport.objects.exists()
    client.force_login(hrss_clerk)
    page = client.get(reverse("insurance:import-job-status", args=[job.pk])).content.decode()
    assert 'data-testid="import-errors"' in page and "110105********0029" in page and bad_id not in page
    assert "hx-trigger" not in page  # settled: the page stops polling


def test_a_failing_job_writes_nothing_and_says_so(ledger, hrss_clerk, period_2020h1, county, stored_files,
                                                  monkeypatch, caplog):
    """The worker fails after the coverage rows were upserted: the transaction is rolled back."""
    add_worker(ledger["cement"], "赵一", ID_A)
    persons = f"姓名,居民身份证号,统一社会信用代码\n赵一,{ID_A},{ledger['cement'].uscc}\n".encode()
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files,
                  persons=persons)
    paths = [job.file.name, job.persons_file.name]

    def broken(*args, **kwargs):
        assert InsuranceCoverage.objects.exists()  # the upsert ran before the failure
        raise RuntimeError(f"roster lost {ID_A}")

    monkeypatch.setattr(services, "_match_roster", broken)
    caplog.set_level(logging.DEBUG)
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.FAILED and job.result is None
    assert [e["problem"] for e in job.errors] == ["导入时发生系统错误，已全部撤销，未写入任何数据。请稍后重试或联系管理员。"]
    assert not InsuranceCoverage.objects.exists() and not CoverageImport.objects.exists()
    assert not WorkerCoverage.objects.exists()
    assert not any(default_storage.exists(p) for p in paths)
    assert "RuntimeError" in caplog.text and ID_A not in caplog.text


def test_a_job_is_never_run_twice(ledger, hrss_clerk, period_2020h1, county, stored_files):
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    CoverageImportJob.objects.filter(pk=job.pk).update(status=CoverageImportStatus.RUNNING)
    again = services.coverage_import_run(job_id=job.pk)  # a second delivery while a worker runs it
    assert again.status == CoverageImportStatus.RUNNING
    assert not InsuranceCoverage.objects.exists()
    assert default_storage.exists(job.file.name)  # still the running worker's
    CoverageImportJob.objects.filter(pk=job.pk).update(status=CoverageImportStatus.PENDING)
    assert services.coverage_import_run(job_id=job.pk).status == CoverageImportStatus.DONE
    InsuranceCoverage.objects.update(insured_workers=1)
    assert services.coverage_import_run(job_id=job.pk).status == CoverageImportStatus.DONE
    assert InsuranceCoverage.objects.get().insured_workers == 1  # not imported again
    assert CoverageImport.objects.count() == 1


def test_a_job_whose_worker_died_is_closed_by_the_next_check(ledger, hrss_clerk, period_2020h1, county,
                                                              stored_files):
    """Started, and nobody holds its lease (portal.jobs): its worker died. The beat check runs
    every two minutes; a job queued a moment ago is left alone."""
    from django.utils import timezone

    from insurance import tasks

    lost = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    CoverageImportJob.objects.filter(pk=lost.pk).update(status=CoverageImportStatus.RUNNING, started_at=timezone.now())
    recent = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 62)]), stored_files)

    tasks.close_interrupted_imports.run()

    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == CoverageImportStatus.INTERRUPTED and not lost.file
    assert lost.errors[0]["problem"] == "后台处理中断（处理它的进程意外退出），本次导入未写入任何数据。请重新上传该文件导入。"
    assert not default_storage.exists(stored_files[0])  # the upload held ID numbers
    assert recent.status == CoverageImportStatus.PENDING and default_storage.exists(recent.file.name)


def test_a_job_whose_stored_upload_is_missing_says_so(ledger, hrss_clerk, period_2020h1, county, stored_files):
    """After a restore without the media directory: the file is named as missing, not a system error."""
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    default_storage.delete(job.file.name)
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.FAILED
    assert "上传的文件已不存在" in job.errors[0]["problem"] and "系统错误" not in job.errors[0]["problem"]
    assert not InsuranceCoverage.objects.exists()


def test_a_job_runs_with_the_uploaders_rights_at_run_time(ledger, hrss_clerk, period_2020h1, county, stored_files):
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    Membership.objects.filter(user=hrss_clerk).delete()
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.FAILED
    assert "不在您的管辖范围内" in job.errors[0]["problem"]
    assert not InsuranceCoverage.objects.exists() and not default_storage.exists(stored_files[0])


def test_a_stored_file_above_the_limit_is_refused_at_run_time(ledger, hrss_clerk, period_2020h1, county, settings,
                                                              stored_files):
    content = xlsx([unit(ledger["cement"], 61)])
    job = enqueue(hrss_clerk, county, period_2020h1, content, stored_files)
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = len(content) - 1
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.FAILED and "MB 的上限" in job.errors[0]["problem"]
    assert not InsuranceCoverage.objects.exists()


# ---- Who sees a job ---------------------------------------------------------------------------------------------


def test_only_insurance_editors_of_the_jobs_region_see_it(client, ledger, hrss_clerk, hrss_city, hrss_other_county,
                                                         hrss_viewer, health_clerk, period_2020h1, county,
                                                         stored_files):
    job = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    urls = [reverse("insurance:import-job", args=[job.pk]), reverse("insurance:import-job-status", args=[job.pk])]
    for user, status in ((hrss_clerk, 200), (hrss_city, 200), (hrss_other_county, 404), (hrss_viewer, 403),
                         (health_clerk, 403)):
        client.force_login(user)
        for url in urls:
            response = client.get(url, HTTP_HX_REQUEST="true")
            assert response.status_code == status, (user, url)
            if status != 200:
                assert "社保导出.xlsx" not in response.content.decode()
    client.force_login(hrss_other_county)
    assert "社保导出.xlsx" not in client.get(reverse("insurance:import")).content.decode()


def test_a_city_job_is_not_shown_to_a_county(client, ledger, hrss_city, hrss_clerk, period_2020h1, county,
                                            stored_files):
    job = enqueue(hrss_city, county.parent, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    client.force_login(hrss_clerk)
    assert client.get(reverse("insurance:import-job-status", args=[job.pk])).status_code == 404


def test_each_coverage_import_counts_once_in_the_outcome_metric(client, ledger, hrss_clerk, period_2020h1, county,
                                                                 stored_files):
    from tests.metrics import delta, import_outcomes

    before = import_outcomes(client)
    client.force_login(hrss_clerk)
    client.post(reverse("insurance:import"), {"region": county.pk, "period": period_2020h1.pk,
                                               "file": SimpleUploadedFile("社保.xlsx", xlsx([unit(ledger["cement"], 61)]))})
    client.post(reverse("insurance:import"), {"region": county.pk, "period": period_2020h1.pk,
                                               "file": SimpleUploadedFile("社保.xlsx", b"not a workbook")})
    rejected = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 10**6)]), stored_files)
    services.coverage_import_run(job_id=rejected.pk)
    missing = enqueue(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 61)]), stored_files)
    default_storage.delete(missing.file.name)
    services.coverage_import_run(job_id=missing.pk)
    assert delta(before, import_outcomes(client)) == {
        ("coverage", "done"): 1, ("coverage", "refused"): 1, ("coverage", "invalid"): 1, ("coverage", "failed"): 1}
