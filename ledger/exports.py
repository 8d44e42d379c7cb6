"""Exporting the ledger the user can see, in the official workbook's layout (`ledger.excel`):
in the request, or by a Celery task for large ones (the page polls a token until the file is
ready). The rows are chosen by `ledger.selectors.employer_export_values`; this module turns
them into display values and runs the job.

    result = ledger_export(actor=…, params=request.GET)    # PermissionDenied for a foreign region
    write_export(stream, result)                          # or export_start(…) when it is large
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import columns as cols
from ledger import selectors
from ledger.columns import COLUMNS, Kind
from ledger.excel import write_ledger
from ledger.models import RECORD_FIELDS, ReportingPeriod
from portal.models import User
from portal.params import period_param, region_param
from portal.scoping import Capability, scope_for

log = logging.getLogger(__name__)

EXPORT_STATE_SECONDS = 24 * 3600
EXPORT_DIRECTORY = "exports"


@dataclass
class Export:
    rows: Iterator[list]
    region_name: str | None
    period: ReportingPeriod | None
    count: int


def export_filters(actor: User, params) -> selectors.EmployerFilters:
    """The employer list's filters from a query string (the list page links here with its own
    query string): region (or county), township, q, key_group, status, in_scope, missing,
    period, sort. Raises PermissionDenied for a region outside the user's scope."""

    area = region_param("region", params) or region_param("county", params)
    if area is not None and not scope_for(actor, Capability.LEDGER_VIEW).contains(area):
        raise PermissionDenied(_("该区划不在您的管辖范围内。"))
    if (params.get("region") or params.get("county")) and area is None:
        raise PermissionDenied(_("该区划不在您的管辖范围内。"))
    period = period_param(ReportingPeriod.objects, params, default=selectors.current_period)
    return selectors.EmployerFilters(
        query=(params.get("q") or "").strip(), region=area, township=region_param("township", params),
        key_group=params.get("key_group") or "", status=params.get("status") or "",
        in_scope={"1": True, "0": False}.get(params.get("in_scope") or ""), missing=params.get("missing") or "",
        period=period, sort=params.get("sort") or "name",
    )


def ledger_export(*, actor: User, params) -> Export:
    """Exactly the employer list `actor` sees with these filters, each with its facts of the
    period when it has a record."""
    filters = export_filters(actor, params)
    values = selectors.employer_export_values(actor=actor, filters=filters)
    return Export(_export_rows(values, with_record=filters.period is not None),
                  selectors.export_region_name(actor=actor, region=filters.region), filters.period, values.count())


def _export_rows(values, *, with_record: bool) -> Iterator[list]:
    """Display values in column order: labels for choices, 是/否, dates as dates. A record-less
    employer (not carried into the period) gets empty facts."""
    labels = {c.key: c.value_to_label() for c in COLUMNS if c.choices is not None}
    position = {c.key: i for i, c in enumerate(COLUMNS)}
    employer_slots = [(position[key], labels.get(key), cols.BY_KEY[key].kind)
                      for key, _path in selectors.EXPORT_EMPLOYER_VALUES]
    record_slots = [(position[key], cols.BY_KEY[key].kind) for key in RECORD_FIELDS]
    dust_slot = position["exposures"]
    first_record = len(employer_slots)
    width = len(COLUMNS)
    serial = 0
    for row in values.iterator(chunk_size=2000):
        serial += 1
        out = [None] * width
        out[0] = serial
        for (slot, label_map, kind), value in zip(employer_slots, row, strict=False):
            if kind is Kind.BOOL:
                value = cols.YES if value else cols.NO
            elif label_map is not None and value:
                value = label_map.get(value, value)
            out[slot] = value if value != "" else None
        if with_record and row[-2] is not None:  # the period's record exists
            for (slot, kind), value in zip(record_slots, row[first_record:first_record + len(record_slots)], strict=True):
                if kind is Kind.BOOL:
                    value = cols.YES if value else cols.NO
                out[slot] = value if value != "" else None
            out[dust_slot] = row[-1]
        yield out


