"""gunicorn settings, read from this file by `gunicorn` run in the project directory
(scripts/run.sh, the compose web service, the Dockerfile). Flags on the command line and
GUNICORN_CMD_ARGS override them.

The portal's requests mostly wait on PostgreSQL and Redis, so each worker process runs threads
(gthread): with 3 sync workers, 100 users of the deadline-day mix queued behind busy workers
(p95 320 ms while each request took 35-44 ms of server time; bench/RESULTS.md, "Load").
4 processes of 4 threads were measured against these 2 of 8 at 250 users, in A-B-B-A order: no
better (p95 1.6 and 1.9 s against 1.3 and 1.5 s on a saturated machine; bench/RESULTS.md).
Each thread holds at most one database connection from its process's pool (portal/settings.py
sizes the pool to PNEUMO_WEB_THREADS), so web connections = workers × threads."""

import os

wsgi_app = "portal.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("PNEUMO_WEB_WORKERS", "2"))
threads = int(os.environ.get("PNEUMO_WEB_THREADS", "8"))
timeout = 120
# An idle keep-alive connection waits in the worker's poller (it holds no thread). gunicorn's 2 s
# default closed connections that nginx (upstream keepalive, deploy/nginx/portal.conf) and browsers
# reuse after a pause: the request sent as the server closed came back "connection reset" (30 of
# 7,131 requests at 100 users in `make bench-load`). It must outlast the front server's idle timeout.
keepalive = int(os.environ.get("PNEUMO_WEB_KEEPALIVE", "75"))
# The database pool must never cross a fork(): each worker opens its own after it starts.
preload_app = False
# Nothing here uses gunicornc, and every gunicorn on a host would share the default socket path.
control_socket_disable = True


def post_worker_init(worker):
    """Move what the worker has loaded (Django, the URLconf and every view it imports) out of the
    garbage collector's reach. A full collection walked those ~150,000 objects, 60-75 ms with the
    GIL held under load, during which every thread of the worker stood still."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the views now, not in the first requests
    gc.collect()
    gc.freeze()
