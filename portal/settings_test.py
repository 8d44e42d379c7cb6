"""Test settings: the real PostgreSQL and Redis, with what only slows tests down turned off."""

import os

os.environ.setdefault("PNEUMO_MANIFEST_STATIC", "0")

from portal.settings import *  # noqa: E402,F403
from portal.settings import CACHES

# Argon2 is deliberately slow; tests hash many passwords. Production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A cache prefix and a queue per test run (the worker fixture listens on that queue), so concurrent
# runs on one machine share neither tasks nor debounce flags.
# Under pytest-xdist each process has its own (pytest-django suffixes the test database the same way).
_RUN = os.environ.get("PNEUMO_TEST_DB_NAME", "main") + os.environ.get("PYTEST_XDIST_WORKER", "")
CACHES["default"]["KEY_PREFIX"] = f"pneumo-test-{_RUN}"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("PNEUMO_CELERY_QUEUE", f"pneumo-test-{_RUN}")
# Login throttling counts failures in the shared cache for 15 minutes: the whole suite signs in from
# 127.0.0.1, so the per-address and portal-wide limits would carry over between tests and runs.
# tests/security/test_login_throttle.py sets the limits it tests.
PNEUMO_LOGIN_ADDRESS_FAILURES = 100_000
PNEUMO_LOGIN_GLOBAL_FAILURES = 100_000
# No test expects a worker to answer /readyz's ping, and the matrix and the fuzzer request it often.
PNEUMO_READY_WORKER_TIMEOUT = 0.1
