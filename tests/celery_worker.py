"""A real Celery worker process for tests, on the test database and a queue of its own."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    from portal.celery import app, export_queue

    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "PNEUMO_DB_NAME": connection.settings_dict["NAME"],
        "PNEUMO_DB_POOL": "0",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    app.control.purge()
    from django.core.cache import cache

    from targets.services import ROLLUP_QUEUED_KEY

    cache.delete(ROLLUP_QUEUED_KEY)  # a flag left by earlier tests would hold back the first enqueue
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", f"{queue},{export_queue()}", "--pool=solo",
             "--hostname", f"test-{os.getpid()}@%h", "--loglevel=INFO", "--without-mingle", "--without-gossip"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[f"test-{os.getpid()}@{os.uname().nodename}"], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Celery worker did not start:\n{log_path.read_text()}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def worker_media(celery_worker_process, settings):
    """This test's files where the worker reads and writes them: the configured MEDIA_ROOT, not
    the temporary one an app's conftest gives its tests (a background export's file)."""
    from portal import settings as configured

    settings.MEDIA_ROOT = configured.MEDIA_ROOT
