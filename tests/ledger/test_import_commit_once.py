"""确认导入 runs the commit once (issue 12, with issue 10): a second press, a resubmitted page or
a redelivered task gets the first run's result; a job whose stored upload is gone (a restore
without the media directory) says that the file is missing."""

import pghistory.models
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from ledger import imports
from ledger.models import Employer, EmployerRecord, ImportJob, ImportStatus
from tests.factories import assert_a_redelivered_commit_runs_once, press_commit_twice
from tests.ledger.test_import import build_workbook, make_row, validate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def test_a_commit_already_running_is_not_run_again(clerk, period_2020h1, open_submission):
    """The second request read the job as validated while the first was writing: it must not
    write too (the claim used to accept 'importing')."""
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    stale = ImportJob.objects.get(pk=job.pk)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING, started_at=timezone.now())
    answered = imports.LEDGER.commit(actor=clerk, job=stale)
    assert answered.status == ImportStatus.IMPORTING
    assert not Employer.objects.exists() and not EmployerRecord.objects.exists()
    assert imports.LEDGER.commit_start(actor=clerk, job=stale).status == ImportStatus.IMPORTING
    assert not Employer.objects.exists()


def test_a_redelivered_commit_task_does_not_run_twice(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    assert_a_redelivered_commit_runs_once(imports.LEDGER, clerk, job, Employer.objects.count)


def test_pressing_commit_twice_answers_the_second_with_the_first_result(client, clerk, period_2020h1,
                                                                         open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1), make_row(2)]))
    client.force_login(clerk)
    answers = press_commit_twice(client, "ledger", job)
    assert answers[0] == answers[1] == ["导入完成：新增 2 个单位，更新 0 个单位。"]
    job.refresh_from_db()
    assert (job.status, job.rows_created, job.rows_updated) == (ImportStatus.DONE, 2, 0)
    assert Employer.objects.count() == 2
    assert pghistory.models.Events.objects.filter(pgh_model="ledger.EmployerEvent").count() == 2  # written once


def test_committing_an_import_whose_upload_is_missing_says_so(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    assert job.status == ImportStatus.VALIDATED
    default_storage.delete(job.file.name)
    job = imports.LEDGER.commit(actor=clerk, job=job)
    assert job.status == ImportStatus.FAILED
    [error] = job.errors
    assert "上传的文件已不存在" in error["problem"] and "系统错误" not in error["problem"]
    assert not Employer.objects.exists()


def test_validating_an_import_whose_upload_is_missing_says_so(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    default_storage.delete(job.file.name)
    job = imports.LEDGER.validate(actor=clerk, job=job)
    assert job.status == ImportStatus.FAILED and "上传的文件已不存在" in job.errors[0]["problem"]
