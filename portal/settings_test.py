"""Test settings: the real PostgreSQL and Redis, with what only slows tests down turned off."""

import os

os.environ.setdefault("PNEUMO_MANIFEST_STATIC", "0")

from portal.settings import *  # noqa: E402,F403
from portal.settings import CACHES

# Argon2 is deliberately slow; tests hash many passwords. Production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "pneumo-test"
# A queue per test run (the worker fixture listens on it), so concurrent runs don't share tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("PNEUMO_CELERY_QUEUE", f"pneumo-test-{os.environ.get('PNEUMO_TEST_DB_NAME', 'main')}")
