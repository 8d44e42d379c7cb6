"""A worker survives broker loss: the test's own Redis is stopped and started again under a
running worker (prefork, as deployed) while the worker holds a late-acknowledged task (the
nightly recompute, held on the rollup's advisory lock by this test); the worker reconnects,
stays up and runs the next task."""

import os
import subprocess
import sys
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from ledger.models import ReportingPeriod
from targets.models import RollupRun

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = f"faults-worker-{os.getpid()}"


def _ping(name: str) -> bool:
    """This process's own broker connections died with Redis too: a failed ping is a no."""
    from portal.celery import app

    try:
        return bool(app.control.ping(destination=[name], timeout=0.5))
    except Exception:  # noqa: BLE001 - kombu/redis connection errors while Redis is back up
        from tests.faults import _reset_celery_pools

        _reset_celery_pools(app)
        return False


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@pytest.fixture
def worker(reference_data, on_private_redis, tmp_path):
    hostname = f"faults-{os.getpid()}@%h"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test",
           "PNEUMO_DB_NAME": connection.settings_dict["NAME"], "PNEUMO_DB_POOL": "0",
           "PNEUMO_REDIS_URL": on_private_redis.url(0), "PNEUMO_CACHE_URL": on_private_redis.url(1),
           "PNEUMO_CELERY_QUEUE": QUEUE}
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", QUEUE, "--concurrency=1",
             "--hostname", hostname, "--loglevel=INFO"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    name = hostname.replace("%h", os.uname().nodename)
    try:
        _wait(lambda: _ping(name) or process.poll() is not None, 60,
              "the worker")
        assert process.poll() is None, log_path.read_text()
        yield process, name, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_worker_reconnects_after_redis_restarts_under_a_running_task(worker, on_private_redis):
    from targets.tasks import recompute_all

    process, name, log_path = worker
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on="2020-01-01",
                                            ends_on="2020-06-30", deadline="2020-07-15")
    params = connection.get_connection_params()
    with psycopg.connect(dbname=params["dbname"], host=params.get("host"), port=params.get("port"),
                         user=params.get("user"), password=params.get("password") or None) as lock:
        lock.execute("SELECT pg_advisory_xact_lock(hashtext('targets.rollup'), %s)", [period.pk])
        recompute_all.apply_async(queue=QUEUE, retry=False)

        def waiting() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")
                return cursor.fetchone()[0] > 0

        _wait(waiting, 30, "the task to hold the rollup lock")
        on_private_redis.stop()
        time.sleep(3)
        on_private_redis.start()
        lock.rollback()  # the held task may go on
    time.sleep(5)
    assert process.poll() is None, log_path.read_text()[-3000:]
    from portal.celery import app
    from tests.faults import _reset_celery_pools

    _reset_celery_pools(app)  # this process's broker connections died with Redis too
    before = RollupRun.objects.count()
    recompute_all.apply_async(queue=QUEUE, retry=False)
    _wait(lambda: RollupRun.objects.count() > before, 60, "the next task to run")
    assert process.poll() is None
    assert "Unrecoverable error" not in log_path.read_text()
