"""The worker roster workbook (接尘劳动者名册): one column definition (`COLUMNS`) for the template,
the import and the export, of one employer's or one county's workers.

Uploads are read through portal.xlsx (in the sandboxed child process, like every upload) and
workbooks written through portal.workbook (no user text becomes a formula). The import checks
every row with the form's rules (ledger.services.clean_worker_data), reports every problem by row
and column, and writes nothing unless the whole file is clean; then one transaction stages the
rows with COPY and upserts them on (employer, ID number). A worker of an employer outside the
county being imported, or an ID number twice for one employer, is a per-cell error.

Exports mask ID numbers unless the user's role needs them (WORKER_IDENTITY)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from ledger.models import DustType, Employer, ExamResult, Worker
from ledger.services import clean_worker_data
from ledger.validation import mask_id_number
from portal.audit import audit
from portal.bulk import staging_table
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, require_in_scope, scope_for
from portal.workbook import NO, YES, write_list
from portal.xlsx import CellError, ImportResult, cell_text, normalise, read_template_rows, text_column_message

SHEET = "接尘劳动者名册"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    expected: str
    width: float = 14


COLUMNS: list[Column] = [
    Column("employer", "统一社会信用代码", True, "本县（市、区）台帐中单位的18位统一社会信用代码（或15位旧注册号）", 22),
    Column("employer_name", "单位名称", False, "仅供核对，不导入", 24),
    Column("name", "姓名", True, "劳动者姓名", 10),
    Column("id_number", "居民身份证号", True, "18位居民身份证号（设置为文本格式）", 22),
    Column("post", "岗位", True, "接尘岗位名称", 14),
    Column("dust_type", "粉尘种类", True, "《职业病危害因素分类目录》中的粉尘名称", 12),
    Column("exposure_start", "接尘开始日期", False, "日期，不晚于今天", 12),
    Column("insured", "是否参加工伤保险", False, "是或否；不填为否", 10),
    Column("last_exam_date", "最近体检日期", False, "日期，不晚于今天", 12),
    Column("last_exam_result", "体检结论", False, "、".join(str(label) for _v, label in ExamResult.choices), 14),
]
BY_KEY = {c.key: c for c in COLUMNS}


# ---- Writing -------------------------------------------------------------------------------------------


def write_roster(stream: IO[bytes] | str, *, title: str, rows: Iterable[list] = ()) -> None:
    write_list(stream, sheet=SHEET, title=title, columns=COLUMNS, rows=rows)


def template_rows(employer: Employer | None) -> list[list]:
    """An employer's template carries its code and name on the first line, to copy down."""
    if employer is None:
        return []
    return [[employer.uscc or employer.registration_number, employer.name] + [None] * (len(COLUMNS) - 2)]


def export_rows(workers: Iterable[Worker], *, unmasked_counties: set[int]) -> Iterator[list]:
    results = dict(ExamResult.choices)
    for w in workers:
        e = w.employer
        yield [e.uscc or e.registration_number, e.name, w.name,
               w.id_number if e.county_id in unmasked_counties else mask_id_number(w.id_number), w.post,
               w.dust_type.name, w.exposure_start, YES if w.insured else NO, w.last_exam_date,
               str(results.get(w.last_exam_result, ""))]


def export(stream, *, actor: User, workers, progress=lambda rows: rows) -> int:
    """The workers (already scoped by the caller), ID numbers masked unless the role needs them;
    the rows pass through `progress` as they are written (portal.exports)."""
    workers = list(workers.select_related("employer__county", "dust_type").order_by("employer__name", "name", "pk"))
    identity = scope_for(actor, Capability.WORKER_IDENTITY)
    counties = {w.employer.county_id: w.employer.county for w in workers}
    unmasked = {pk for pk, county in counties.items() if identity.contains(county)}
    write_roster(stream, title=_("接尘劳动者名册（导出）"),
                 rows=progress(export_rows(workers, unmasked_counties=unmasked)))
    return len(workers)


def roster_employer(actor: User, capability: Capability, pk: str) -> Employer | None:
    """The employer whose workers are asked for (?employer=), if the actor holds it."""
    if not pk.isdigit():
        return None
    return scope_for(actor, capability).filter(Employer.objects.all()).filter(pk=int(pk)).first()


