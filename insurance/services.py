"""Every write of work-injury insurance coverage on the HRSS side: plain functions taking the
acting user, one transaction each, permission checked through portal.scoping, audit context
through portal.audit; pghistory's triggers record the rows.

Personal data: the agency's per-person list carries ID numbers. They are compared in memory
with the ledger roster and never written anywhere (no log line, no error report: an invalid
number is reported masked). A large export is stored only while a Celery task imports it,
and deleted when it finishes."""

from __future__ import annotations

import contextlib
import datetime
import decimal
import logging
import os
import re
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import pgtrigger
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insurance.excel import COVERAGE_COLUMNS, PERSON_COLUMNS, Table, read_tables
from insurance.models import (
    CoverageImport,
    CoverageImportJob,
    CoverageImportStatus,
    CoverageSource,
    ExpansionPlan,
    FollowUp,
    FollowUpAction,
    InsuranceCoverage,
    LedgerHandover,
    PlanYear,
    TrainingEvent,
    WorkerCoverage,
)
from ledger.models import CountySubmission, Employer, EmployerRecord, ReportingPeriod
from ledger.validation import clean_id_number, clean_uscc, mask_id_number
from portal.aftercommit import enqueue_after_commit
from portal.audit import AuditAction, audit
from portal.bulk import staging_table
from portal.importing import too_large_message
from portal.jobs import close_interrupted, lease
from portal.metrics import import_ended
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, require_in_scope, scope_for
from portal.values import EARLIEST_DATE, Errors, check_count, check_model_text, check_past_date
from portal.xlsx import CellError, WorkbookFileError, normalise, text_column_message, text_stored_as_number
from targets.services import rollup_mark_dirty
from worklist.models import NotificationKind
from worklist.services import notify

log = logging.getLogger(__name__)


def _region_keys(obj) -> dict:
    return {"province_id": obj.province_id, "city_id": obj.city_id, "county_id": obj.county_id}


# ---- 1. Hand-over of the ledger -------------------------------------------------------------------


@transaction.atomic
def ledger_handover(*, actor: User, period: ReportingPeriod, county: Region) -> LedgerHandover:
    """The county health bureau shares the period's ledger with the same-level HRSS bureau."""
    require_in_scope(actor, Capability.LEDGER_EDIT, county)
    if county.level != RegionLevel.COUNTY:
        raise ValidationError(_("只能由县（市、区）卫生健康部门移交本级台帐。"))
    if not CountySubmission.objects.filter(period=period, county=county).exists():
        raise ValidationError(_("%(county)s尚未开始%(period)s的台帐填报，无可移交的台帐。") % {
            "county": county.name, "period": period})
    with audit(actor, AuditAction.LEDGER_HANDOVER, period=period.code, county=county.code):
        handover = LedgerHandover.objects.create(period=period, county=county, city_id=county.parent_id,
                                                 province_id=county.parent.parent_id, shared_by=actor)
        notify(NotificationKind.HANDOVER_RECEIVED, handover=handover.pk)
    return handover


# ---- 2. Coverage records --------------------------------------------------------------------------


def _record_total(employer: Employer, period: ReportingPeriod) -> int | None:
    return EmployerRecord.objects.filter(employer=employer, period=period).values_list(
        "total_workers", flat=True).first()


def _upsert_coverage(*, actor, employer, period, insured_workers, as_of, source) -> InsuranceCoverage:
    coverage, _created = InsuranceCoverage.objects.update_or_create(
        employer=employer, period=period,
        defaults={"insured_workers": insured_workers, "as_of": as_of, "source": source, "created_by": actor,
                  **_region_keys(employer)})
    return coverage


@transaction.atomic
def coverage_save(*, actor: User, employer: Employer, period: ReportingPeriod, insured_workers: int,
                  as_of: datetime.date) -> InsuranceCoverage:
    """Enter (or correct) the HRSS count of an employer's insured workers for a period."""
    require_in_scope(actor, Capability.INSURANCE_EDIT, employer.county)
    errors = Errors()
    errors.run("insured_workers", check_count, insured_workers)
    errors.run("as_of", check_past_date, as_of)
    total = _record_total(employer, period)
    # Within the ledger's total workers when the employer has a record in the period (the import
    # applies the same rule to its rows).
    if total is not None and "insured_workers" not in errors and insured_workers > total:
        errors.add("insured_workers", _("参保人数（%(n)s）不能大于该单位%(period)s台帐的职工总人数（%(total)s）。") % {
            "n": insured_workers, "period": period, "total": total})
    errors.raise_if_any()
    with audit(actor, AuditAction.COVERAGE_SAVE, employer=employer.pk, period=period.code):
        coverage = _upsert_coverage(actor=actor, employer=employer, period=period, insured_workers=insured_workers,
                                    as_of=as_of, source=CoverageSource.MANUAL)
        rollup_mark_dirty(employer.county_id, period.pk)
    return coverage


