"""Jobs always end (issue 10): a real Celery worker, started by this test on a queue of its
own, is SIGKILLed while it writes an import; the beat check closes the job as interrupted
within the detection time, nothing was written, the upload is gone, the page stops polling
and says so, and importing the same file again succeeds once, without duplicates."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.urls import reverse

from ledger import imports, tasks
from ledger.models import Employer, EmployerRecord, ImportJob, ImportStatus
from portal.importing import inline_max_rows
from portal.models import Region
from tests.ledger.test_import import upload
from tests.ledger.test_import_task import big_workbook

# The beat check runs every two minutes; once it runs, a dead worker's job must be closed by it.
DETECTION_SECONDS = 30


@pytest.fixture
def own_worker(tmp_path, settings):
    """A Celery worker on a queue nobody else consumes, sharing this test's media directory."""
    from portal.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-kill-{os.getpid()}"
    hostname = f"kill-{os.getpid()}@{os.uname().nodename}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", "PNEUMO_DB_POOL": "0",
           "PNEUMO_DB_NAME": connection.settings_dict["NAME"], "PNEUMO_MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "--pool=solo",
             "--hostname", hostname, "--loglevel=INFO", "--without-mingle", "--without-gossip"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[hostname], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Celery worker did not start:\n{log_path.read_text()}")
    yield process, queue
    if process.poll() is None:
        process.kill()
    process.wait(timeout=20)


def writing_employers() -> bool:
    """Whether another session of this database holds a write lock on the employer table: the
    commit's transaction has begun writing."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND c.relname = 'ledger_employer' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()
        """)
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_commit_ends_the_job_interrupted(
        own_worker, reference_data, client, clerk, period_2020h1, open_submission, monkeypatch):
    process, queue = own_worker
    county = Region.objects.get(code="371502")
    content = big_workbook()
    job = imports.LEDGER.create(actor=clerk, county=county, period=period_2020h1, upload=upload(content))
    job = imports.LEDGER.validate(actor=clerk, job=job)
    assert job.status == ImportStatus.VALIDATED, job.errors[:3]
    rows = job.rows_total
    assert job.rows_total > inline_max_rows()  # committed by the task
    stored = job.file.path
    send = tasks.commit_import.apply_async
    monkeypatch.setattr(tasks.commit_import, "apply_async",
                        lambda *args, **options: send(*args, **{**options, "queue": queue}))

    job = imports.LEDGER.commit_start(actor=clerk, job=job)
    assert job.status == ImportStatus.IMPORTING
    deadline = time.monotonic() + 180
    while not writing_employers():
        job.refresh_from_db()
        assert job.status == ImportStatus.IMPORTING, (job.status, job.errors[:3])
        assert time.monotonic() < deadline, "the worker never began writing"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    killed_at = time.monotonic()

    # The page is still polling: the job says it is importing.
    job.refresh_from_db()
    assert job.status == ImportStatus.IMPORTING and job.started_at is not None
    while True:  # what beat does every two minutes
        imports.LEDGER.close_interrupted()
        job.refresh_from_db()
        if job.status != ImportStatus.IMPORTING:
            break
        assert time.monotonic() - killed_at < DETECTION_SECONDS, "the dead worker's job was not closed"
        time.sleep(0.5)
    assert job.status == ImportStatus.INTERRUPTED
    assert "后台处理中断" in job.errors[0]["problem"] and "未写入任何数据" in job.errors[0]["problem"]
    assert not Employer.objects.exists() and not EmployerRecord.objects.exists()
    assert not job.file and not os.path.exists(stored)

    client.force_login(clerk)
    page = client.get(reverse("ledger:import-status", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="interrupted"' in page and "every 1s" not in page
    assert "后台处理中断，未写入任何数据。请重新上传该文件导入。" in page

    # A second check leaves it as it is.
    assert imports.LEDGER.close_interrupted() == 0

    # The same file again: imported once, and once more changes nothing.
    for expected_created in (rows, 0):
        again = imports.LEDGER.create(actor=clerk, county=county, period=period_2020h1, upload=upload(content))
        again = imports.LEDGER.validate(actor=clerk, job=again)
        assert again.status == ImportStatus.VALIDATED, again.errors[:3]
        again = imports.LEDGER.commit(actor=clerk, job=again)
        assert again.status == ImportStatus.DONE, again.errors[:3]
        assert again.rows_created == expected_created
    assert Employer.objects.count() == rows and EmployerRecord.objects.count() == rows
    assert ImportJob.objects.filter(status=ImportStatus.INTERRUPTED).count() == 1