def roster_county(actor: User, capability: Capability, code: str) -> Region | None:
    """The county whose workers are asked for (?county=), if the actor holds it."""
    county = Region.objects.filter(code=code, level=RegionLevel.COUNTY).first() if code else None
    return county if county is not None and scope_for(actor, capability).contains(county) else None


def export_workers(actor: User, params) -> QuerySet:
    """One employer's workers (?employer=) or one county's (?county=), in the actor's scope;
    PermissionDenied for anything else."""
    workers = scope_for(actor, Capability.LEDGER_VIEW).filter(Worker.objects.all())
    if params.get("employer"):
        employer = roster_employer(actor, Capability.LEDGER_VIEW, params.get("employer", ""))
        if employer is None:
            raise PermissionDenied(_("该单位不存在或不在您的管辖范围内。"))
        return workers.filter(employer=employer)
    county = roster_county(actor, Capability.LEDGER_VIEW, (params.get("county") or "").strip())
    if county is None:
        raise PermissionDenied(_("请选择您管辖范围内的县（市、区）。"))
    return workers.filter(employer__county=county)


# ---- Reading and importing -----------------------------------------------------------------------------


def read_rows(fileobj: IO[bytes]) -> Iterator[tuple[int, list]]:
    """(row number as Excel shows it, values) of the data rows below the header row."""
    return read_template_rows(fileobj, filename="roster.xlsx", max_bytes=MAX_BYTES, sheet=SHEET,
                              headers=[c.header for c in COLUMNS], max_rows=MAX_ROWS,
                              too_many=_("名册最多 %(n)s 行，请分单位导入。") % {"n": MAX_ROWS})


def _date(value) -> tuple[datetime.date | None, str | None]:
    if isinstance(value, datetime.datetime):
        return value.date(), None
    if isinstance(value, datetime.date):
        return value, None
    text = cell_text(value)
    if not text:
        return None, None
    try:
        return datetime.date.fromisoformat(text.replace("/", "-").replace(".", "-")), None
    except ValueError:
        return None, _("日期格式不正确")


def _cell_error(number: int, column: Column, value, problem: str) -> dict:
    return {"row": number, "column": column.header, "value": cell_text(value), "problem": problem,
            "expected": column.expected}


def _parse_row(number: int, values: list, *, employers: dict, dusts: dict, county: Region
               ) -> tuple[dict, list[dict]]:
    raw = dict(zip([c.key for c in COLUMNS], values, strict=False))
    errors: list[dict] = []
    for column in COLUMNS:
        if isinstance(raw[column.key], CellError):
            errors.append(_cell_error(number, column, "", _("单元格是公式错误 %(e)s") % {"e": raw[column.key]}))
            raw[column.key] = ""
    for key in ("employer", "id_number", "dust_type", "exposure_start", "last_exam_date", "insured",
                "last_exam_result"):
        raw[key] = normalise(raw[key])  # full-width digits, letters, brackets (NFKC); names stay as typed
    data: dict = {}
    code = cell_text(raw["employer"]).upper()
    employer = employers.get(code)
    if not code:
        errors.append(_cell_error(number, BY_KEY["employer"], code, _("必填项为空")))
    elif employer is None:
        errors.append(_cell_error(number, BY_KEY["employer"], code, _("台帐中没有该单位")))
    elif employer.county_id != county.pk:
        errors.append(_cell_error(number, BY_KEY["employer"], code,
                                  _("该单位不属于%(county)s，不能导入其劳动者") % {"county": county.name}))
        employer = None
    data["employer"] = employer
    if isinstance(raw["id_number"], float):
        errors.append(_cell_error(number, BY_KEY["id_number"], raw["id_number"],
                                  text_column_message(BY_KEY["id_number"].header)))
        raw["id_number"] = ""
    for key in ("name", "id_number", "post"):
        data[key] = cell_text(raw[key])
    dust = cell_text(raw["dust_type"])
    data["dust_type"] = dusts.get(dust)
    if dust and data["dust_type"] is None:
        errors.append(_cell_error(number, BY_KEY["dust_type"], dust, _("不在粉尘种类目录中")))
    for key in ("exposure_start", "last_exam_date"):
        data[key], problem = _date(raw[key])
        if problem:
            errors.append(_cell_error(number, BY_KEY[key], raw[key], problem))
    insured = cell_text(raw["insured"])
    if insured in ("", NO, "0", "N", "n"):
        data["insured"] = False
    elif insured in (YES, "1", "Y", "y"):
        data["insured"] = True
    else:
        errors.append(_cell_error(number, BY_KEY["insured"], insured, _("应填“是”或“否”")))
    result = cell_text(raw["last_exam_result"])
    labels = {str(label): value for value, label in ExamResult.choices}
    data["last_exam_result"] = labels.get(result, "")
    if result and result not in labels:
        errors.append(_cell_error(number, BY_KEY["last_exam_result"], result, _("不是可选的值")))
    return data, errors


