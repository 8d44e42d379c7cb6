"""Settings, read from the environment with defaults that work on a development machine
(local PostgreSQL with trust auth and local Redis). Production sets DJANGO_SECRET_KEY,
DJANGO_ALLOWED_HOSTS and DJANGO_HTTPS=1; `manage.py check --deploy` is then clean."""

import os
import secrets
from pathlib import Path

from celery.schedules import crontab
from csp import constants as csp_constants
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PNEUMO_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """A deployment passes DJANGO_SECRET_KEY; a development machine keeps a generated one
    under var/ so sessions survive restarts without a key committed to the repository."""
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "django_celery_beat",
    "django_htmx",
    "csp",
    "portal",
    "ledger",
    "targets",
    "inspections",
    "insurance",
    "patients",
    "worklist",
]

MIDDLEWARE = [
    "portal.observability.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.api_contract.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.badinput.BadInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.audit.HistoryMiddleware",
    "portal.scoping.ScopeDeclarationMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.navigation.navigation",
            ],
        },
    },
]

# Form widgets (each field, each <option>) rendered by Jinja2 from Django's own widget templates:
# through the Django template engine they took 70 % of the record form's time, and the record
# form and save were the largest share of the web workers' time under the deadline-day load.
FORM_RENDERER = "django.forms.renderers.Jinja2"

