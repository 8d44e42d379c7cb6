"""Operations: one JSON log line per request (request id, user id, method, path without the
query string, status, duration; never personal data: searches carry ID numbers in the query
string, so it is never logged), a request id on every log record of the request, Prometheus
counters, and the readiness check."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import time
import uuid

from portal.metrics import LATENCY, REQUESTS

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
user_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)
log = logging.getLogger("portal.request")
_SAFE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class RequestContextFilter(logging.Filter):
    """Adds the current request's id and user id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, user id, and the
    `extra` fields a call passed."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and key not in entry and value not in (None, ""):
                entry[key] = value if isinstance(value, (int, float, bool, str)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestLogMiddleware:
    """Outermost: gives the request an id (a sane X-Request-ID from the front server, or a new
    one), answers with it, counts and times the request, and logs one line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        user_token = user_id_var.set(None)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request_id
            return response
        finally:
            duration = time.perf_counter() - started
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
            REQUESTS.labels(method=request.method, status=str(status)).inc()
            LATENCY.labels(method=request.method).observe(duration)
            log.info("%s %s %s", request.method, request.path, status, extra={
                "method": request.method, "path": request.path, "status": status,
                "duration_ms": round(duration * 1000, 1), "user_id": user_id})
            user_id_var.reset(user_token)
            request_id_var.reset(token)

    def process_view(self, request, _view, _args, _kwargs):
        """The user is known from here on (after the authentication middleware): the view's own
        log records carry their id."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_id_var.set(user.pk)