@dataclass
class RowError:
    sheet: str
    row: int
    column: str
    value: str
    problem: str
    expected: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "value": self.value,
                "problem": self.problem, "expected": self.expected}


class ImportRejected(Exception):
    """The file has errors: nothing was written; `errors` is the per-row report."""

    def __init__(self, errors: list[RowError], *, refused: bool = False):
        self.errors = errors
        self.refused = refused  # the file itself could not be read (not a row's problem)
        super().__init__(_("文件校验未通过（%(n)s 处问题），未导入任何数据。") % {"n": len(errors)})


PROGRESS_EVERY = 500
REPORTED_ERRORS = 500  # the page lists this many problems; the rest are counted in one line


def import_max_bytes() -> int:
    """No upload may be larger (checked by the form, and again here for stored files)."""
    return settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES


def import_inline_max_bytes() -> int:
    """Uploads up to this size are imported in the request; larger ones by a Celery task."""
    return settings.PNEUMO_COVERAGE_INLINE_MAX_BYTES


def report_errors(errors: list[RowError]) -> list[dict]:
    """The per-row report as the page shows it (and a job stores it): the first problems, and
    one line counting the others."""
    shown = [e.as_dict() for e in errors[:REPORTED_ERRORS]]
    if len(errors) > REPORTED_ERRORS:
        shown.append(RowError("", 0, "", "", _("另有 %(n)s 处问题未列出：请先改正以上问题后重新上传") % {
            "n": len(errors) - REPORTED_ERRORS}, "").as_dict())
    return shown


@dataclass
class ImportTimings:
    read_validate_s: float = 0.0
    lookup_s: float = 0.0
    write_s: float = 0.0


@dataclass
class _Unit:
    row: int
    name: str
    uscc: str
    insured: int
    as_of: datetime.date


@dataclass
class _Parsed:
    units: list[_Unit] = field(default_factory=list)
    persons: dict[str, set[str]] | None = None  # uscc → ID numbers (in memory only)
    persons_total: int = 0
    errors: list[RowError] = field(default_factory=list)
    refused: bool = False  # the file itself could not be read (WorkbookFileError)


def _as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():  # calamine reads every number as float
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())  # a sign is read, so that −4 is refused as negative, not as "not a number"
    return None


