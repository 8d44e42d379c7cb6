"""Operations: /readyz names what is not ready, /metrics is served to the monitoring host only,
every request is logged as one JSON line with its request id, user and duration, and an ID
number typed into any search box never reaches a log line."""

import json
import logging

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from portal.observability import JsonFormatter, RequestContextFilter
from tests.factories import make_user

pytestmark = pytest.mark.django_db
ID_NUMBER = "37150219800101123X"


@pytest.fixture
def log_lines():
    """Every record logged during the test, formatted as the deployment formats it."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def _plain_routes(resolver=None, prefix=""):
    """The routes without URL parameters (the pages a search box can be on)."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if "admin" in route:
                continue
            yield from _plain_routes(pattern, route)
        elif isinstance(pattern, URLPattern) and "<" not in route and "(?P" not in route and "^" not in route:
            yield "/" + route.lstrip("^").rstrip("$").replace("\\Z", "")


def test_an_id_number_in_any_search_box_is_never_logged(client, log_lines):
    client.force_login(make_user("37", username="ops_admin", is_superuser=True, is_staff=True))
    skipped = ("logout", "export", "download", "metrics", "readyz", "template")
    visited = 0
    for path in sorted(set(_plain_routes())):
        if any(word in path for word in skipped):
            continue
        client.get(path, {"q": ID_NUMBER, "search": ID_NUMBER, "id_number": ID_NUMBER})
        visited += 1
    assert visited > 20
    request_lines = [json.loads(line) for line in log_lines if '"logger": "portal.request"' in line]
    assert len(request_lines) >= visited
    leaking = [line for line in log_lines if ID_NUMBER in line or ID_NUMBER[:14] in line]
    assert leaking == []


def test_each_request_is_one_json_line_with_its_id_user_and_duration(client, log_lines):
    user = make_user("371502", username="ops_clerk")
    client.force_login(user)
    response = client.get("/ledger/", {"q": "水泥"}, HTTP_X_REQUEST_ID="abcdef1234567890")
    assert response["X-Request-ID"] == "abcdef1234567890"
    (line,) = [json.loads(x) for x in log_lines if '"logger": "portal.request"' in x]
    assert line["request_id"] == "abcdef1234567890" and line["user_id"] == user.pk
    assert line["path"] == "/ledger/" and line["status"] == 200 and line["duration_ms"] >= 0
    assert "水泥" not in json.dumps(line, ensure_ascii=False)  # no query string
    # A header that is not a plain token is replaced, never echoed into the logs.
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n{json}")
    assert response["X-Request-ID"] != "bad id\n{json}" and len(response["X-Request-ID"]) == 32


def test_readyz_names_what_is_not_ready(client, on_private_redis):
    on_private_redis.stop()  # no Redis, hence no worker; no beat has run in the test database
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "failed", "worker": "failed", "beat": "failed"}


def test_metrics_are_served_to_the_monitoring_host_only(client):
    client.get("/healthz")
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    for name in ("pneumo_http_requests_total", "pneumo_http_request_duration_seconds", "pneumo_rollup_lag_seconds",
                 "pneumo_celery_task_failures_total", "pneumo_import_outcomes_total",
                 "pneumo_after_commit_failures_total"):
        assert name in body, name
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_the_worker_check_needs_both_queues_served(settings):
    from portal.celery import export_queue
    from portal.operations import queues_served

    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert queues_served({"worker@a": [{"name": default}], "exports@a": [{"name": export_queue()}]})
    assert queues_served({"solo@a": [{"name": default}, {"name": export_queue()}]})
    assert not queues_served({"worker@a": [{"name": default}]})  # no exports worker: exports never run
    assert not queues_served({"exports@a": [{"name": export_queue()}]})  # saves' rollups would never run
    assert not queues_served(None)  # no worker answered


def test_readyz_counts_a_real_worker_serving_both_queues(celery_worker_process, settings):
    from portal.operations import _worker

    settings.PNEUMO_READY_WORKER_TIMEOUT = 3  # the suite's 0.1 s is for pages that expect no worker
    assert _worker()
