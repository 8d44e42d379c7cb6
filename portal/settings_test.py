"""Test settings: the real PostgreSQL and Redis, with what only slows tests down turned off."""

import os

os.environ.setdefault("PNEUMO_MANIFEST_STATIC", "0")

from portal.settings import *  # noqa: E402,F403
from portal.settings import CACHES

# Argon2 is deliberately slow; tests hash many passwords. Production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "pneumo-test"
CELERY_TASK_DEFAULT_QUEUE = "pneumo-test"
