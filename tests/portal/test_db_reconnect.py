"""Dead pooled connections never fail users: the web's database connections are terminated
(only this test's web process, found by its application_name on the test database) and the next
requests all succeed, because the pool checks each connection before handing it out."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from tests.faults import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def web(reference_data, tmp_path):
    port, name = free_port(), f"faults-web-{os.getpid()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test",
           "PNEUMO_DB_NAME": connection.settings_dict["NAME"], "PNEUMO_DB_POOL": "1",
           "PNEUMO_DB_APPLICATION_NAME": name}
    log_path = tmp_path / "web.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind",
                                    f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
                                   cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if _get(f"http://127.0.0.1:{port}/healthz") == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(log_path.read_text())
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", name
    process.terminate()
    process.wait(timeout=20)


def _terminate(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                          WHERE datname = current_database() AND application_name = %s
                            AND pid <> pg_backend_pid()""", [application_name])
        return cursor.fetchone()[0]


def test_requests_after_the_database_dropped_the_web_connections_succeed(web):
    base, name = web
    for _ in range(3):
        assert _get(f"{base}/healthz") == 200
        assert _get(f"{base}/accounts/login/") == 200
    assert _terminate(name) >= 1
    answers = [_get(f"{base}/healthz") for _ in range(6)] + [_get(f"{base}/accounts/login/") for _ in range(4)]
    assert answers == [200] * 10
