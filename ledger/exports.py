"""Exporting the ledger the user can see, in the official workbook's layout (`ledger.excel`):
in the request, or by the Celery worker for large ones (`portal.exports`, kind "ledger"). The
rows are chosen by `ledger.selectors.employer_export_values`; this module turns them into
display values.

    result = ledger_export(actor=…, params=request.GET)    # PermissionDenied for a foreign region
    write_export(stream, result)                          # portal.exports runs it as the "ledger" kind
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy

from ledger import columns as cols
from ledger import roster, selectors
from ledger.columns import COLUMNS, Kind
from ledger.excel import write_ledger
from ledger.models import RECORD_FIELDS, ReportingPeriod
from portal.exports import ExportKind, Prepared
from portal.models import User
from portal.params import export_region_param, period_param
from portal.scoping import Capability, scope_for


@dataclass
class Export:
    rows: Iterator[list]
    region_name: str | None
    period: ReportingPeriod | None
    count: int


def export_filters(actor: User, params) -> selectors.EmployerFilters:
    """The employer list's filters from a query string (the list page links here with its own
    query string): region (or county), township, q, key_group, status, in_scope, missing,
    period, sort. Raises PermissionDenied for a region outside the user's scope or
    one that does not exist."""

    scope = scope_for(actor, Capability.LEDGER_VIEW)
    area = export_region_param(scope, "region", params) or export_region_param(scope, "county", params)
    period = period_param(ReportingPeriod.objects, params, default=selectors.current_period)
    return selectors.EmployerFilters(
        query=(params.get("q") or "").strip(), region=area, township=export_region_param(scope, "township", params),
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


# ---- The export kind (portal.exports writes it in the request or in the worker) --------------------


def export_filename(result: Export) -> str:
    title = cols.title_for(result.region_name).replace(cols.TITLE_BLANK_COUNTY, "")
    return f"{title}{result.period or ''}-{timezone.localdate():%Y%m%d}.xlsx"


def write_export(stream, result: Export) -> int:
    return write_ledger(stream, region_name=result.region_name, period=result.period, rows=result.rows,
                        reference=selectors.reference_lists(None), filled_on=timezone.localdate(),
                        expected_rows=result.count)


def ledger_prepare(actor: User, params) -> Prepared:
    result = ledger_export(actor=actor, params=params)

    def write(stream, progress):
        result.rows = progress(result.rows)
        return write_export(stream, result)

    return Prepared(count=result.count, filename=export_filename(result), write=write)


LEDGER = ExportKind(name="ledger", title=gettext_lazy("导出台帐"), unit=gettext_lazy("个单位"),
                    capability=Capability.LEDGER_VIEW, prepare=ledger_prepare)


def roster_prepare(actor: User, params) -> Prepared:
    workers = roster.export_workers(actor, params)
    return Prepared(count=workers.count(), filename="roster.xlsx",
                    write=lambda stream, progress: roster.export(stream, actor=actor, workers=workers,
                                                                 progress=progress))


ROSTER = ExportKind(name="roster", title=gettext_lazy("导出接尘劳动者名册"), unit=gettext_lazy("人"),
                    capability=Capability.LEDGER_VIEW, prepare=roster_prepare)
