"""Housekeeping: uploaded workbooks are deleted after the retention period and background
exports once nothing links to them; the jobs and their error lists stay."""

import datetime
import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from ledger import imports, tasks
from ledger.models import ImportJob, ImportStatus
from portal import exports
from portal.models import Region
from tests.ledger.test_import import build_workbook, make_row, validate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def age(job: ImportJob, days: int) -> None:
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))


def test_uploads_past_retention_are_deleted_and_the_jobs_kept(clerk, period_2020h1, open_submission, settings):
    settings.PNEUMO_IMPORT_FILE_RETENTION_DAYS = 30
    committed = imports.LEDGER.commit(actor=clerk, job=validate(clerk, period_2020h1, build_workbook([make_row(1)])))
    invalid = validate(clerk, period_2020h1, build_workbook([make_row(2, total_workers=-1)]))
    waiting = validate(clerk, period_2020h1, build_workbook([make_row(3)]))
    recent = validate(clerk, period_2020h1, build_workbook([make_row(4)]))
    assert (committed.status, invalid.status, waiting.status) == (
        ImportStatus.DONE, ImportStatus.INVALID, ImportStatus.VALIDATED)
    old_paths = [job.file.name for job in (committed, invalid, waiting)]
    for job in (committed, invalid, waiting):
        age(job, 31)
    age(recent, 29)

    tasks.purge_old_files.run()

    assert not any(default_storage.exists(path) for path in old_paths)
    assert default_storage.exists(recent.file.name)
    for job in (committed, invalid, waiting, recent):
        job.refresh_from_db()
    assert (committed.file.name, committed.status, committed.rows_created) == ("", ImportStatus.DONE, 1)
    assert invalid.status == ImportStatus.INVALID and "不能为负数" in invalid.errors[0]["problem"]
    # A checked file nobody committed cannot be committed any more, and says why.
    assert waiting.status == ImportStatus.FAILED
    assert waiting.errors[0]["problem"] == "上传的文件已超过30天的保存期限并被清理，本次导入未写入任何数据。"
    assert recent.status == ImportStatus.VALIDATED and recent.file.name


def test_jobs_whose_worker_died_or_whose_task_was_lost_are_closed_within_minutes(clerk, period_2020h1,
                                                                                   open_submission):
    """The beat check (every two minutes): a started job whose lease is free lost its worker;
    a queued job nobody started within QUEUE_LOST_AFTER lost its task. A job whose worker holds
    its lease (another database session here) and a recently queued one are left alone."""
    import psycopg
    from django.db import connection

    from portal import jobs

    def upload_job(status: str, *, started: bool, queued_minutes: int = 0) -> ImportJob:
        job = imports.LEDGER.create(actor=clerk, county=Region.objects.get(code="371502"), period=period_2020h1,
                                        upload=SimpleUploadedFile("台帐.xlsx", build_workbook([make_row(1)])))
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, started_at=timezone.now() if started else None,
            queued_at=timezone.now() - datetime.timedelta(minutes=queued_minutes))
        job.refresh_from_db()
        return job

    dead = upload_job(ImportStatus.IMPORTING, started=True)
    lost = upload_job(ImportStatus.IMPORTING, started=False, queued_minutes=31)
    running = upload_job(ImportStatus.VALIDATING, started=True)
    queued = upload_job(ImportStatus.PENDING, started=False, queued_minutes=5)
    settings_dict = connection.settings_dict
    with psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"], user=settings_dict["USER"],
                         password=settings_dict["PASSWORD"], dbname=settings_dict["NAME"], autocommit=True) as worker:
        worker.execute("SELECT pg_advisory_lock(%s, %s)", [jobs._lock_class(ImportJob), running.pk])
        assert tasks.close_interrupted_imports.run() is None
        assert imports.LEDGER.close_interrupted() == 0  # closed once, by the first check

    paths = {job.pk: job.file.name for job in (dead, lost, running, queued)}
    for job in (dead, lost, running, queued):
        job.refresh_from_db()
    for job in (dead, lost):
        assert job.status == ImportStatus.INTERRUPTED and not job.file and not default_storage.exists(paths[job.pk])
        assert job.errors[0]["problem"] == "后台处理中断（处理它的进程意外退出），本次导入未写入任何数据。请重新上传该文件导入。"
    assert running.status == ImportStatus.VALIDATING and default_storage.exists(running.file.name)
    assert queued.status == ImportStatus.PENDING and default_storage.exists(queued.file.name)


def test_the_job_page_of_a_purged_upload_still_shows_its_report(client, clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, total_workers=-1)]))
    age(job, 90)
    imports.LEDGER.purge_files()
    client.force_login(clerk)
    page = client.get(reverse("ledger:import-job", args=[job.pk]))
    assert page.status_code == 200 and "不能为负数" in page.content.decode()
    report = client.get(reverse("ledger:import-errors", args=[job.pk]))
    assert report.status_code == 200


def test_background_exports_are_deleted_after_a_day():
    old = default_storage.save(f"{exports.DIRECTORY}/old.xlsx", SimpleUploadedFile("old.xlsx", b"x"))
    new = default_storage.save(f"{exports.DIRECTORY}/new.xlsx", SimpleUploadedFile("new.xlsx", b"x"))
    a_day_ago = (timezone.now() - datetime.timedelta(seconds=exports.STATE_SECONDS + 60)).timestamp()
    os.utime(default_storage.path(old), (a_day_ago, a_day_ago))

    tasks.purge_old_files.run()

    assert not default_storage.exists(old) and default_storage.exists(new)


def test_nothing_to_purge_on_a_fresh_installation():
    assert exports.purge() == 0 and imports.LEDGER.purge_files() == 0
