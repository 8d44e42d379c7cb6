"""Fault injection on private processes: a Redis server of the test's own (another port, its
own directory), which the test stops and starts; the settings and the Celery app are pointed at
it. The shared Redis on 6379 is never touched."""

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, directory: Path):
        self.directory, self.port, self.process = directory, free_port(), None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        # appendonly: the queue survives a restart, as in `make run` and compose.
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError("private redis did not start")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def count(self, key: str) -> int:
        out = subprocess.run([shutil.which("redis-cli"), "-p", str(self.port), "-n", "0", "LLEN", key],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip() or 0)


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def on_private_redis(private_redis, settings):
    """The cache and the Celery broker of this process point at the private Redis."""
    from portal.celery import app

    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": private_redis.url(1),
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}}
    keys = ("broker_url", "broker_write_url", "broker_read_url")
    old = {key: app.conf[key] for key in keys}
    app.conf.update({key: private_redis.url(0) for key in keys})
    _reset_celery_pools(app)
    yield private_redis
    app.conf.update(old)
    _reset_celery_pools(app)


def _reset_celery_pools(app) -> None:
    """Forget this process's broker connections (kombu keeps a registry of pools per URL)."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def http_get(url: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextmanager
def serve_web(log_path: Path, **env):
    """A gunicorn serving the portal on a free port with the test settings and `env` on top of this
    process's environment; yields its base URL once it answers /healthz (liveness only)."""
    import os
    import sys

    from django.conf import settings

    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test", **env}
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind",
                                    f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
                                   cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http_get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(log_path.read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
