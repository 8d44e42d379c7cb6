"""The patient list workbook (尘肺病患者名单): one column definition (`COLUMNS`) for the template, the
import and the export. Uploads are read through portal.xlsx (the ledger's reader) and written with
the ledger's safe writing (ledger.excel.neutralise: no user text becomes a formula). The import
checks every row with the same rules as the form (patients.services.clean_patient_data), reports
every problem by row and column, and writes nothing unless the whole file is clean.

Exports mask ID numbers unless the user may see them (PATIENT_IDENTITY); an unmasked export is
logged for every patient in it."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger.models import DustType
from patients import services
from patients.models import (
    AccessKind,
    DiagnosisKind,
    Disease,
    LifeStatus,
    Patient,
    Sex,
    Stage,
)
from portal.importing import Refused
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, scope_for
from portal.workbook import NO, YES, write_list
from portal.xlsx import CellError, cell_text, normalise, read_template_rows, text_column_message

SHEET = "尘肺病患者名单"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # text, date, bool, choice, number, region, dust
    required: bool
    expected: str
    width: float = 14
    choices: tuple = ()  # (value, label) pairs for kind == choice


def _choices(enum) -> tuple:
    return tuple((value, str(label)) for value, label in enum.choices)


COLUMNS: list[Column] = [
    Column("name", "姓名", "text", True, "患者姓名", 10),
    Column("id_number", "居民身份证号", "text", True, "18位居民身份证号（设置为文本格式）", 22),
    Column("sex", "性别", "choice", False, "男或女；不填按身份证号", 6, _choices(Sex)),
    Column("birth_date", "出生日期", "date", False, "日期；不填按身份证号", 12),
    Column("phone", "联系电话", "text", False, "手机或固定电话", 14),
    Column("township", "乡镇（街道）", "region", False, "本县乡镇（街道）名称或9位代码", 14),
    Column("village", "村（社区）", "text", False, "村或社区名称", 12),
    Column("address", "现住址", "text", False, "详细住址", 24),
    Column("employer_name", "接尘用人单位", "text", True, "单位名称", 24),
    Column("employer_uscc", "统一社会信用代码", "text", False, "18位代码；台帐中已有的单位按此关联", 22),
    Column("employer_gone", "单位已不存在", "bool", False, "是或否", 8),
    Column("exposure_years", "接尘工龄（年）", "number", False, "0～80 的数字", 8),
    Column("dust_type", "粉尘种类", "dust", False, "《职业病危害因素分类目录》中的粉尘名称", 12),
    Column("diagnosis_kind", "诊断类别", "choice", True, "职业性尘肺病，或仅诊断为尘肺病", 16,
           ((DiagnosisKind.OCCUPATIONAL, "职业性尘肺病"), (DiagnosisKind.UNPROVEN, "仅诊断为尘肺病"))),
    Column("disease", "尘肺病种类", "choice", False, "13种尘肺病之一（职业性尘肺病必填）", 12, _choices(Disease)),
    Column("stage", "期别", "choice", True, "壹期、贰期或叁期", 8, _choices(Stage)),
    Column("diagnosed_on", "诊断日期", "date", True, "日期，不早于出生日期、不晚于今天", 12),
    Column("diagnosis_institution", "诊断机构", "text", False, "诊断机构名称", 20),
    Column("certificate_number", "诊断证明书编号", "text", False, "编号", 16),
    Column("injury_insured", "参加工伤保险", "bool", False, "是或否", 8),
    Column("injury_recognized", "已认定工伤", "bool", False, "是或否", 8),
    Column("disability_grade", "伤残等级", "number", False, "1～10", 8),
    Column("status", "生存状态", "choice", False, "存活、迁出（失访）或死亡；不填为存活", 10, _choices(LifeStatus)),
    Column("died_on", "死亡日期", "date", False, "日期（死亡的患者必填）", 12),
    Column("death_cause", "死亡原因", "text", False, "死亡原因", 14),
    Column("rehab_filed_on", "肺康复建档日期", "date", False, "日期", 12),
]
BY_KEY = {c.key: c for c in COLUMNS}
ALIASES = {"stage": {"1": 1, "2": 2, "3": 3, "一期": 1, "二期": 2, "三期": 3, "Ⅰ期": 1, "Ⅱ期": 2, "Ⅲ期": 3,
                     "1期": 1, "2期": 2, "3期": 3},
           "diagnosis_kind": {"职业性尘肺病": DiagnosisKind.OCCUPATIONAL, "仅诊断为尘肺病": DiagnosisKind.UNPROVEN},
           "status": {"存活": LifeStatus.ALIVE, "迁出": LifeStatus.MOVED_AWAY, "失访": LifeStatus.MOVED_AWAY,
                      "死亡": LifeStatus.DIED}}


# ---- Writing -----------------------------------------------------------------------------------


def write_patients(stream: IO[bytes] | str, *, title: str, rows: Iterable[list] = ()) -> None:
    write_list(stream, sheet=SHEET, title=title, columns=COLUMNS, rows=rows)


def export_rows(patients: Iterable[Patient], *, unmasked: bool) -> Iterator[list]:
    for p in patients:
        values = {
            "id_number": p.id_number if unmasked else services.mask_id(p.id_number),
            "sex": p.get_sex_display(), "township": p.township.name if p.township_id else "",
            "employer_gone": YES if p.employer_gone else NO, "dust_type": p.dust_type.name if p.dust_type_id else "",
            "diagnosis_kind": dict(BY_KEY["diagnosis_kind"].choices)[p.diagnosis_kind],
            "disease": p.get_disease_display(), "stage": p.get_stage_display(),
            "injury_insured": YES if p.injury_insured else NO, "injury_recognized": YES if p.injury_recognized else NO,
            "status": p.get_status_display(),
            "exposure_years": float(p.exposure_years) if p.exposure_years is not None else None,
        }
        yield [values[c.key] if c.key in values else getattr(p, c.key) for c in COLUMNS]


def export(stream, *, actor: User, queryset, progress=lambda rows: rows) -> int:
    """The patients of a list (already scoped by the caller), masked unless the role needs the
    numbers; an unmasked export is logged per patient. The rows pass through `progress` as they
    are written (portal.exports)."""
    patients = list(queryset.defer(None).select_related("township", "dust_type", "county"))
    identity = scope_for(actor, Capability.PATIENT_IDENTITY)
    unmasked = bool(patients) and all(identity.contains(p.county) for p in patients)
    if unmasked:
        services.access_log(user=actor, patients=patients, kind=AccessKind.EXPORT)
    write_patients(stream, title=_("尘肺病患者名单（导出）"), rows=progress(export_rows(patients, unmasked=unmasked)))
    return len(patients)


# ---- Reading and importing ---------------------------------------------------------------------


# Text columns whose value has a format, normalised before they are checked (names stay as typed).
FORMATTED_TEXT = {"id_number", "employer_uscc", "phone", "certificate_number"}


def _parse(column: Column, value, *, townships: dict, dusts: dict):
    """(parsed value, problem or None)."""
    if isinstance(value, CellError):
        return None, _("单元格是公式错误 %(e)s") % {"e": value}
    if column.kind != "text" or column.key in FORMATTED_TEXT:
        value = normalise(value)  # full-width digits, letters, brackets (NFKC)
    text = cell_text(value) if not isinstance(value, (datetime.date, bool)) else value
    if text in ("", None):
        return None, (_("必填项为空") if column.required else None)
    if column.kind == "text":
        if column.key in ("id_number", "employer_uscc") and isinstance(value, float):
            return None, text_column_message(column.header)
        return text, None
    if column.kind == "date":
        if isinstance(value, datetime.datetime):
            return value.date(), None
        if isinstance(value, datetime.date):
            return value, None
        try:
            return datetime.date.fromisoformat(text.replace("/", "-").replace(".", "-")), None
        except ValueError:
            return None, _("日期格式不正确")
    if column.kind == "bool":
        if text in (YES, "Y", "y", "1", True):
            return True, None
        if text in (NO, "N", "n", "0", False):
            return False, None
        return None, _("应填“是”或“否”")
    if column.kind == "number":
        try:
            number = float(text)
        except ValueError:
            return None, _("应为数字")
        return (int(number) if column.key == "disability_grade" else number), None
    if column.kind == "choice":
        labels = {label: value for value, label in column.choices}
        found = ALIASES.get(column.key, {}).get(text, labels.get(text))
        return (found, None) if found is not None else (None, _("不是可选的值"))
    if column.kind == "region":
        found = townships.get(text)
        return (found, None) if found is not None else (None, _("不是本县的乡镇（街道）"))
    if column.kind == "dust":
        found = dusts.get(text)
        return (found, None) if found is not None else (None, _("不在粉尘种类目录中"))
    raise AssertionError(column.kind)


def read_rows(fileobj: IO[bytes], *, max_bytes: int) -> Iterator[tuple[int, list]]:
    """(row number as Excel shows it, values) of the data rows below the header row."""
    return read_template_rows(fileobj, filename="patients.xlsx", max_bytes=max_bytes, sheet=SHEET,
                              headers=[c.header for c in COLUMNS])


@dataclass
class Checked:
    """A file checked row by row: the problems (every one), and for a clean file each row's
    number, the county's patient it updates (None: a new file) and its cleaned values."""

    errors: list[dict]
    rows: list[tuple[int, Patient | None, dict]]