def _as_date(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("/", "-").replace(".", "-")
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            try:
                return datetime.datetime.strptime(text, "%Y-%m-%d").date()
            except ValueError:
                return None
    return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed into a number cell: 12.0 is "12"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _code(value, clean: Callable[[str], str], label: str) -> str:
    """A long code (USCC, ID number) cleaned; one Excel stored as a number has lost digits."""
    if text_stored_as_number(value):
        raise ValidationError(text_column_message(label))
    return clean(_text(normalise(value)))


def _cell_error_problem(value: CellError) -> str:
    return _("单元格是错误值 %(error)s（公式出错），请改正公式或直接填写数值") % {"error": value}


def _formula_errors(sheet: str, number: int, raw: tuple, index: dict[str, int], expected: dict[str, str],
                    errors: list[RowError]) -> set[str]:
    """The row's columns holding an Excel error value (a broken formula), each reported:
    neither a blank nor text such as "#DIV/0!"."""
    bad = set()
    for column, i in index.items():
        value = raw[i]
        if value.__class__ is CellError:
            errors.append(RowError(sheet, number, column, str(value), _cell_error_problem(value), expected[column]))
            bad.add(column)
    return bad


def _has_cell_error(raw: tuple) -> bool:
    return any(v.__class__ is CellError for v in raw)


def _blank_row(raw) -> bool:
    return not raw or all(v is None or v == "" for v in raw)


def _check_header(table: Table, expected: list[str], errors: list[RowError]) -> dict[str, int] | None:
    unknown = [h for h in table.header if h not in expected]
    missing = [c for c in expected if c not in table.header]
    for name in unknown:
        errors.append(RowError(table.sheet, 1, name or _("（空列名）"), name, _("未知的列"),
                               _("只能包含以下列：%(cols)s") % {"cols": "、".join(expected)}))
    for name in missing:
        errors.append(RowError(table.sheet, 1, name, "", _("缺少必需的列"),
                               _("表头应为：%(cols)s") % {"cols": "、".join(expected)}))
    if unknown or missing:
        return None
    return {name: table.header.index(name) for name in expected}


def _no_progress(rows_read: int) -> None:
    pass


def _data_rows(table: Table, width: int, progress: Callable[[int], None]) -> Iterator[tuple[int, tuple]]:
    """(row number, values padded to `width`) of the table's non-blank rows, reporting progress
    every few hundred rows."""
    for count, (number, raw) in enumerate(table.rows, start=1):
        if count % PROGRESS_EVERY == 0:
            progress(number - 1)
        if not _blank_row(raw):
            yield number, tuple(raw) + (None,) * (width - len(raw))


def _parse_units(table: Table, parsed: _Parsed, today: datetime.date,
                 progress: Callable[[int], None] = _no_progress) -> None:
    index = _check_header(table, COVERAGE_COLUMNS, parsed.errors)
    if index is None:
        return
    expected = {"单位名称": _("填写单位全称"), "统一社会信用代码": _("18位统一社会信用代码（GB 32100-2015）"),
                "参保人数": _("不小于0的整数"), "截至日期": _("日期，如 2020-06-30")}
    i_name, i_uscc, i_n, i_date = (index[c] for c in COVERAGE_COLUMNS)
    width = max(index.values()) + 1
    errors, sheet = parsed.errors, table.sheet
    seen: dict[str, int] = {}
    for number, raw in _data_rows(table, width, progress):
        bad = _formula_errors(sheet, number, raw, index, expected, errors) if _has_cell_error(raw) else ()
        ok = not bad
        name, uscc, insured, as_of = "", None, None, None
        if "单位名称" not in bad:
            name = _text(raw[i_name])
            if not name:
                errors.append(RowError(sheet, number, "单位名称", "", _("单位名称为空"), expected["单位名称"]))
                ok = False
        if "统一社会信用代码" not in bad:
            uscc_raw = raw[i_uscc]
            try:
                uscc = _code(uscc_raw, clean_uscc, "统一社会信用代码")
            except ValidationError as exc:
                errors.append(RowError(sheet, number, "统一社会信用代码", _text(uscc_raw), exc.messages[0],
                                       expected["统一社会信用代码"]))
                ok = False
        if "参保人数" not in bad:
            n_raw = raw[i_n]
            insured = _as_int(normalise(n_raw))
            problem = _("参保人数不是有效的整数") if insured is None else None
            if insured is not None:
                try:
                    check_count(insured)
                except ValidationError as exc:
                    problem, insured = exc.messages[0], None
            if problem:
                errors.append(RowError(sheet, number, "参保人数", _text(n_raw), problem, expected["参保人数"]))
                ok = False
        if "截至日期" not in bad:
            date_raw = raw[i_date]
            as_of = _as_date(normalise(date_raw))
            if as_of is None:
                errors.append(RowError(sheet, number, "截至日期", _text(date_raw), _("日期格式不正确"),
                                       expected["截至日期"]))
                ok = False
            else:
                try:
                    check_past_date(as_of)
                except ValidationError as exc:
                    errors.append(RowError(sheet, number, "截至日期", as_of.isoformat(), exc.messages[0],
                                           _("%(earliest)s 至 %(today)s 之间的日期") % {
                                               "earliest": EARLIEST_DATE.isoformat(), "today": today.isoformat()}))
                    ok = False
        if uscc is not None:
            if uscc in seen:
                errors.append(RowError(sheet, number, "统一社会信用代码", uscc,
                                       _("同一单位重复出现（与第 %(row)s 行重复）") % {"row": seen[uscc]},
                                       _("每个单位只占一行")))
                ok = False
            else:
                seen[uscc] = number
        if ok:
            parsed.units.append(_Unit(number, name, uscc, insured, as_of))


def _parse_persons(table: Table, parsed: _Parsed, progress: Callable[[int], None] = _no_progress) -> None:
    index = _check_header(table, PERSON_COLUMNS, parsed.errors)
    if index is None:
        return
    expected = {"姓名": _("填写劳动者姓名"), "居民身份证号": _("18位居民身份证号（GB 11643）"),
                "统一社会信用代码": _("参保单位表中某单位的统一社会信用代码")}
    i_name, i_id, i_uscc = (index[c] for c in PERSON_COLUMNS)
    width = max(index.values()) + 1
    persons: dict[str, set[str]] = {}
    errors, sheet = parsed.errors, table.sheet
    for number, raw in _data_rows(table, width, progress):
        parsed.persons_total += 1
        # An error value is never an ID number, so it is shown as it is.
        bad = _formula_errors(sheet, number, raw, index, expected, errors) if _has_cell_error(raw) else ()
        ok = not bad
        id_number = uscc = None
        if "姓名" not in bad and not _text(raw[i_name]):
            errors.append(RowError(sheet, number, "姓名", "", _("姓名为空"), expected["姓名"]))
            ok = False
        if "居民身份证号" not in bad:
            id_raw = _text(raw[i_id])
            try:
                id_number = _code(raw[i_id], clean_id_number, "居民身份证号")
            except ValidationError as exc:
                # The value is shown masked: the report is stored and displayed.
                errors.append(RowError(sheet, number, "居民身份证号", mask_id_number(id_raw), exc.messages[0],
                                       expected["居民身份证号"]))
                ok = False
        if "统一社会信用代码" not in bad:
            try:
                uscc = _code(raw[i_uscc], clean_uscc, "统一社会信用代码")
            except ValidationError as exc:
                errors.append(RowError(sheet, number, "统一社会信用代码", _text(raw[i_uscc]), exc.messages[0],
                                       expected["统一社会信用代码"]))
                ok = False
        if ok:
            persons.setdefault(uscc, set()).add(id_number)
    parsed.persons = persons


def _size(data: bytes | IO[bytes]) -> int:
    if isinstance(data, bytes):
        return len(data)
    size = getattr(data, "size", None)  # uploads and stored files know theirs
    if size is None:
        position = data.tell()
        size = data.seek(0, os.SEEK_END)
        data.seek(position)
    return size


def parse_export(files: list[tuple[str, bytes | IO[bytes]]],
                 on_progress: Callable[[int, int], None] | None = None) -> _Parsed:
    """Read and check the agency's export in memory: (filename, content or binary file) of one
    workbook (unit sheet, optional person sheet) or one or two CSV files (units, then persons).
    Stops nothing early: every problem lands in `errors`. `on_progress(rows read, rows in all
    tables)` is called every few hundred rows."""
    parsed = _Parsed()
    try:
        with contextlib.ExitStack() as stack:
            tables: list[Table] = []
            for filename, data in files:
                tables.extend(stack.enter_context(read_tables(data, filename, max_bytes=import_max_bytes())))
            _parse_tables(tables, parsed, on_progress)
    except WorkbookFileError as exc:
        parsed.errors = [RowError("", 0, "", "", str(exc), _(".xlsx 或 .csv 文件"))]
        parsed.refused = True
    return parsed


def _parse_tables(tables: list[Table], parsed: _Parsed, on_progress) -> None:
    if len(tables) > 2:
        parsed.errors.append(RowError("", 0, "", "", _("文件过多"), _("一个参保单位表，可另附一个参保人员表")))
        return
    today = timezone.localdate()
    # Which table is which: by header, so the order of two CSV files does not matter.
    units = next((t for t in tables if "参保人数" in t.header), tables[0])
    others = [t for t in tables if t is not units]
    total = sum(t.rows_estimate for t in tables)

    def progress_after(before: int) -> Callable[[int], None]:
        if on_progress is None:
            return _no_progress
        return lambda rows_read: on_progress(before + rows_read, max(total, before + rows_read))

    _parse_units(units, parsed, today, progress_after(0))
    for table in others:
        _parse_persons(table, parsed, progress_after(units.rows_estimate))
    if on_progress is not None:
        on_progress(total, total)
    if parsed.persons is not None and not parsed.errors:
        listed = {u.uscc for u in parsed.units}
        person_table = others[0]
        for uscc in sorted(set(parsed.persons) - listed):
            parsed.errors.append(RowError(person_table.sheet, 0, "统一社会信用代码", uscc,
                                          _("参保人员所在单位不在参保单位表中"), _("参保单位表中已列出的单位")))


_LOOKUP_SQL = """
SELECT e.uscc, e.id, e.province_id, e.city_id, e.county_id, r.total_workers
FROM ledger_employer e
LEFT JOIN ledger_employerrecord r ON r.employer_id = e.id AND r.period_id = %s
WHERE e.uscc = ANY(%s)
"""

_COVERAGE_COLUMNS = ["employer_id", "period_id", "province_id", "city_id", "county_id", "insured_workers", "as_of",
                     "source", "created_by_id", "updated_at"]

_UPSERT_SQL = """
WITH written AS (
    INSERT INTO insurance_insurancecoverage ({cols})
    SELECT {cols} FROM "{staging}"
    ON CONFLICT (employer_id, period_id) DO UPDATE SET
        insured_workers = EXCLUDED.insured_workers, as_of = EXCLUDED.as_of, source = EXCLUDED.source,
        created_by_id = EXCLUDED.created_by_id, updated_at = EXCLUDED.updated_at,
        province_id = EXCLUDED.province_id, city_id = EXCLUDED.city_id, county_id = EXCLUDED.county_id
    WHERE (insurance_insurancecoverage.insured_workers, insurance_insurancecoverage.as_of,
           insurance_insurancecoverage.source)
          IS DISTINCT FROM (EXCLUDED.insured_workers, EXCLUDED.as_of, EXCLUDED.source)
    RETURNING insurance_insurancecoverage.*, (xmax = 0) AS inserted
)
INSERT INTO insurance_insurancecoverageevent
    (pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id, id, {cols})
SELECT now(), CASE WHEN inserted THEN 'insert' ELSE 'update' END, id, (SELECT _pgh_attach_context()), id, {cols}
FROM written
"""
# The row triggers of pghistory cost a subtransaction a row, which with the foreign-key row
# locks of the same statement grows quadratically (45,000 rows: minutes). The bulk path skips
# them and writes the same history rows, with the same context, in one set-based statement.
_BULK_IGNORED_TRIGGERS = ("insurance.InsuranceCoverage:insert_insert", "insurance.InsuranceCoverage:update_update")


def coverage_import(*, actor: User, region: Region, period: ReportingPeriod,
                    files: list[tuple[str, bytes | IO[bytes]]], original_name: str = "",
                    timings: ImportTimings | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> CoverageImport:
    """Import the social-insurance agency's export for `region`: all or nothing. `files` are
    (filename, content or binary file). Raises ImportRejected with the per-row report when
    anything is wrong, ValidationError for a file above the upload limit. In the request or in
    a job, each run counts once in the import-outcome metric."""
    try:
        record = _coverage_import(actor=actor, region=region, period=period, files=files,
                                  original_name=original_name, timings=timings, on_progress=on_progress)
    except ImportRejected as exc:
        import_ended("coverage", CoverageImportStatus.REFUSED if exc.refused else CoverageImportStatus.INVALID)
        raise
    except Exception:
        import_ended("coverage", CoverageImportStatus.FAILED)
        raise
    import_ended("coverage", CoverageImportStatus.DONE)
    return record


def _coverage_import(*, actor: User, region: Region, period: ReportingPeriod,
                     files: list[tuple[str, bytes | IO[bytes]]], original_name: str = "",
                     timings: ImportTimings | None = None,
                     on_progress: Callable[[int, int], None] | None = None) -> CoverageImport:
    import time

    require_in_scope(actor, Capability.INSURANCE_EDIT, region)
    limit = import_max_bytes()
    for _name, data in files:
        if (size := _size(data)) > limit:
            raise ValidationError(too_large_message(size, limit))
    timings = timings or ImportTimings()
    started = time.perf_counter()
    parsed = parse_export(files, on_progress)
    timings.read_validate_s = time.perf_counter() - started
    if parsed.errors:
        raise ImportRejected(parsed.errors, refused=parsed.refused)

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP_SQL, [period.pk, [u.uscc for u in parsed.units]])
        ledger = {row[0]: row[1:] for row in cursor.fetchall()}
    level_index = {RegionLevel.PROVINCE: 1, RegionLevel.CITY: 2, RegionLevel.COUNTY: 3}.get(region.level)
    if level_index is None:
        raise ValidationError(_("请选择省、市或县级区划导入。"))
    errors: list[RowError] = []
    matched: list[tuple[_Unit, tuple]] = []
    unmatched: list[dict] = []
    outside: list[tuple[_Unit, int]] = []
    for unit in parsed.units:
        hit = ledger.get(unit.uscc)
        if hit is None:
            unmatched.append({"row": unit.row, "name": unit.name, "uscc": unit.uscc,
                              "insured_workers": unit.insured})
            continue
        if hit[level_index] != region.pk:
            outside.append((unit, hit[3]))
            continue
        total = hit[4]
        if total is not None and unit.insured > total:
            errors.append(RowError(_("参保单位"), unit.row, "参保人数", str(unit.insured),
                                   _("参保人数大于该单位台帐职工总人数（%(total)s）") % {"total": total},
                                   _("不大于 %(total)s 的整数") % {"total": total}))
            continue
        matched.append((unit, hit))
    if outside:
        for unit, _county_id in outside:
            errors.append(RowError(_("参保单位"), unit.row, "统一社会信用代码", unit.uscc,
                                   _("该单位已在其他地区登记，不在本次导入的%(region)s范围内") % {
                                       "region": region.name},
                                   _("%(region)s的单位") % {"region": region.name}))
    if errors:
        errors.sort(key=lambda e: e.row)
        raise ImportRejected(errors)
    timings.lookup_s = time.perf_counter() - started

    started = time.perf_counter()
    now = timezone.now()
    rows = [(hit[0], period.pk, hit[1], hit[2], hit[3], unit.insured, unit.as_of, CoverageSource.IMPORT.value,
             actor.pk, now) for unit, hit in matched]
    with transaction.atomic(), audit(actor, AuditAction.COVERAGE_IMPORT, region=region.code, period=period.code,
                                     rows=len(parsed.units)):
        record = CoverageImport.objects.create(
            region=region, period=period, created_by=actor, original_name=original_name[:255],
            rows_total=len(parsed.units), rows_matched=len(matched), persons_total=parsed.persons_total,
            unmatched=unmatched)
        with staging_table(staging="insurance_coverage_stage", like_table="insurance_insurancecoverage",
                           columns=_COVERAGE_COLUMNS, rows=rows) as staging:
            cols = ", ".join(_COVERAGE_COLUMNS)
            with pgtrigger.ignore(*_BULK_IGNORED_TRIGGERS), connection.cursor() as cursor:
                cursor.execute(_UPSERT_SQL.format(cols=cols, staging=staging))
        if parsed.persons is not None:
            with connection.cursor() as cursor:
                # pgtrigger's check raises and catches an error a row while this is unset.
                cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
            insured, uninsured = _match_roster(period, {hit[0]: unit.uscc for unit, hit in matched}, parsed.persons)
            record.workers_insured, record.workers_uninsured = insured, uninsured
            record.save(update_fields=["workers_insured", "workers_uninsured"])
        for county_id in sorted({hit[3] for _unit, hit in matched}):
            rollup_mark_dirty(county_id, period.pk)
    timings.write_s = time.perf_counter() - started
    return record


def _match_roster(period: ReportingPeriod, uscc_by_employer: dict[int, str], persons: dict[str, set[str]]
                  ) -> tuple[int, int]:
    """Mark every rostered worker of the imported employers insured or not, by ID number."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, employer_id, id_number FROM ledger_worker WHERE employer_id = ANY(%s)",
                       [list(uscc_by_employer)])
        roster = cursor.fetchall()
    statuses = []
    for worker_id, employer_id, id_number in roster:
        listed = persons.get(uscc_by_employer[employer_id], ())
        statuses.append(WorkerCoverage(worker_id=worker_id, period=period,
                                       insured=(id_number or "").upper() in listed))
    WorkerCoverage.objects.bulk_create(statuses, update_conflicts=True, unique_fields=["worker", "period"],
                                       update_fields=["insured", "matched_at"], batch_size=2000)
    insured = sum(1 for s in statuses if s.insured)
    return insured, len(statuses) - insured


# ---- 3b. Large exports: stored, imported by a Celery task while the page polls -------------------------


def import_runs_inline(*uploads) -> bool:
    """Whether the uploads are small enough to import in the request."""
    return sum(u.size for u in uploads if u is not None) <= import_inline_max_bytes()


def _stored_name(name: str) -> str:
    # A neutral name (the original may hold a unit's or a person's name); the extension decides
    # how the file is read, so it is kept.
    extension = os.path.splitext(name or "")[1].lower()
    if not extension[1:].isalnum() or len(extension) > 6:
        extension = ""
    return f"coverage-{uuid.uuid4().hex}{extension}"


def _original_name(upload) -> str:
    return (getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1][:255]


def coverage_import_enqueue(*, actor: User, region: Region, period: ReportingPeriod, upload,
                            persons_upload=None) -> CoverageImportJob:
    """Store a large export as a pending job and queue its import (after commit); the page then
    polls the job. Nothing of the coverage is touched here."""
    require_in_scope(actor, Capability.INSURANCE_EDIT, region)
    if region.level not in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY):
        raise ValidationError(_("请选择省、市或县级区划导入。"))
    limit = import_max_bytes()
    for candidate in (upload, persons_upload):
        if candidate is not None and candidate.size > limit:
            raise ValidationError(too_large_message(candidate.size, limit))
    original, persons_name = _original_name(upload), _original_name(persons_upload) if persons_upload else ""
    upload.name = _stored_name(original)
    if persons_upload is not None:
        persons_upload.name = _stored_name(persons_name)
    job = CoverageImportJob.objects.create(region=region, period=period, created_by=actor, original_name=original,
                                           file=upload, persons_name=persons_name,
                                           persons_file=persons_upload or "")
    from insurance.tasks import import_coverage

    enqueue_after_commit(import_coverage, job.pk)
    log.info("coverage import job %s queued by user %s for region %s", job.pk, actor.pk, region.code)
    return job


def _job_progress(job: CoverageImportJob) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        # A plain UPDATE in autocommit (the rows are checked before the import's transaction
        # opens), so the polling page sees it at once.
        job.rows_done, job.rows_total = done, total
        CoverageImportJob.objects.filter(pk=job.pk).update(rows_done=done, rows_total=total)
    return report


def _message_row(problem: str) -> dict:
    return RowError("", 0, "", "", problem, "").as_dict()


def coverage_import_run(*, job_id: int) -> CoverageImportJob:
    """Import a queued job's export as its uploader (whose rights are checked now, not when it
    was queued): all or nothing, as in the request. The job ends done (linked to the import),
    invalid (with the per-row report), refused (a file that cannot be read) or failed (with a
    message); the stored files are deleted in every case. A job that is not pending (running in
    another worker, or finished) is left alone: the conditional UPDATE below lets exactly one run
    claim it. The run holds the job's lease (portal.jobs): if this process dies, the beat check
    closes the job as interrupted and deletes its files."""
    job = CoverageImportJob.objects.select_related("region", "period", "created_by").get(pk=job_id)
    with lease(job):
        claimed = CoverageImportJob.objects.filter(pk=job_id, status=CoverageImportStatus.PENDING).update(
            status=CoverageImportStatus.RUNNING, started_at=timezone.now())
        job.refresh_from_db()
        if not claimed:
            log.warning("coverage import job %s is %s: not started again", job.pk, job.status)
            return job
        return _run_claimed(job)


def _run_claimed(job: CoverageImportJob) -> CoverageImportJob:
    stored = [stored_file for stored_file in (job.file, job.persons_file) if stored_file]
    record, errors, status = None, [], CoverageImportStatus.FAILED
    try:
        if any(not f.storage.exists(f.name) for f in stored) or not job.file:
            errors = [_message_row(_("上传的文件已不存在（可能系统从备份恢复时未包含上传的文件），本次导入未写入任何数据。"
                                     "请重新上传该文件。"))]
            import_ended("coverage", CoverageImportStatus.FAILED)  # coverage_import was not reached
        else:
            files = [(job.original_name, job.file)]
            if job.persons_file:
                files.append((job.persons_name, job.persons_file))
            record = coverage_import(actor=job.created_by, region=job.region, period=job.period, files=files,
                                     original_name=job.original_name, on_progress=_job_progress(job))
            status = CoverageImportStatus.DONE
    except ImportRejected as exc:
        status = CoverageImportStatus.REFUSED if exc.refused else CoverageImportStatus.INVALID
        errors = report_errors(exc.errors)
    except (PermissionDenied, ValidationError) as exc:
        errors = [_message_row(" ".join(getattr(exc, "messages", [str(exc)])))]
    except Exception as exc:  # noqa: BLE001 — the page must learn that it failed
        # The traceback's frames only: an exception's message could quote a cell (an ID number).
        log.error("coverage import job %s failed, nothing written (%s)\n%s", job.pk, type(exc).__name__,
                  "".join(traceback.format_tb(exc.__traceback__)))
        errors = [_message_row(_("导入时发生系统错误，已全部撤销，未写入任何数据。请稍后重试或联系管理员。"))]
    finally:
        _delete_stored(job, stored)
    job.file = job.persons_file = ""
    job.status, job.errors, job.result, job.finished_at = status, errors, record, timezone.now()
    if status == CoverageImportStatus.DONE:
        job.rows_done = job.rows_total
    job.save(update_fields=["status", "errors", "result", "finished_at", "file", "persons_file", "rows_done"])
    log.info("coverage import job %s %s", job.pk, status)
    return job


def _delete_stored(job: CoverageImportJob, stored) -> None:
    for stored_file in stored:
        try:
            stored_file.delete(save=False)  # closes it too
        except OSError as exc:
            log.error("coverage import job %s: stored upload not deleted (%s)", job.pk, type(exc).__name__)


def coverage_jobs_close_interrupted() -> int:
    """Close the jobs whose worker died while importing them (their lease is free), or whose
    task was lost, deleting their stored uploads (they hold ID numbers); returns how many. Run
    by beat every two minutes; the import is one transaction, so nothing of it was written."""
    return close_interrupted(CoverageImportJob, running=[CoverageImportStatus.RUNNING],
                             queued=[CoverageImportStatus.PENDING], close=_close_interrupted, import_kind="coverage")


coverage_jobs_fail_interrupted = coverage_jobs_close_interrupted


def _close_interrupted(job: CoverageImportJob) -> bool:
    closed = CoverageImportJob.objects.filter(pk=job.pk, status=job.status, started_at=job.started_at).update(
        file="", persons_file="", status=CoverageImportStatus.INTERRUPTED, finished_at=timezone.now(),
        errors=[_message_row(_("后台处理中断（处理它的进程意外退出），本次导入未写入任何数据。请重新上传该文件导入。"))])
    if closed:
        _delete_stored(job, [f for f in (job.file, job.persons_file) if f])
    return bool(closed)


# ---- 4. Follow-ups on the uninsured work list -----------------------------------------------------


@transaction.atomic
def follow_up_create(*, actor: User, employer: Employer, period: ReportingPeriod, action: str,
                     acted_on: datetime.date, enrolled: int = 0, note: str = "") -> FollowUp:
    """Record what HRSS did; "enrolled N" raises the employer's HRSS coverage count by N."""
    require_in_scope(actor, Capability.INSURANCE_EDIT, employer.county)
    errors = {}
    if action not in FollowUpAction.values:
        errors["action"] = _("请选择跟进措施。")
    try:
        check_past_date(acted_on)
    except ValidationError as exc:
        errors["acted_on"] = exc.messages[0]
    try:
        note = check_model_text(FollowUp, "note", note)
    except ValidationError as exc:
        errors["note"] = exc.messages[0]
    enrolled = enrolled or 0
    if enrolled < 0:
        errors["enrolled"] = _("不能为负数")
    if action == FollowUpAction.ENROLLED and enrolled <= 0:
        errors["enrolled"] = _("“已参保”请填写新增参保人数（大于0）。")
    elif action != FollowUpAction.ENROLLED and enrolled:
        errors["enrolled"] = _("只有“已参保”需要填写新增参保人数。")
    record = EmployerRecord.objects.filter(employer=employer, period=period).first()
    coverage = InsuranceCoverage.objects.select_for_update(no_key=True, of=("self",)).filter(employer=employer, period=period).first()
    new_count = None
    if action == FollowUpAction.ENROLLED and enrolled > 0:
        base = coverage.insured_workers if coverage else (record.insured_workers if record else 0)
        new_count = base + enrolled
        if record is not None and new_count > record.total_workers:
            errors["enrolled"] = _("新增后参保人数（%(n)s）将大于职工总人数（%(total)s）。") % {
                "n": new_count, "total": record.total_workers}
    if errors:
        raise ValidationError(errors)
    with audit(actor, AuditAction.FOLLOW_UP_CREATE, employer=employer.pk, period=period.code, follow_up=action):
        follow_up = FollowUp.objects.create(employer=employer, period=period, action=action, acted_on=acted_on,
                                            enrolled=enrolled, note=note.strip(), created_by=actor,
                                            **_region_keys(employer))
        if new_count is not None:
            _upsert_coverage(actor=actor, employer=employer, period=period, insured_workers=new_count,
                             as_of=acted_on, source=CoverageSource.FOLLOW_UP)
            rollup_mark_dirty(employer.county_id, period.pk)
    return follow_up


