"""Dead pooled connections never fail users: the web's database connections are terminated
(only this test's web process, found by its application_name on the test database) and the next
requests all succeed, because the pool checks each connection before handing it out."""

import json
import os

import pytest
from django.db import connection

from tests.faults import http_get, serve_web

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(reference_data, tmp_path):
    name = f"faults-web-{os.getpid()}"
    with serve_web(tmp_path / "web.log", PNEUMO_DB_NAME=connection.settings_dict["NAME"], PNEUMO_DB_POOL="1",
                   PNEUMO_DB_APPLICATION_NAME=name) as base:
        yield base, name


def _database_answers(base: str) -> bool:
    """/readyz's database check (the rest, Redis, worker and beat, is not this test's business)."""
    _status, body = http_get(f"{base}/readyz")
    return json.loads(body)["checks"]["database"] == "ok"


def _terminate(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                          WHERE datname = current_database() AND application_name = %s
                            AND pid <> pg_backend_pid()""", [application_name])
        return cursor.fetchone()[0]


def test_requests_after_the_database_dropped_the_web_connections_succeed(web):
    base, name = web
    for _ in range(3):
        assert _database_answers(base)
        assert http_get(f"{base}/accounts/login/")[0] == 200
    assert _terminate(name) >= 1
    answers = [_database_answers(base) for _ in range(6)] + [
        http_get(f"{base}/accounts/login/")[0] == 200 for _ in range(4)]
    assert answers == [True] * 10
