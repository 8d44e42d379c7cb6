"""/healthz is liveness only: with the database and Redis out of reach, the process still answers
200 (a restart would not bring them back), while /readyz answers 503 naming them."""

import json

import pytest

from tests.faults import free_port, http_get, serve_web


@pytest.mark.django_db
def test_healthz_answers_without_database_or_redis_and_readyz_says_not_ready(tmp_path):
    nowhere = free_port()  # nothing listens there
    with serve_web(tmp_path / "web.log", PNEUMO_DB_PORT=str(nowhere), PNEUMO_DB_POOL="0",
                   PNEUMO_REDIS_URL=f"redis://127.0.0.1:{nowhere}/0",
                   PNEUMO_CACHE_URL=f"redis://127.0.0.1:{nowhere}/1") as base:
        status, body = http_get(f"{base}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, body = http_get(f"{base}/readyz")
        assert status == 503
        checks = json.loads(body)["checks"]
        assert checks["database"] == "failed" and checks["redis"] == "failed"