# ---- 5. Expansion plans ---------------------------------------------------------------------------


@transaction.atomic
def plan_save(*, actor: User, region: Region, title: str, start_year: int,
              targets: list[tuple[int, decimal.Decimal]]) -> ExpansionPlan:
    """扩面专项行动三年计划: three yearly targets (insured workers, coverage rate %) for the region."""
    require_in_scope(actor, Capability.INSURANCE_EDIT, region)
    errors = {}
    if not (title or "").strip():
        errors["title"] = _("请填写计划名称。")
    if not 2019 <= (start_year or 0) <= 2100:
        errors["start_year"] = _("起始年度应在2019年至2100年之间。")
    if len(targets) != 3:
        errors["targets"] = _("三年计划需要填写连续三年的目标。")
    for i, (insured, rate) in enumerate(targets):
        if insured is None or insured < 0:
            errors[f"insured_{i}"] = _("参保人数目标应为不小于0的整数。")
        if rate is None or not 0 <= rate <= 100:
            errors[f"rate_{i}"] = _("参保率目标应在0到100之间。")
    if errors:
        raise ValidationError(errors)
    with audit(actor, AuditAction.PLAN_SAVE, region=region.code, start_year=start_year):
        plan, _created = ExpansionPlan.objects.update_or_create(
            region=region, start_year=start_year, defaults={"title": title.strip(), "created_by": actor})
        for i, (insured, rate) in enumerate(targets):
            PlanYear.objects.update_or_create(plan=plan, year=start_year + i,
                                              defaults={"insured_workers": insured, "coverage_rate": rate})
    return plan