DB_POOL = env_bool("PNEUMO_DB_POOL", default=True)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PNEUMO_DB_NAME", "pneumo"),
        "USER": os.environ.get("PNEUMO_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("PNEUMO_DB_PASSWORD", ""),
        "HOST": os.environ.get("PNEUMO_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("PNEUMO_DB_PORT", "5432"),
        # The native pool replaces persistent connections; it must never cross a fork()
        # (no gunicorn --preload; Celery worker and beat run with PNEUMO_DB_POOL=0: one task at a
        # time per process gains nothing from a pool).
        "CONN_MAX_AGE": 0,
        # A connection the server dropped (a restart, a failover, pg_terminate_backend) must not
        # fail the next request: with health checks on, Django gives the pool
        # ConnectionPool.check_connection, so each connection is checked (one round trip) before
        # it is handed out and a dead one is replaced.
        "CONN_HEALTH_CHECKS": True,
        # One connection per gunicorn thread (gunicorn.conf.py): a thread never waits for another's
        # connection, and the web's share of PostgreSQL's max_connections is workers × threads.
        "OPTIONS": (
            {"pool": {"min_size": 1, "timeout": 10,
                      "max_size": int(os.environ.get("PNEUMO_DB_POOL_MAX", os.environ.get("PNEUMO_WEB_THREADS", "8")))}}
            if DB_POOL
            else {}
        )
        # Names the process in pg_stat_activity (web, worker, beat).
        | {"application_name": os.environ.get("PNEUMO_DB_APPLICATION_NAME", "pneumo")}
        # An empty pgtrigger.ignore on every connection: without it the audit triggers' ignore
        # check takes an exception path on each row (0.3 ms a row on bulk imports). Every cursor the
        # portal opens (exports, sweeps) is read to its end: planned for its first tenth, as
        # PostgreSQL plans cursors by default, a province's export took 2-3 times as long.
        | {"options": "-c pgtrigger.ignore={} -c cursor_tuple_fraction=1"},
        "TEST": {"NAME": os.environ.get("PNEUMO_TEST_DB_NAME", "test_pneumo")},
    }
}

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Argon2id at OWASP's parameters (portal/hashers.py); Django's own Argon2 parameters are upgraded at login.
PASSWORD_HASHERS = [
    "portal.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (portal/throttle.py). The client address is REMOTE_ADDR, unless REMOTE_ADDR is one
# of the trusted proxies (addresses or networks, comma-separated): then it is taken from
# X-Forwarded-For. Leave it empty when gunicorn is reached directly; behind the TLS proxy, list the
# proxy's address (README, Deployment). Per login name, failures after the free ones make the next
# attempt wait 1, 2, 4 … seconds up to the cap: a delay, never a lock. Per address and for the whole
# portal (password spraying), failures within the window are limited too.
# No filter, search box or id takes more characters than this in a query string (portal/badinput.py).
PNEUMO_MAX_PARAMETER_LENGTH = int(os.environ.get("PNEUMO_MAX_PARAMETER_LENGTH", "1000"))
PNEUMO_TRUSTED_PROXIES = env_list("PNEUMO_TRUSTED_PROXIES", "")
PNEUMO_LOGIN_FREE_FAILURES = int(os.environ.get("PNEUMO_LOGIN_FREE_FAILURES", "3"))
PNEUMO_LOGIN_MAX_DELAY_SECONDS = int(os.environ.get("PNEUMO_LOGIN_MAX_DELAY_SECONDS", "300"))
PNEUMO_LOGIN_WINDOW_SECONDS = int(os.environ.get("PNEUMO_LOGIN_WINDOW_SECONDS", "900"))
PNEUMO_LOGIN_ADDRESS_FAILURES = int(os.environ.get("PNEUMO_LOGIN_ADDRESS_FAILURES", "30"))
PNEUMO_LOGIN_GLOBAL_FAILURES = int(os.environ.get("PNEUMO_LOGIN_GLOBAL_FAILURES", "300"))

ANONYMOUS_USER_NAME = None  # django-guardian: no anonymous object permissions

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("PNEUMO_STATIC_ROOT", BASE_DIR / "staticfiles"))
# Stored files (photos, signatures, evidence, uploads) are never served by URL under MEDIA_URL:
# only views that check the owning object's scope hand them out (portal.files). Behind a front
# server, set PNEUMO_MEDIA_ACCEL_PREFIX to the nginx `internal` location that maps to MEDIA_ROOT
# (e.g. /protected-media/): the view then answers with X-Accel-Redirect and nginx sends the bytes.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("PNEUMO_MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_ACCEL_REDIRECT_PREFIX = os.environ.get("PNEUMO_MEDIA_ACCEL_PREFIX", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("PNEUMO_MANIFEST_STATIC", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Ledger Excel: the upload limit, what runs in the request rather than a Celery task, and how
# long uploaded workbooks (employers' and workers' details) are kept.
PNEUMO_IMPORT_MAX_BYTES = int(os.environ.get("PNEUMO_IMPORT_MAX_BYTES", 20 * 1024 * 1024))
PNEUMO_IMPORT_INLINE_MAX_BYTES = int(os.environ.get("PNEUMO_IMPORT_INLINE_MAX_BYTES", 256 * 1024))
PNEUMO_IMPORT_INLINE_MAX_ROWS = int(os.environ.get("PNEUMO_IMPORT_INLINE_MAX_ROWS", 2000))
PNEUMO_IMPORT_FILE_RETENTION_DAYS = int(os.environ.get("PNEUMO_IMPORT_FILE_RETENTION_DAYS", 30))
# work_mem of the rollup statements' transaction (targets.rollups.run): their sorts spilled to disk
# at 1,000,000 employers with PostgreSQL's default 4MB. Per sort node and parallel worker.
PNEUMO_ROLLUP_WORK_MEM = os.environ.get("PNEUMO_ROLLUP_WORK_MEM", "64MB")
# A long HTML list counts its rows up to here and then says "超过 10,000 条" (portal.pagination).
PNEUMO_LIST_COUNT_CAP = int(os.environ.get("PNEUMO_LIST_COUNT_CAP", 10_000))
# Larger exports are written by the Celery worker: inline, a province's "未落实" list (15,975 rows)
# held a web thread for 5-11 s under load.
PNEUMO_EXPORT_INLINE_MAX_ROWS = int(os.environ.get("PNEUMO_EXPORT_INLINE_MAX_ROWS", 2_000))
# HRSS coverage import: the upload limit, and what runs in the request rather than a Celery task.
PNEUMO_COVERAGE_IMPORT_MAX_BYTES = int(os.environ.get("PNEUMO_COVERAGE_IMPORT_MAX_BYTES", 20 * 1024 * 1024))
PNEUMO_COVERAGE_INLINE_MAX_BYTES = int(os.environ.get("PNEUMO_COVERAGE_INLINE_MAX_BYTES", 256 * 1024))
# Patient follow-ups (随访): months between two follow-ups, shorter for stage 叁期.
PNEUMO_FOLLOWUP_CYCLE_MONTHS = int(os.environ.get("PNEUMO_FOLLOWUP_CYCLE_MONTHS", 12))
PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS = int(os.environ.get("PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS", 6))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("PNEUMO_REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("PNEUMO_CACHE_URL", "redis://127.0.0.1:6379/1"),
        "KEY_PREFIX": os.environ.get("PNEUMO_CACHE_PREFIX", "pneumo"),
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Surviving a broker restart (celery 5.7 / kombu 5.7 / redis-py 8.1). When Redis drops while a
# late-acknowledged task runs, the consumer reconnects on a new channel, and the task's ack on
# the old, closed channel raised AttributeError("'NoneType' object has no attribute 'hostname'")
# in kombu's redis transport, which killed the worker (celery/celery#6654 introduced this
# setting for it; it becomes the default in Celery 6). With it, such tasks are cancelled on
# connection loss and redelivered; they are idempotent (the only acks_late tasks are the rollups).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # keep trying while Redis is away
# An unacknowledged task (its worker killed) is redelivered after this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("PNEUMO_CELERY_QUEUE", "pneumo")
CELERY_TASK_ROUTES = ("portal.celery.route_task",)  # exports on a queue of their own
# Synced into django-celery-beat's tables by its DatabaseScheduler at beat start.
CELERY_BEAT_SCHEDULE = {
    "nightly-rollup-recompute": {
        "task": "targets.tasks.recompute_all",
        "schedule": crontab(hour=2, minute=30),
    },
    "close-expired-inspection-plans": {
        "task": "inspections.tasks.close_expired_plans",
        "schedule": crontab(hour=1, minute=15),
    },
    "purge-old-import-and-export-files": {
        "task": "ledger.purge_old_files",
        "schedule": crontab(hour=3, minute=45),
    },
    # For every kind of import, a job whose worker died is closed as interrupted within minutes
    # (portal.jobs).
    **{
        f"close-interrupted-{kind}-imports": {
            "task": f"{app}.close_interrupted_imports",
            "schedule": crontab(minute="*/2"),
        }
        for kind, app in (("coverage", "insurance"), ("ledger", "ledger"), ("patient", "patients"))
    },
    "purge-old-patient-import-files": {
        "task": "patients.purge_old_files",
        "schedule": crontab(hour=3, minute=50),
    },
    "notification-events-sweep": {
        # Events whose delivery task was lost (broker down at commit) are delivered within minutes.
        "task": "worklist.tasks.sweep_events",
        "schedule": crontab(minute="*/5"),
    },
    "deadline-reminders": {
        "task": "worklist.tasks.send_reminders",
        "schedule": crontab(hour=7, minute=30),
    },
    "rollup-dirty-sweep": {
        # Marks whose task was lost (a worker killed mid-flight) are picked up within minutes.
        "task": "targets.tasks.recompute_dirty",
        "schedule": crontab(minute="*/5"),
    },
}

# Notifications by e-mail only when the deployment configures SMTP (off by default: the inbox
# always has them). Links in mails start with PNEUMO_SITE_URL.
EMAIL_HOST = os.environ.get("PNEUMO_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("PNEUMO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("PNEUMO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PNEUMO_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("PNEUMO_EMAIL_TLS", "") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("PNEUMO_EMAIL_FROM", "noreply@localhost")
PNEUMO_NOTIFY_EMAIL = bool(EMAIL_HOST)
PNEUMO_SITE_URL = os.environ.get("PNEUMO_SITE_URL", "http://localhost:8000")
# Behind the compose nginx: the audit trail records the client address nginx passes (X-Real-IP).
PNEUMO_BEHIND_PROXY = os.environ.get("PNEUMO_BEHIND_PROXY", "") == "1"

REST_FRAMEWORK = {
    # Session auth with DRF's CSRF check; anonymous requests answer 401 (portal.api_contract).
    "DEFAULT_AUTHENTICATION_CLASSES": ["portal.api_contract.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "portal.scoping.ScopePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "portal.scoping.ScopeFilterBackend",
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "portal.api_contract.PortalSearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "尘肺病防治攻坚行动信息平台 API",
    "DESCRIPTION": (
        "Pneumoconiosis prevention campaign portal: regions, ledger, targets, inspections, insurance.\n\n"
        "认证：会话（先登录 /accounts/login/，之后带 sessionid Cookie）；POST、PUT、PATCH、DELETE 须带 X-CSRFToken "
        "请求头（取自 csrftoken Cookie）。\n\n"
        "答复：401 未登录或会话过期；404 不存在或不在您可查看的范围内；403 可以查看但当前角色无权执行此操作"
        "（在读取请求内容之前判断）；400 已锁定（已报送的填报期）或请求内容未通过校验，"
        "正文为 {\"detail\": \"中文说明\"} 或 {字段: [\"中文消息\"]}；409 版本冲突（他人已先保存），"
        "正文含 changes 与 current_version。同一数值在表单、Excel 导入、本接口和平板同步中按同一规则校验，"
        "消息相同：文字不得含控制字符、超长拒收并说明上限；人数为 0～2147483647 的整数；"
        "已发生事项的日期在 1950-01-01 至今天之间。"
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the vendored sidecar package: intranets have no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents its 400/401/403/404 with the error body the API really sends, and the
    # session cookie and X-CSRFToken header (portal.api_contract.document_errors).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "portal.api_contract.document_errors"],
    "ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE": True,
    "COMPONENT_SPLIT_REQUEST": True,
}

SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp). No inline script and no inline event handler anywhere
# (docs/ARCHITECTURE-NOTES.md, "No inline scripts"): every script is a file under static/.
# Style attributes stay allowed (ECharts writes its tooltips with them, progress bars carry their
# width); <style> elements and stylesheets must come from the portal itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF],
        "style-src-attr": [csp_constants.UNSAFE_INLINE],
        "img-src": [csp_constants.SELF, "data:", "blob:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "worker-src": [csp_constants.SELF],
        "manifest-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    },
}
# Deployments terminate TLS (in front of gunicorn); a development machine serves plain HTTP.
if env_bool("DJANGO_HTTPS"):
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # JSON lines (PNEUMO_LOG_FORMAT=plain for a terminal): each record carries the request id and
    # the user id; nothing logs query strings, form data or ID numbers.
    "filters": {"request": {"()": "portal.observability.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "portal.observability.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request"],
                             "formatter": os.environ.get("PNEUMO_LOG_FORMAT", "json")}},
    "root": {"handlers": ["console"], "level": os.environ.get("PNEUMO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logs would carry query strings (which may hold ID numbers in searches);
        # portal.request logs each request's path, status and duration instead.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# How long /readyz waits for the Celery workers to say which queues they serve (seconds).
PNEUMO_READY_WORKER_TIMEOUT = float(os.environ.get("PNEUMO_READY_WORKER_TIMEOUT", "1.0"))

# Who may read /metrics (Prometheus): addresses, comma-separated.
PNEUMO_METRICS_ALLOW = [a.strip() for a in os.environ.get("PNEUMO_METRICS_ALLOW", "127.0.0.1,::1").split(",")
                        if a.strip()]

# Uploaded files are parsed in a sandboxed child process (portal.sandbox) with these limits.
PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES = int(os.environ.get("PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES", 1024 * 1024 * 1024))
PNEUMO_UPLOAD_SANDBOX_CPU_SECONDS = int(os.environ.get("PNEUMO_UPLOAD_SANDBOX_CPU_SECONDS", 120))
PNEUMO_UPLOAD_CSV_FIELD_MAX_CHARS = int(os.environ.get("PNEUMO_UPLOAD_CSV_FIELD_MAX_CHARS", 10_000))