def check_patients(*, actor: User, county: Region, fileobj: IO[bytes], max_bytes: int, progress=None) -> Checked:
    """Check every row with the form's rules (services.clean_patient_data) and against the files
    already kept: nothing is written. A patient filed in another county is refused."""
    if county.level != RegionLevel.COUNTY:
        raise ValidationError(_("只能导入到县（市、区）。"))
    townships = {}
    for region in Region.objects.filter(parent=county):
        townships[region.name], townships[region.code] = region, region
    dusts = {d.name: d for d in DustType.objects.all()}
    errors: list[dict] = []
    parsed: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    count = 0
    for number, values in read_rows(fileobj, max_bytes=max_bytes):
        data, row_errors = {"county": county, "employer": None}, []
        for column, value in zip(COLUMNS, values, strict=False):
            result, problem = _parse(column, value, townships=townships, dusts=dusts)
            if problem:
                row_errors.append({"row": number, "column": column.header, "value": cell_text(value),
                                   "problem": problem, "expected": column.expected})
            data[column.key] = result
        if data.get("id_number") and (first := seen.get(data["id_number"].upper())):
            row_errors.append({"row": number, "column": "居民身份证号", "value": data["id_number"],
                               "problem": _("与第 %(n)s 行的身份证号重复") % {"n": first}, "expected": ""})
        elif data.get("id_number"):
            seen[data["id_number"].upper()] = number
        errors.extend(row_errors)
        if not row_errors:
            parsed.append((number, data))
        count += 1
        if progress and count % 500 == 0:
            progress(count, count)
    existing = {p.id_number: p for p in Patient.objects.select_related("county", "employer").filter(
        id_number__in=[d["id_number"].upper() for _n, d in parsed if d.get("id_number")])}
    rows = []
    for number, data in parsed:
        instance = existing.get((data["id_number"] or "").upper())
        if instance is not None and instance.county_id != county.pk:
            instance = None  # clean_patient_data reports the duplicate (naming the county only if visible)
        try:
            rows.append((number, instance, services.clean_patient_data(actor, data, instance=instance)))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                column = BY_KEY.get(field)
                errors.append({"row": number, "column": column.header if column else field,
                               "value": cell_text(data.get(field)) if column else "",
                               "problem": "；".join(messages), "expected": column.expected if column else ""})
    if progress:
        progress(count, count)
    return Checked(errors=sorted(errors, key=lambda e: (e["row"], e["column"])), rows=rows)


def write_checked(*, actor: User, county: Region, rows: list[tuple[int, Patient | None, dict]]) -> tuple[int, int]:
    """Write checked rows (inside the caller's transaction): (created, updated). Refuses
    (Refused) if, since the check, one of the numbers was filed elsewhere or a file
    of the county changed hands."""
    numbers = [cleaned["id_number"] for _n, _i, cleaned in rows]
    current = dict(Patient.objects.select_for_update().filter(id_number__in=numbers).values_list("id_number", "county_id"))
    moved = sum(1 for _n, instance, cleaned in rows
                if current.get(cleaned["id_number"]) != (None if instance is None else county.pk))
    if moved:
        raise Refused(_("校验之后，有%(n)s份档案已被其他县（市、区）建档或发生变化，本次导入已全部撤销。请重新上传校验。") % {
            "n": moved})
    created = updated = 0
    for _number, instance, cleaned in rows:
        patient = instance or Patient()
        services.assign(patient, cleaned)
        if instance is not None:
            patient.version += 1
            updated += 1
        else:
            created += 1
        patient.save()
    services.mark_dirty(county.pk)
    return created, updated