# ---- 6. Prevention training and publicity ----------------------------------------------------------


@transaction.atomic
def training_create(*, actor: User, region: Region, kind: str, title: str, held_on: datetime.date,
                    participants: int, employers: list[Employer] = ()) -> TrainingEvent:
    require_in_scope(actor, Capability.INSURANCE_EDIT, region)
    errors = {}
    if not (title or "").strip():
        errors["title"] = _("请填写活动名称。")
    try:
        check_past_date(held_on)
    except ValidationError as exc:
        errors["held_on"] = exc.messages[0]
    if participants is None or participants < 0:
        errors["participants"] = _("参加人数应为不小于0的整数。")
    level_field = {RegionLevel.PROVINCE: "province_id", RegionLevel.CITY: "city_id",
                   RegionLevel.COUNTY: "county_id", RegionLevel.TOWNSHIP: "township_id"}[region.level]
    foreign = [e for e in employers if getattr(e, level_field) != region.pk]
    if foreign:
        # Named only when the actor may see them; otherwise just that they are registered elsewhere.
        scope = scope_for(actor, Capability.INSURANCE_VIEW)
        names = [e.name if scope.contains(e.county) else (e.uscc or "") for e in foreign]
        errors["employers"] = _("以下单位不在%(region)s：%(names)s") % {"region": region.name, "names": "、".join(names)}
    if errors:
        raise ValidationError(errors)
    with audit(actor, AuditAction.TRAINING_CREATE, region=region.code):
        event = TrainingEvent.objects.create(region=region, kind=kind, title=title.strip(), held_on=held_on,
                                             participants=participants, created_by=actor)
        if employers:
            event.employers.set(employers)
    return event


def can_edit(actor: User, region: Region) -> bool:
    return scope_for(actor, Capability.INSURANCE_EDIT).contains(region)


__all__ = ["ImportRejected", "PermissionDenied", "RowError", "coverage_import", "coverage_import_enqueue",
           "coverage_import_run", "coverage_save", "follow_up_create", "ledger_handover", "plan_save", "training_create"]