_WORKER_COLUMNS = ["employer_id", "name", "id_number", "post", "dust_type_id", "exposure_start", "insured",
                   "last_exam_date", "last_exam_result"]


def import_roster(*, actor: User, county: Region, fileobj: IO[bytes]) -> ImportResult:
    """Check every row; if any problem, write nothing and report them all; otherwise add the new
    workers and update the existing ones (same employer and ID number) in one transaction."""
    require_in_scope(actor, Capability.LEDGER_EDIT, county)
    if county.level != RegionLevel.COUNTY:
        raise ValidationError(_("只能按县（市、区）导入劳动者名册。"))
    rows = list(read_rows(fileobj))
    codes = {cell_text(normalise(values[0])).upper() for _n, values in rows if not isinstance(values[0], CellError)}
    employers = {}
    for employer in Employer.objects.filter(Q(uscc__in=codes) | Q(registration_number__in=codes)):
        employers[(employer.uscc or "").upper()] = employer
        if employer.registration_number:
            employers[employer.registration_number.upper()] = employer
    employers.pop("", None)
    dusts = {d.name: d for d in DustType.objects.all()}
    existing = {(employer_id, id_number): pk for pk, employer_id, id_number in Worker.objects.filter(
        employer__in={e.pk for e in employers.values() if e.county_id == county.pk}).values_list(
        "pk", "employer_id", "id_number")}
    errors: list[dict] = []
    cleaned_rows: list[dict] = []
    seen: dict[tuple[int, str], int] = {}
    for number, values in rows:
        data, row_errors = _parse_row(number, values, employers=employers, dusts=dusts, county=county)
        employer = data["employer"]
        if employer is not None:
            try:
                cleaned = clean_worker_data(data, employer=employer, check_duplicate=False)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    column = BY_KEY.get(field, BY_KEY["name"])
                    if not any(e["column"] == column.header for e in row_errors):
                        value = data.get(field)
                        row_errors.append(_cell_error(number, column, "" if hasattr(value, "pk") else value,
                                                      "；".join(messages)))
            else:
                key = (employer.pk, cleaned["id_number"])
                if key in seen:
                    row_errors.append(_cell_error(number, BY_KEY["id_number"], cleaned["id_number"],
                                                  _("与第 %(n)s 行是同一单位的同一身份证号") % {"n": seen[key]}))
                else:
                    seen[key] = number
                    cleaned_rows.append(cleaned)
        errors.extend(row_errors)
    result = ImportResult(errors=sorted(errors, key=lambda e: (e["row"], e["column"])), rows=len(rows))
    if errors or not rows:
        if not rows:
            result.errors = [{"row": "", "column": "", "value": "", "problem": _("文件中没有劳动者。"), "expected": ""}]
        return result
    result.updated = sum(1 for c in cleaned_rows if (c["employer"].pk, c["id_number"]) in existing)
    result.created = len(cleaned_rows) - result.updated
    with transaction.atomic(), audit(actor, "roster_import", county=county.code):
        staged = ((c["employer"].pk, c["name"], c["id_number"], c["post"], c["dust_type"].pk, c.get("exposure_start"),
                   c["insured"], c.get("last_exam_date"), c["last_exam_result"]) for c in cleaned_rows)
        with staging_table(staging="roster_staging", like_table=Worker._meta.db_table, columns=_WORKER_COLUMNS,
                           rows=staged) as staging, connection.cursor() as cursor:
            columns = ", ".join(_WORKER_COLUMNS)
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _WORKER_COLUMNS if c not in ("employer_id", "id_number"))
            cursor.execute(
                f"INSERT INTO {Worker._meta.db_table} ({columns}, version, updated_at) "
                f"SELECT {columns}, 1, now() FROM {staging} "
                f"ON CONFLICT (employer_id, id_number) DO UPDATE SET {updates}, "
                f"version = {Worker._meta.db_table}.version + 1, updated_at = now()")
    return result
