"""Every workbook export of a list, one way: small ones are written in the request, larger ones
(more than `settings.PNEUMO_EXPORT_INLINE_MAX_ROWS` rows) by the Celery worker while the page
shows its progress, and the file is offered to the user who asked, and to no one else.

An export kind (one per list: the ledger, a roster, the insurance work list, the audit log, the
patients, the indicator dashboard) says how to count its rows and write its workbook from
(actor, params), the query string of the list it exports:

    LEDGER = ExportKind(name="ledger", title=_("导出台帐"), unit=_("个单位"),
                        capability=Capability.LEDGER_VIEW, prepare=ledger_prepare)

    def ledger_prepare(actor, params) -> Prepared:      # PermissionDenied for a foreign region,
        ...                                             # ValidationError for a bad parameter
        return Prepared(count=…, filename=…, write=lambda stream, progress: …)

`write` passes the rows it writes through `progress` (an iterable in, the same rows out), which
records how many have been written. The kinds are listed in `KINDS` (dotted paths, so that the
worker and the views find them without importing every app here). The views are in
`portal.views_exports`: `export_response(request, "ledger")` answers the file or the waiting page.

The state of a background export (who asked, pending/done/failed, rows written) is in the cache
for a day under its token; the file in storage under `exports/` until the nightly purge. A
pending export that shows no sign of life for `STALE_SECONDS` (its worker died, the queue was
lost, it waited behind other exports) is reported as failed, and a worker that reaches it after
that does not write it: the user is never told "failed" for a file that then appears.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from portal.models import User
from portal.scoping import Capability, has_capability

log = logging.getLogger(__name__)

STATE_SECONDS = 24 * 3600
STALE_SECONDS = 15 * 60
DIRECTORY = "exports"
PROGRESS_EVERY = 1000

Progress = Callable[[Iterable], Iterable]


@dataclass
class Prepared:
    """One export, ready to write: its size (rows), its file name, and the writer."""

    count: int
    filename: str
    write: Callable[[IO[bytes], Progress], object]


@dataclass(frozen=True)
class ExportKind:
    name: str
    title: str  # the waiting page's heading: 导出台帐
    unit: str  # what a row is, for the progress text: 个单位, 人, 条
    capability: Capability  # who may export it (and fetch the file)
    prepare: Callable[[User, dict], Prepared]
    writes: bool = False  # writes while exporting (an access log): no READ ONLY snapshot


KINDS = {
    "ledger": "ledger.exports.LEDGER",
    "roster": "ledger.exports.ROSTER",
    "work-list": "insurance.exports.WORK_LIST",
    "audit": "worklist.exports.AUDIT",
    "patients": "patients.exports.PATIENTS",
    "dashboard": "targets.exports.DASHBOARD",
}


def kind_get(name: str) -> ExportKind | None:
    return import_string(KINDS[name]) if name in KINDS else None


def inline_max_rows() -> int:
    """Exports up to this many rows are written in the request; larger ones (a province's
    "未落实" list of 15,975 took 5-11 s of a web worker under load, its 200,000 minutes) by the
    Celery worker."""
    return settings.PNEUMO_EXPORT_INLINE_MAX_ROWS


@contextlib.contextmanager
def snapshot(kind: ExportKind):
    """One snapshot for the count (the page's total, a sheet's declared size) and the rows."""
    with transaction.atomic():
        if len(connection.atomic_blocks) == 1:  # a fresh transaction, not one nested in a test's
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
                               + ("" if kind.writes else " READ ONLY"))
        yield


def unchanged(rows: Iterable) -> Iterable:
    """The progress of an export written in the request: nobody is watching."""
    return rows


# ---- The state of a background export -------------------------------------------------------------


def state_key(token: str) -> str:
    return f"export:{token}"


def _save(token: str, state: dict) -> None:
    cache.set(state_key(token), {**state, "seen": time.time()}, STATE_SECONDS)


def state_get(token: str, user: User) -> dict | None:
    """The export's state, only for the user who asked for it (and may still export that kind);
    a pending one without a sign of life for STALE_SECONDS is failed."""
    state = cache.get(state_key(token)) if token.isalnum() else None
    if not state or state.get("user") != user.pk:
        return None
    kind = kind_get(state.get("kind", ""))
    if kind is None or not has_capability(user, kind.capability):
        return None
    return {**state, "status": "failed"} if _given_up(state) else state


def _given_up(state: dict) -> bool:
    """A pending export without a sign of life for STALE_SECONDS: its page says it failed."""
    return state.get("status") == "pending" and time.time() - state.get("seen", 0) > STALE_SECONDS


def start(*, kind: ExportKind, actor: User, params: dict, prepared: Prepared) -> str:
    """Queue a large export; returns the token the page polls. The worker prepares the export
    again with the user's scope at the time it runs. Raises when the cache or the broker is
    unreachable (the page says the export failed)."""
    from portal.aftercommit import send_task
    from portal.tasks import export_write  # portal.tasks imports this module

    token = uuid.uuid4().hex
    _save(token, {"user": actor.pk, "kind": kind.name, "status": "pending", "rows": prepared.count,
                  "filename": prepared.filename})
    # One attempt (the request must not hang); written in the language of the page that asked.
    send_task(export_write, token, kind.name, actor.pk, params, translation.get_language())
    return token


def counted(rows: Iterable, token: str, state: dict):
    """The rows, recording in the export's state how many have been written every PROGRESS_EVERY
    rows (the page's progress bar, and the sign that the worker is alive)."""
    for written, row in enumerate(rows, 1):
        if written % PROGRESS_EVERY == 0:
            _save(token, {**state, "written": written})
        yield row


def run(token: str, kind_name: str, user_id: int, params: dict, language: str | None = None) -> None:
    """What the worker does: write the export to storage and record where, or that it failed."""
    state = cache.get(state_key(token)) or {"user": user_id, "kind": kind_name, "status": "pending"}
    if _given_up(state):  # queued too long: the page has told the user it failed, so it stays failed
        _save(token, {**state, "status": "failed"})
        return
    try:
        kind = kind_get(kind_name)
        user = User.objects.get(pk=user_id)
        _save(token, state)  # started
        with translation.override(language), snapshot(kind), tempfile.TemporaryFile() as spool:
            prepared = kind.prepare(user, params)
            state.update(rows=prepared.count, filename=prepared.filename)
            prepared.write(spool, lambda rows: counted(rows, token, state))
            spool.seek(0)
            path = default_storage.save(f"{DIRECTORY}/{token}.xlsx", File(spool, name=f"{token}.xlsx"))
        state.update(status="done", path=path, written=prepared.count)
    except Exception as exc:  # noqa: BLE001 — the page must learn that it failed
        log.warning("%s export %s failed (%s)", kind_name, token, type(exc).__name__)
        _save(token, {**state, "status": "failed"})
        raise
    _save(token, state)


def purge() -> int:
    """Delete background exports older than their state in the cache (nothing links to them
    any more). Returns the number of files deleted."""
    if not default_storage.exists(DIRECTORY):
        return 0
    cutoff = timezone.now() - datetime.timedelta(seconds=STATE_SECONDS)
    deleted = 0
    for name in default_storage.listdir(DIRECTORY)[1]:
        path = f"{DIRECTORY}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)
            deleted += 1
    return deleted