# ---- Writing an export (in the request, or in a Celery task for large ones) ---------------------------


def export_inline_max_rows() -> int:
    """Exports up to this many employers are written in the request; larger ones (a province's
    "未落实" list of 15,975 took 5-11 s of a web worker under load, its 200,000 minutes) by a
    Celery task, and the page shows its progress and offers the file when it is ready."""
    return settings.PNEUMO_EXPORT_INLINE_MAX_ROWS


@contextlib.contextmanager
def export_snapshot():
    """One snapshot for the count (written as the sheet's size) and the rows."""
    with transaction.atomic():
        if len(connection.atomic_blocks) == 1:  # a fresh transaction, not one nested in a test's
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def export_filename(result: Export) -> str:
    title = cols.title_for(result.region_name).replace(cols.TITLE_BLANK_COUNTY, "")
    return f"{title}{result.period or ''}-{timezone.localdate():%Y%m%d}.xlsx"


def write_export(stream, result: Export) -> int:
    return write_ledger(stream, region_name=result.region_name, period=result.period, rows=result.rows,
                        reference=selectors.reference_lists(None), filled_on=timezone.localdate(),
                        expected_rows=result.count)


def _export_key(token: str) -> str:
    return f"ledger-export:{token}"


def export_start(*, actor: User, params: dict, result: Export) -> str:
    """Queue a large export; returns the token the page polls. The task recomputes the list
    with the user's scope at the time it runs."""
    from ledger.tasks import export_ledger  # ledger.tasks imports this module

    token = uuid.uuid4().hex
    cache.set(_export_key(token), {"user": actor.pk, "status": "pending", "rows": result.count,
                                   "filename": export_filename(result)}, EXPORT_STATE_SECONDS)
    export_ledger.delay_on_commit(token, actor.pk, params)
    return token


PROGRESS_EVERY = 1000


def counted(rows, key: str, state: dict):
    """The rows, recording in the export's state how many have been written every PROGRESS_EVERY
    rows (the page's progress bar)."""
    for written, row in enumerate(rows, 1):
        if written % PROGRESS_EVERY == 0:
            cache.set(key, {**state, "written": written}, EXPORT_STATE_SECONDS)
        yield row


def export_run(token: str, user_id: int, params: dict) -> None:
    key = _export_key(token)
    state = cache.get(key) or {"user": user_id}
    try:
        user = User.objects.get(pk=user_id)
        with export_snapshot(), tempfile.TemporaryFile() as spool:
            result = ledger_export(actor=user, params=params)
            state.update(rows=result.count)
            result.rows = counted(result.rows, key, state)
            write_export(spool, result)
            spool.seek(0)
            path = default_storage.save(f"{EXPORT_DIRECTORY}/{token}.xlsx", File(spool, name=f"{token}.xlsx"))
        state.update(status="done", path=path, written=result.count, filename=export_filename(result))
    except Exception as exc:  # noqa: BLE001 — the page must learn that it failed
        log.warning("ledger export %s failed (%s)", token, type(exc).__name__)
        state.update(status="failed")
        cache.set(key, state, EXPORT_STATE_SECONDS)
        raise
    cache.set(key, state, EXPORT_STATE_SECONDS)


def exports_purge() -> int:
    """Delete background exports older than their state in the cache (nothing links to them
    any more). Returns the number of files deleted."""
    if not default_storage.exists(EXPORT_DIRECTORY):
        return 0
    cutoff = timezone.now() - datetime.timedelta(seconds=EXPORT_STATE_SECONDS)
    deleted = 0
    for name in default_storage.listdir(EXPORT_DIRECTORY)[1]:
        path = f"{EXPORT_DIRECTORY}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)
            deleted += 1
    return deleted


def export_state(token: str, user: User) -> dict | None:
    """The export's state, only for the user who asked for it."""
    state = cache.get(_export_key(token)) if token.isalnum() else None
    return state if state and state.get("user") == user.pk else None
