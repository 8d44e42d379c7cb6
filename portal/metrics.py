"""Prometheus metrics (prometheus-client). Under gunicorn and Celery's prefork pool several
processes count; set PROMETHEUS_MULTIPROC_DIR (an empty directory per host, cleared at start)
and /metrics aggregates them (portal.views.metrics)."""

import os

from prometheus_client import Counter, Histogram

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REQUESTS = Counter("pneumo_http_requests_total", "HTTP requests answered", ["method", "status"])
LATENCY = Histogram("pneumo_http_request_duration_seconds", "Time to answer a request", ["method"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
AFTER_COMMIT_FAILURES = Counter("pneumo_after_commit_failures_total",
                                "Best-effort work after a commit that failed (picked up later)", ["what"])
TASK_FAILURES = Counter("pneumo_celery_task_failures_total", "Celery tasks that raised", ["task"])
IMPORT_OUTCOMES = Counter("pneumo_import_outcomes_total", "Imports by kind and outcome", ["kind", "outcome"])


def import_ended(kind: str, outcome: str, count: int = 1) -> None:
    """Imports (kind: ledger, coverage, patients) ended: done, invalid, refused, failed or
    interrupted. Called where each import writes its final status, once per import."""
    IMPORT_OUTCOMES.labels(kind=kind, outcome=outcome).inc(count)
