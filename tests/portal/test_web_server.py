"""The web server's worker model (gunicorn.conf.py) and the database pool it needs."""

import os
import subprocess
import sys

from django.conf import settings

# What sizes the web server and its pool: a test of the defaults runs without any of them.
SIZING = ("PNEUMO_WEB_WORKERS", "PNEUMO_WEB_THREADS", "PNEUMO_DB_POOL", "PNEUMO_DB_POOL_MAX", "GUNICORN_CMD_ARGS")


def _run(command: list[str], *, unset: tuple[str, ...] = (), **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(command, cwd=settings.BASE_DIR, env={**environment, **env}, capture_output=True,
                            text=True, timeout=120, check=True)
    return result.stdout


def _gunicorn_config(**kwargs) -> dict[str, str]:
    printed = _run([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--print-config"], **kwargs)
    return {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip() for line in printed.splitlines()
            if "=" in line}


def _pool_size(**kwargs) -> str:
    code = "from portal import settings; print(settings.DATABASES['default']['OPTIONS']['pool']['max_size'])"
    return _run([sys.executable, "-c", code], **kwargs).strip()


def test_gunicorn_started_in_the_project_directory_runs_threaded_workers_sized_by_the_environment():
    config = _gunicorn_config(PNEUMO_WEB_WORKERS="3", PNEUMO_WEB_THREADS="5")
    assert (config["worker_class"], config["workers"], config["threads"]) == ("gthread", "3", "5")
    assert config["wsgi_app"] == "portal.wsgi:application" and config["preload_app"] == "False"


def test_by_default_each_web_thread_has_a_pooled_connection_and_no_more():
    """gunicorn's thread default and the pool's size default are read in two files: a pool smaller
    than the threads makes a thread wait for another's connection, a larger one holds connections
    of max_connections no thread uses."""
    assert _pool_size(unset=SIZING) == _gunicorn_config(unset=SIZING)["threads"]


def test_each_web_process_pools_one_database_connection_per_thread():
    assert _pool_size(PNEUMO_WEB_THREADS="5") == "5"
    assert _pool_size(PNEUMO_WEB_THREADS="5", PNEUMO_DB_POOL_MAX="7") == "7"
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_kept_alive_connection_survives_a_pause_longer_than_gunicorns_default(tmp_path):
    """A client (nginx upstream, a browser, Locust) reuses its connection after a pause; gunicorn's
    default keep-alive of 2 s closed it under them and the next request was reset."""
    import http.client
    import time
    from urllib.parse import urlsplit

    from tests.faults import serve_web

    with serve_web(tmp_path / "web.log") as base:
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        assert first.status == 200 and (first.getheader("Connection") or "").lower() != "close"
        time.sleep(3)
        connection.request("GET", "/healthz")  # on the same socket: a closed one raises here or below
        second = connection.getresponse()
        assert second.status == 200 and second.read()
        connection.close()


def test_a_web_worker_freezes_what_it_loaded_before_serving():
    import gc
    import runpy

    hooks = runpy.run_path(os.path.join(settings.BASE_DIR, "gunicorn.conf.py"))
    try:
        hooks["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 50_000  # Django and the portal's modules, out of every full collection
    finally:
        gc.unfreeze()
