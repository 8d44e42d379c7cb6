"""Importing the official ledger workbook: a dry run that reports every problem of every row,
then an all-or-nothing commit (COPY into staging tables, INSERT … SELECT … ON CONFLICT), with
the acting user's permission checked and the writes recorded by pghistory under the
`ledger_import` action.

    job = LEDGER.create(actor=…, county=…, period=…, upload=…)
    LEDGER.validate(actor=…, job=job)   # status → validated / invalid, errors and preview stored
    LEDGER.commit(actor=…, job=job)     # re-checks, writes, status → done (or invalid, nothing written)

The file is read with python-calamine (`ledger.excel.open_ledger`); reading and checking it
takes about a quarter of what openpyxl alone needs to read it. The database is asked a
constant number of questions whatever the number of rows (catalogues, townships, the
file's identifiers in bulk). The parsed rows of a clean file are cached (keyed by the file's
SHA-256 and a fingerprint of the catalogues), so the commit re-runs every database check but
need not read the workbook again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import marshal
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import pgtrigger
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.cn import uscc as uscc_number

from ledger import columns as cols
from ledger.columns import COLUMNS, Kind, Target
from ledger.excel import open_ledger
from ledger.models import (
    LOCKED_STATUSES,
    RECORD_FIELDS,
    WARNING_SIGN_POSTS,
    CountySubmission,
    DustType,
    Employer,
    EmployerRecord,
    ImportJob,
    Industry,
    ReportingPeriod,
)
from ledger.services import classification_refresh
from ledger.validation import USCC_ALPHABET, clean_phone, clean_registration_number, clean_uscc
from portal.audit import AuditAction, audit
from portal.bulk import history_triggers, staging_table, write_history
from portal.importing import Importer, Outcome, Refused, error, max_import_bytes, shown
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, scope_for
from portal.values import check_count, check_past_date, check_text
from portal.xlsx import CellError, normalise, text_column_message, text_stored_as_number
from targets.services import rollup_mark_dirty

log = logging.getLogger(__name__)

PROGRESS_EVERY = 500
PREVIEW_ROWS = 20
CACHE_SECONDS = 24 * 3600



# ---- Columns written to the staging tables --------------------------------------------------

# Employer values read from the file, in staging order (after id, uscc, registration number and
# the county's denormalized keys).
EMPLOYER_FILE_FIELDS = [
    "township_id", "name", "registered_address", "workplace_address", "industry_id", "key_group", "size",
    "ownership", "business_scope", "legal_representative", "legal_representative_phone", "health_manager",
    "health_manager_phone", "status", "in_governance_scope",
]
EMPLOYER_STAGING = ["id", "uscc", "registration_number", "province_id", "city_id", "county_id", *EMPLOYER_FILE_FIELDS]
RECORD_STAGING = ["employer_id", "township_id", *RECORD_FIELDS]
EXPOSURE_STAGING = ["record_id", "dust_type_id", "exposed_workers"]

# A parsed row: [row number, uscc, registration number, employer values, record values, exposures]
ROW, USCC, REGNO, EMP, REC, EXPO = range(6)


# ---- Errors -----------------------------------------------------------------------------------


class _Problem(Exception):
    """A cell's value is wrong; the message says how."""


def _checked(check, *args, **kwargs):
    """`check(*args, **kwargs)`: the forms' and the API's rule for a value, its ValidationError
    turned into the cell's problem."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        raise _Problem(exc.messages[0]) from None


# ---- Lookups (a constant number of queries) -----------------------------------------------------


@dataclass
class Lookups:
    county: Region
    industries: dict[str, tuple[int, int, str]]  # code → (id, level, key group)
    dust_types: dict[str, int]  # name (and accepted alias) → id
    dust_names: dict[int, str]
    townships: dict[str, tuple[int, str]]  # name and code → (id, name)
    fingerprint: str = ""


DUST_ALIASES = {"其他粉尘": "以上未提及的可导致职业病的其他粉尘", "其它粉尘": "以上未提及的可导致职业病的其他粉尘"}


def load_lookups(county: Region) -> Lookups:
    industries = {code: (pk, level, key_group) for pk, code, level, key_group in
                  Industry.objects.values_list("id", "code", "level", "key_group")}
    dust_names = dict(DustType.objects.values_list("id", "name"))
    dust_types = {name: pk for pk, name in dust_names.items()}
    for alias, name in DUST_ALIASES.items():
        if name in dust_types:
            dust_types.setdefault(alias, dust_types[name])
    townships: dict[str, tuple[int, str]] = {}
    for pk, code, name in Region.objects.filter(parent=county, level=RegionLevel.TOWNSHIP).values_list(
            "id", "code", "name"):
        townships[code] = townships[name] = (pk, name)
    digest = hashlib.sha256(json.dumps(
        [county.pk, sorted(industries.items()), sorted(dust_types.items()), sorted(townships.items())],
        ensure_ascii=False).encode()).hexdigest()
    return Lookups(county, industries, dust_types, dust_names, townships, digest[:16])


# ---- Cell parsers ------------------------------------------------------------------------------


def _cell_error_problem(value: CellError) -> str:
    return _("单元格是错误值 %(error)s（公式出错），请改正公式或直接填写数值") % {"error": value}


def _blank(value) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _text(value) -> str:
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return shown(value)
    return str(value).strip()


_INT_TEXT = re.compile(r"[+-]?\d+")


def _int(value) -> int:
    if type(value) is int:
        number = value
    elif isinstance(value, bool):
        raise _Problem(_("应填写人数或个数（整数），不能填“是/否”"))
    elif isinstance(value, float):
        if not value.is_integer():
            raise _Problem(_("应为整数，不能有小数"))
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        if not _INT_TEXT.fullmatch(text):
            raise _Problem(_("应为整数（只填数字，不要带单位或文字）"))
        number = int(text)
    elif isinstance(value, datetime.date | datetime.datetime | datetime.time):
        raise _Problem(_("应为整数，不能是日期（请把单元格格式设为“常规”或“数值”）"))
    else:
        raise _Problem(_("应为整数"))
    return _checked(check_count, number)


def _bool(value) -> bool:
    if value is True or value is False:
        return value
    text = _text(value)
    if text == cols.YES:
        return True
    if text == cols.NO:
        return False
    raise _Problem(_("只能填“是”或“否”"))


_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def _date(value, today: datetime.date) -> datetime.date:
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, str):
        match = _DATE_TEXT.fullmatch(value.strip())
        if not match:
            raise _Problem(_("日期格式不正确"))
        try:
            day = datetime.date(*(int(g) for g in match.groups()))
        except ValueError:
            raise _Problem(_("不存在这个日期")) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise _Problem(_("日期格式不正确（单元格里是数字，请填写 YYYY-MM-DD 或设为日期格式）"))
    else:
        raise _Problem(_("日期格式不正确"))
    return _checked(check_past_date, day)


# ---- Parsing the file (no database writes, no per-row queries) -----------------------------------


@dataclass
class Parsed:
    rows: list[list] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    region_problems: list[tuple[int, str, str, object]] = field(default_factory=list)  # row, key, raw, value


# Columns whose value has a format: NFKC-normalised before it is checked (free text is kept as
# typed; a choice is looked up as typed, then normalised).
FORMATTED_KINDS = {Kind.INT, Kind.BOOL, Kind.DATE}
FORMATTED_KEYS = {"region_code", "uscc", "registration_number", "industry", "legal_representative_phone",
                  "health_manager_phone"}


class _Parser:
    """Checks rows as they are read. One table-driven loop over the columns a row holds (the
    header was already checked to be exactly columns.COLUMNS), no query per row."""

    def __init__(self, lookups: Lookups, on_progress):
        self.lookups = lookups
        self.on_progress = on_progress
        self.today = timezone.localdate()
        self.parsed = Parsed()
        self.county = lookups.county
        self.choice_maps = {c.key: c.label_to_value() for c in COLUMNS if c.kind is Kind.CHOICE}
        self.expected = {c.key: str(c.expected) for c in COLUMNS}
        self.header = {c.key: c.header for c in COLUMNS}
        self.index = {c.key: i for i, c in enumerate(COLUMNS)}
        record_keys = [c.key for c in COLUMNS if c.target is Target.RECORD]
        assert sorted(record_keys) == sorted(RECORD_FIELDS), "columns.py and RECORD_FIELDS disagree"
        # (key, index, parser, column, value when blank) for every cell read on import.
        self.specs = []
        for index, column in enumerate(COLUMNS):
            if column.target in (Target.IGNORED, Target.EXPOSURES):
                continue
            parser = BY_KEY_PARSER.get(column.key) or (
                _parse_choice if column.kind is Kind.CHOICE else BY_KIND.get(column.kind, _parse_plain))
            blank = {Kind.TEXT: "", Kind.INT: 0, Kind.BOOL: False}.get(column.kind)
            if column.key == "status":
                blank = "operating"
            if column.key in ("region_code", "township", "uscc", "registration_number", *WARNING_SIGN_POSTS):
                blank = None
            self.specs.append((column.key, index, parser, column, blank,
                               column.kind in FORMATTED_KINDS or column.key in FORMATTED_KEYS))

    def fail(self, row: int, key: str, value, problem) -> None:
        self.parsed.errors.append(error(row, self.header[key], value, problem, self.expected[key]))

    def parse(self, sheet) -> Parsed:
        width = len(COLUMNS)
        padding = (None,) * width
        count = 0
        for number, values in sheet.data_rows():
            if len(values) < width:
                values = tuple(values) + padding[: width - len(values)]
            if all(v is None or (type(v) is str and not v.strip()) for v in values[:width]):
                continue  # a blank row (the template's formatted but empty rows)
            self.parse_row(number, values)
            count += 1
            if count % PROGRESS_EVERY == 0:
                self.on_progress(count, sheet.rows_estimate)
        self.on_progress(count, count)
        self.check_duplicates()
        return self.parsed

    def parse_row(self, row: int, values: tuple) -> None:
        cleaned: dict = {}
        failed: set[str] = set()
        for key, index, parser, column, blank, formatted in self.specs:
            value = values[index]
            if formatted and value.__class__ is str:
                value = normalise(value)  # full-width digits, letters, brackets, hyphens
            if value is None or (value.__class__ is str and not value.strip()):
                if column.required:
                    self.fail(row, key, value, _("必填项未填写"))
                    failed.add(key)
                    cleaned[key] = UNKNOWN
                else:
                    cleaned[key] = blank
                continue
            try:
                if value.__class__ is CellError:
                    raise _Problem(_cell_error_problem(value))
                cleaned[key] = parser(self, value, column)
            except _Problem as problem:
                self.fail(row, key, value, problem)
                failed.add(key)
                cleaned[key] = UNKNOWN

        # The row's county (if given) must be the job's; its township one of the county's.
        code = cleaned["region_code"]
        if code and code != self.county.code:
            self.parsed.region_problems.append((row, "region_code", values[self.index["region_code"]], code))
        township_id = None
        if township := cleaned["township"]:
            found = self.lookups.townships.get(township)
            if found is None:
                self.parsed.region_problems.append((row, "township", values[self.index["township"]], township))
            else:
                township_id = found[0]
        uscc, regno = cleaned["uscc"], cleaned["registration_number"]
        if uscc is None and regno is None:
            self.fail(row, "uscc", values[self.index["uscc"]],
                      _("请填写统一社会信用代码（尚未换领的单位填写15位旧工商注册号）"))
            failed.add("uscc")

        # The model's consistency rules, on the parsed values (a wrong cell is UNKNOWN: skipped).
        for key, message in EmployerRecord.consistency_errors(SimpleNamespace(**cleaned)).items():
            if key not in failed:
                self.fail(row, key, values[self.index[key]], message)
                failed.add(key)

        exposures = self.parse_exposures(row, values, cleaned["exposed_workers"], failed)

        if failed:
            # Keep what the cross-row and database checks need; the row is not written anyway.
            self.parsed.rows.append([row, uscc if uscc.__class__ is str else None,
                                     regno if regno.__class__ is str else None, None, None, None])
            return
        industry_id, _level, key_group = cleaned["industry"]
        date = datetime.date
        self.parsed.rows.append([
            row, uscc, regno,
            [township_id, cleaned["name"], cleaned["registered_address"], cleaned["workplace_address"], industry_id,
             key_group, cleaned["size"], cleaned["ownership"], cleaned["business_scope"],
             cleaned["legal_representative"], cleaned["legal_representative_phone"], cleaned["health_manager"],
             cleaned["health_manager_phone"], cleaned["status"], cleaned["in_governance_scope"]],
            [v.isoformat() if v.__class__ is date else v for v in map(cleaned.__getitem__, RECORD_FIELDS)],
            exposures,
        ])

    def parse_exposures(self, row: int, values: tuple, exposed, failed: set[str]) -> list[list[int]]:
        raw = values[self.index["exposures"]]
        if _blank(raw):
            return []
        if raw.__class__ is CellError:
            self.fail(row, "exposures", raw, _cell_error_problem(raw))
            failed.add("exposures")
            return []
        text = _text(raw)
        for separator in cols.DUST_PAIR_SEPARATORS[1:]:
            text = text.replace(separator, cols.DUST_PAIR_SEPARATORS[0])
        for separator in cols.DUST_COUNT_SEPARATORS[1:]:
            text = text.replace(separator, cols.DUST_COUNT_SEPARATORS[0])
        seen: dict[int, int] = {}
        problems = []
        for part in filter(None, (p.strip() for p in text.split(cols.DUST_PAIR_SEPARATORS[0]))):
            name, colon, count = part.partition(cols.DUST_COUNT_SEPARATORS[0])
            name, count = name.strip(), count.strip()
            if not colon or not count:
                problems.append(_("“%(part)s”缺少人数，应写成“粉尘名称:人数”") % {"part": part})
                continue
            dust_id = self.lookups.dust_types.get(name)
            if dust_id is None:
                dust_id = self.lookups.dust_types.get(name + "粉尘")
            if dust_id is None:
                problems.append(_("“%(name)s”不是《职业病危害因素分类目录》中的粉尘名称") % {"name": name})
                continue
            try:
                number = _int(count)
            except _Problem as problem:
                problems.append(f"{name}：{problem}")
                continue
            if dust_id in seen:
                problems.append(_("“%(name)s”重复填写") % {"name": name})
                continue
            if isinstance(exposed, int) and number > exposed:
                problems.append(_("%(name)s的接尘人数%(n)s不能大于接尘人数%(total)s") % {
                    "name": name, "n": number, "total": exposed})
                continue
            seen[dust_id] = number
        if problems:
            self.fail(row, "exposures", raw, "；".join(problems))
            failed.add("exposures")
            return []
        return [[dust_id, number] for dust_id, number in seen.items() if number]

    def check_duplicates(self) -> None:
        """A USCC or an old registration number on a second row: the row it first stood on."""
        identifiers = [("uscc", USCC, _("与第%(n)s行的统一社会信用代码重复，同一单位只能填一行")),
                       ("registration_number", REGNO, _("与第%(n)s行的旧工商注册号重复"))]
        first_row: dict[str, dict[str, int]] = {column: {} for column, _index, _message in identifiers}
        for parsed in self.parsed.rows:
            for column, index, message in identifiers:
                value, seen = parsed[index], first_row[column]
                if not value:
                    continue
                if value in seen:
                    self.fail(parsed[ROW], column, value, message % {"n": seen[value]})
                else:
                    seen[value] = parsed[ROW]


class _Unknown:
    """A cell that failed to parse: falsy and never smaller or larger than anything, so the
    consistency rules skip it instead of reporting a second, misleading problem."""

    __slots__ = ()

    def __bool__(self):
        return False

    def __lt__(self, other):
        return False

    __gt__ = __le__ = __ge__ = __lt__

    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()


def _parse_plain(parser: _Parser, value, column) -> str:
    return _text(value)


def _parse_text(parser: _Parser, value, column) -> str:
    text = _checked(check_text, _text(value), max_length=column.max_length, multiline=column.multiline)
    if column.required and not text:
        raise _Problem(_("必填项未填写"))
    return text


def _parse_phone(parser: _Parser, value, column) -> str:
    return _checked(clean_phone, _text(value))


def _parse_choice(parser: _Parser, value, column) -> str:
    text = _text(value)
    choice = parser.choice_maps[column.key].get(text)
    if choice is None:
        choice = parser.choice_maps[column.key].get(normalise(text))
    if choice is None:
        raise _Problem(_("“%(value)s”不是可选的%(label)s") % {"value": text, "label": column.header})
    return choice


def _parse_bool(parser: _Parser, value, column) -> bool:
    return _bool(value)


def _parse_int(parser: _Parser, value, column) -> int:
    return _int(value)


def _parse_date(parser: _Parser, value, column) -> datetime.date:
    return _date(value, parser.today)


def _parse_industry(parser: _Parser, value, column) -> tuple[int, int, str]:
    code = _text(value).upper()
    found = parser.lookups.industries.get(code)
    if found is None and code.isdigit() and len(code) in (1, 3):
        # A code typed into a number cell lost its leading zero (0610 → 610).
        found = parser.lookups.industries.get("0" + code)
    if found is None:
        raise _Problem(_("行业代码“%(code)s”不在 GB/T 4754-2017 国民经济行业分类中（注意不要使用2011版代码）") % {
            "code": code})
    if found[1] < 2:
        raise _Problem(_("“%(code)s”只是门类，请填写到行业大类、中类或小类（如 3011）") % {"code": code})
    return found


def _parse_uscc(parser: _Parser, value, column) -> str:
    if text_stored_as_number(value):
        raise _Problem(text_column_message(column.header))
    text = _text(value).upper()
    # The common case, a well-formed code, checked with stdnum's own check character once;
    # anything else goes through ledger.validation.clean_uscc for its Chinese message.
    if (len(text) == 18 and text[:8].isdigit() and all(c in USCC_ALPHABET for c in text[8:])
            and uscc_number.calc_check_digit(text) == text[-1]):
        return text
    return _checked(clean_uscc, text)


def _parse_registration_number(parser: _Parser, value, column) -> str:
    return _checked(clean_registration_number, _text(value))


BY_KIND = {Kind.INT: _parse_int, Kind.BOOL: _parse_bool, Kind.DATE: _parse_date, Kind.TEXT: _parse_text}
BY_KEY_PARSER = {
    "region_code": _parse_plain, "township": _parse_plain, "uscc": _parse_uscc,
    "registration_number": _parse_registration_number, "industry": _parse_industry,
    "legal_representative_phone": _parse_phone, "health_manager_phone": _parse_phone,
}


# ---- Checks against the database (bulk) ------------------------------------------------------------


def _region_errors(parsed: Parsed, lookups: Lookups) -> list[dict]:
    """Rows naming another county's code or township: say whose it is (two queries at most)."""
    if not parsed.region_problems:
        return []
    county = lookups.county
    codes = {v for _r, key, _raw, v in parsed.region_problems if key == "region_code"}
    names = {v for _r, key, _raw, v in parsed.region_problems if key == "township"}
    regions_by_code = {code: (name, level, parent_name) for code, name, level, parent_name in Region.objects.filter(
        code__in=codes | names).values_list("code", "name", "level", "parent__name")}
    townships_by_name: dict[str, list[str]] = {}
    for name, parent_name in Region.objects.filter(name__in=names, level=RegionLevel.TOWNSHIP).values_list(
            "name", "parent__name"):
        townships_by_name.setdefault(name, []).append(parent_name)
    out = []
    code_column, township_column = cols.BY_KEY["region_code"], cols.BY_KEY["township"]
    for row, key, raw, value in parsed.region_problems:
        if key == "region_code":
            known = regions_by_code.get(value)
            if known:
                problem = _("区划代码 %(code)s 是“%(name)s”，不是本次导入的%(county)s（%(own)s）：其他县（市、区）的单位"
                            "请由所在县（市、区）导入") % {"code": value, "name": known[0], "county": county.name,
                                                  "own": county.code}
            else:
                problem = _("区划代码 %(code)s 不存在，本次导入的%(county)s的区划代码是 %(own)s") % {
                    "code": value, "county": county.name, "own": county.code}
            out.append(error(row, code_column.header, raw, problem, code_column.expected))
        else:
            owners = townships_by_name.get(value) or (
                [regions_by_code[value][2]] if value in regions_by_code and regions_by_code[value][1] == 4 else [])
            if owners:
                problem = _("乡镇（街道）“%(t)s”属于%(owner)s，不属于本次导入的%(county)s：其他县（市、区）的单位"
                            "请由所在县（市、区）导入") % {"t": value, "owner": "、".join(owners), "county": county.name}
            elif not lookups.townships:
                problem = _("系统中尚未登记%(county)s的乡镇（街道）区划，请将此列留空，或请管理员先添加乡镇（街道）") % {
                    "county": county.name}
            else:
                problem = _("%(county)s没有名为“%(t)s”的乡镇（街道）") % {"county": county.name, "t": value}
            out.append(error(row, township_column.header, raw, problem, township_column.expected))
    return out


def _held_elsewhere(county_name: str | None, *, named: str, unnamed: str, **values) -> str:
    """The problem of an identifier another county holds: that county and its employer are named
    (`named`) only to whoever may see the county (`county_name` given), else `unnamed`."""
    if county_name is None:
        return unnamed % values
    return named % {**values, "county": county_name}


def _check_database(job: ImportJob, parsed_rows: list[list], lookups: Lookups) -> Outcome:
    """The checks whose answer depends on the database now: whose identifiers these are, and
    whether the county's period is open. Re-run by the commit."""
    county = lookups.county
    errors: list[dict] = []
    usccs = [r[USCC] for r in parsed_rows if r[USCC]]
    regnos = [r[REGNO] for r in parsed_rows if r[REGNO]]
    by_uscc: dict[str, tuple] = {}
    by_regno: dict[str, tuple] = {}
    with connection.cursor() as cursor:
        # One array parameter rather than thousands of IN placeholders: cheaper to send and plan.
        if usccs:
            cursor.execute("SELECT uscc, id, county_id, name, registration_number FROM ledger_employer "
                           "WHERE uscc = ANY(%s)", [usccs])
            by_uscc = {row[0]: row for row in cursor.fetchall()}
        if regnos:
            cursor.execute("SELECT registration_number, id, county_id, name, uscc FROM ledger_employer "
                           "WHERE registration_number = ANY(%s)", [regnos])
            by_regno = {row[0]: row for row in cursor.fetchall()}
    others = {row[2] for row in (*by_uscc.values(), *by_regno.values()) if row[2] != county.pk}
    # Another county is named only to someone who may see it; to anyone else an identifier held
    # there is just "registered elsewhere" (no name, no region).
    scope = scope_for(job.created_by, Capability.LEDGER_VIEW)
    county_names = {r.pk: r.name for r in Region.objects.filter(pk__in=others) if scope.contains(r)} if others else {}
    uscc_column, regno_column = cols.BY_KEY["uscc"], cols.BY_KEY["registration_number"]
    matched: dict[int, int] = {}
    for parsed in parsed_rows:
        row, uscc, regno = parsed[ROW], parsed[USCC], parsed[REGNO]
        employer_id = None
        if uscc and uscc in by_uscc:
            _u, employer_id, county_id, name, _r = by_uscc[uscc]
            if county_id != county.pk:
                errors.append(error(row, uscc_column.header, uscc, _held_elsewhere(
                    county_names.get(county_id), uscc=uscc, name=name, own=county.name,
                    named=_("统一社会信用代码 %(uscc)s 已登记在%(county)s的“%(name)s”，不能由%(own)s导入；"
                            "如该单位已迁入本县，请联系%(county)s办理"),
                    unnamed=_("统一社会信用代码 %(uscc)s 已在其他地区登记，不能由%(own)s导入")), uscc_column.expected))
                continue
        if regno and regno in by_regno:
            _r, other_id, county_id, name, other_uscc = by_regno[regno]
            if county_id != county.pk:
                errors.append(error(row, regno_column.header, regno, _held_elsewhere(
                    county_names.get(county_id), n=regno, name=name, own=county.name,
                    named=_("旧工商注册号 %(n)s 已登记在%(county)s的“%(name)s”，不能由%(own)s导入"),
                    unnamed=_("旧工商注册号 %(n)s 已在其他地区登记，不能由%(own)s导入")), regno_column.expected))
                continue
            if employer_id is None and (not uscc or other_uscc is None):
                employer_id = other_id  # the same employer, or a legacy one now given its USCC
            elif other_id != employer_id:
                errors.append(error(row, regno_column.header, regno, _(
                    "旧工商注册号 %(n)s 已被统一社会信用代码为 %(uscc)s 的“%(name)s”使用") % {
                    "n": regno, "uscc": other_uscc or "—", "name": name}, regno_column.expected))
                continue
        if employer_id is not None:
            matched[row] = employer_id
    submission = CountySubmission.objects.filter(period=job.period, county=county).first()
    problem = _submission_problem(submission, job)
    if problem:
        errors.insert(0, error(None, "", "", problem, _("在本期填报开放（填报中或已退回）时导入")))
    return Outcome(parsed_rows, errors, matched)


def _submission_problem(submission: CountySubmission | None, job: ImportJob) -> str | None:
    if submission is None:
        return _("%(county)s%(period)s的台帐尚未开始填报，请先开始本期填报后再导入。") % {
            "county": job.county.name, "period": job.period}
    if submission.status in LOCKED_STATUSES:
        return _("%(county)s%(period)s的台帐%(status)s，已报送，数据已锁定，不能导入；如需修改，请由市级退回后再导入。") % {
            "county": job.county.name, "period": job.period, "status": submission.get_status_display()}
    return None


# ---- The job ------------------------------------------------------------------------------------


def _file_digest(job: ImportJob) -> str:
    digest = hashlib.sha256()
    with job.file.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_key(job: ImportJob, digest: str, lookups: Lookups) -> str:
    return f"ledger-import:{job.pk}:{digest}:{lookups.fingerprint}"


def _parse_file(job: ImportJob, lookups: Lookups, *, use_cache: bool) -> Parsed:
    """Read and check every row (row-level and cross-row checks that need no database); a
    file-level problem raises WorkbookFileError."""
    digest = _file_digest(job)
    key = _cache_key(job, digest, lookups)
    progress = LEDGER.progress(job)
    if use_cache:
        cached = _cache_get(key)
        if cached is not None:
            progress(len(cached.rows), len(cached.rows))
            return cached
    with open_ledger(job.file, max_bytes=max_import_bytes()) as sheet:
        if header_errors := check_header(sheet.header, sheet.header_row_number):
            parsed = Parsed(errors=header_errors)
        else:
            parsed = _Parser(lookups, progress).parse(sheet)
    if not parsed.errors and not parsed.region_problems:
        _cache_set(key, parsed)
    return parsed


def _cache_get(key: str) -> Parsed | None:
    try:
        blob = cache.get(key)
        return Parsed(rows=marshal.loads(blob)) if blob is not None else None
    except Exception as exc:  # noqa: BLE001 — the cache only saves time; reading again is always right
        log.warning("ledger import: parse cache unavailable (%s)", type(exc).__name__)
        return None


def _cache_set(key: str, parsed: Parsed) -> None:
    # marshal: the rows are lists of str/int/bool/None, which it writes and reads several times
    # faster than pickle; the cache is the project's own Redis, as trusted as Django's pickles.
    try:
        cache.set(key, marshal.dumps(parsed.rows), CACHE_SECONDS)
    except Exception as exc:  # noqa: BLE001
        log.warning("ledger import: parse cache unavailable (%s)", type(exc).__name__)


def check_header(header: tuple, row: int) -> list[dict]:
    """The column-header row against columns.py, by name: missing, extra, renamed, reordered."""
    actual = [cols.normalise_header(v) for v in header]
    while actual and not actual[-1]:
        actual.pop()
    expected = cols.NORMALISED_HEADERS
    if actual == expected:
        return []
    errors: list[dict] = []
    display = {normalised: original for normalised, original in zip(expected, cols.HEADERS, strict=True)}
    expected_set, actual_set = set(expected), set(actual)
    missing = [h for h in expected if h not in actual_set]
    extra = [(i, h) for i, h in enumerate(actual) if h not in expected_set]
    template_hint = _("请使用官方模板，列名、列数和顺序都不要改动")
    # A renamed column: an unknown header where a missing one should be.
    renamed = {}
    for i, h in extra:
        if h and i < len(expected) and expected[i] in missing:
            renamed[i] = expected[i]
    for i, h in extra:
        letter = _column_letter(i)
        if i in renamed:
            errors.append(error(row, display[renamed[i]], header[i], _(
                "第%(col)s列（%(letter)s列）的列名应为“%(want)s”，实际为“%(got)s”：列名被修改") % {
                "col": i + 1, "letter": letter, "want": display[renamed[i]], "got": h}, template_hint))
        elif h:
            errors.append(error(row, h, header[i], _("第%(col)s列（%(letter)s列）“%(got)s”不是模板中的列：多出的列") % {
                "col": i + 1, "letter": letter, "got": h}, template_hint))
        else:
            errors.append(error(row, "", "", _("第%(col)s列（%(letter)s列）没有列名：多出的空白列") % {
                "col": i + 1, "letter": letter}, template_hint))
    for h in missing:
        if h in renamed.values():
            continue
        errors.append(error(row, display[h], "", _("缺少“%(name)s”列") % {"name": display[h]}, template_hint))
    if not errors or (not missing and not extra):
        # Same columns, other order (or duplicated names).
        for i, h in enumerate(actual):
            want = expected[i] if i < len(expected) else ""
            if h != want:
                errors.append(error(row, display.get(want, h), header[i], _(
                    "第%(col)s列（%(letter)s列）应为“%(want)s”，实际为“%(got)s”：列的顺序与模板不一致") % {
                    "col": i + 1, "letter": _column_letter(i), "want": display.get(want, want), "got": h},
                    template_hint))
    return errors


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _preview(outcome: Outcome, lookups: Lookups) -> list[dict]:
    township_names = {pk: name for pk, name in lookups.townships.values()}
    industry_codes = {pk: code for code, (pk, _level, _group) in lookups.industries.items()}
    preview = []
    for parsed in outcome.rows[:PREVIEW_ROWS]:
        employer, record = parsed[EMP], parsed[REC]
        if employer is None:
            continue
        preview.append({
            "row": parsed[ROW], "name": employer[1], "identifier": parsed[USCC] or parsed[REGNO],
            "township": township_names.get(employer[0], ""), "industry": industry_codes.get(employer[4], ""),
            "total_workers": record[RECORD_FIELDS.index("total_workers")],
            "exposed_workers": record[RECORD_FIELDS.index("exposed_workers")],
            "dusts": "；".join(f"{lookups.dust_names[d]}:{n}" for d, n in parsed[EXPO]),
            "action": "update" if parsed[ROW] in outcome.matched else "create",
        })
    return preview


class LedgerImporter(Importer):
    kind = "ledger"
    model = ImportJob
    capability = Capability.LEDGER_EDIT
    stored_name = "ledger"
    related = ("county__parent", "period", "created_by")
    title = gettext_lazy("台帐导入")
    preview_template = "ledger/_import_preview.html"

    def done_message(self, job: ImportJob) -> str:
        return _("导入完成：新增 %(c)s 个单位，更新 %(u)s 个单位。") % {"c": job.rows_created, "u": job.rows_updated}

    def job_fields(self, *, county: Region, period: ReportingPeriod) -> dict:
        return super().job_fields(county=county, period=period)

    def check(self, job: ImportJob, *, use_cache: bool) -> Outcome:
        lookups = load_lookups(job.county)
        parsed = _parse_file(job, lookups, use_cache=use_cache)
        errors = parsed.errors + _region_errors(parsed, lookups)
        outcome = _check_database(job, parsed.rows, lookups)
        outcome.errors = outcome.errors + errors
        outcome.preview = _preview(outcome, lookups)
        return outcome

    def write(self, actor: User, job: ImportJob, outcome: Outcome) -> tuple[int, int]:
        with audit(actor, AuditAction.LEDGER_IMPORT, file=job.original_name, import_job=job.pk,
                   period=job.period.code, county=job.county.code):
            created, updated = _write(job, actor, outcome.rows)
            rollup_mark_dirty(job.county_id, job.period_id)
        return created, updated


LEDGER = LedgerImporter()


# ---- Writing (one transaction) ----------------------------------------------------------------------


def _write(job: ImportJob, actor: User, rows: list[list]) -> tuple[int, int]:
    """Employers, then the period's records, then their dust exposures. Each step is a COPY
    into a staging table and one INSERT … ON CONFLICT (linear: one arbiter-index probe a row);
    the ids that link the steps are looked up with `= ANY(array)` and matched in Python, so no
    plan ever joins freshly written rows whose statistics say the table is empty."""
    submission = CountySubmission.objects.select_for_update(no_key=True, of=("self",)).filter(period=job.period, county=job.county).first()
    if problem := _submission_problem(submission, job):
        raise Refused(problem)
    county = job.county
    params = {"period": job.period_id, "province": job.province_id, "city": job.city_id, "county": county.pk,
              "actor": actor.pk}
    with connection.cursor() as cursor:
        # pgtrigger's per-row check reads this setting and, when it is unset, raises and
        # catches an error in every trigger call (≈0.3 ms a row, most of a bulk import's
        # time). An empty list ignores no trigger: the history is still written, only faster.
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")

        employer_rows = [(r[ROW], r[USCC], r[REGNO], job.province_id, job.city_id, county.pk, *r[EMP]) for r in rows]
        with (
            staging_table(staging="import_employers", like_table=Employer._meta.db_table,
                          columns=EMPLOYER_STAGING, rows=employer_rows),
            pgtrigger.ignore(*history_triggers(Employer)),
        ):
            both = [(r[USCC], r[REGNO]) for r in rows if r[USCC] and r[REGNO]]
            touched, inserted, returned = _upsert_employers(cursor, both, county.pk)
        write_history(model=Employer, ids=touched, inserted=inserted)
        # Updated employers' records of other open periods count them as they are now.
        for county_id, period_id in classification_refresh(employer_ids=sorted(touched - inserted)):
            rollup_mark_dirty(county_id, period_id)
        employer_of = _employers_of_rows(cursor, rows, county, returned)

        record_rows = [(employer_of[r[ROW]][0], employer_of[r[ROW]][1], *r[REC]) for r in rows]
        with (
            staging_table(staging="import_records", like_table=EmployerRecord._meta.db_table,
                          columns=RECORD_STAGING, rows=record_rows),
            pgtrigger.ignore(*history_triggers(EmployerRecord)),
        ):
            written = _upsert_records(cursor, dict(params))
        write_history(model=EmployerRecord, ids=[record for record, _e, _i in written],
                      inserted=[record for record, _e, was_inserted in written if was_inserted])
        touched |= {employer_id for _record, employer_id, _inserted in written}
        touched |= _replace_exposures(cursor, dict(params), rows, employer_of, written)
    return len(inserted), len(touched - inserted)


def _employers_of_rows(cursor, rows: list[list], county: Region, returned: list[tuple]
                       ) -> dict[int, tuple[int, int | None]]:
    """Row number → (employer id, township id) after the upsert (from its RETURNING, the rest
    looked up); refuses if an employer is missing or belongs to another county by now
    (registered there since the check)."""
    by_uscc = {uscc: (pk, county_id, township_id) for pk, uscc, _r, county_id, township_id in returned if uscc}
    by_regno = {regno: (pk, county_id, township_id) for pk, uscc, regno, county_id, township_id in returned
                if regno and not uscc}
    usccs = [r[USCC] for r in rows if r[USCC] and r[USCC] not in by_uscc]
    regnos = [r[REGNO] for r in rows if not r[USCC] and r[REGNO] not in by_regno]
    if usccs:
        cursor.execute("SELECT uscc, id, county_id, township_id FROM ledger_employer WHERE uscc = ANY(%s)", [usccs])
        by_uscc.update((uscc, tuple(rest)) for uscc, *rest in cursor.fetchall())
    if regnos:
        cursor.execute("SELECT registration_number, id, county_id, township_id FROM ledger_employer "
                       "WHERE registration_number = ANY(%s)", [regnos])
        by_regno.update((regno, tuple(rest)) for regno, *rest in cursor.fetchall())
    employer_of: dict[int, tuple[int, int | None]] = {}
    moved = 0
    for r in rows:
        found = by_uscc.get(r[USCC]) if r[USCC] else by_regno.get(r[REGNO])
        if found is None or found[1] != county.pk:
            moved += 1
            continue
        employer_of[r[ROW]] = (found[0], found[2])
    if moved:
        raise Refused(_("校验之后，有%(n)s个单位已被其他县（市、区）登记或发生变化，本次导入已全部撤销。请重新上传校验。") % {
            "n": moved})
    return employer_of


def _upsert_employers(cursor, both: list[tuple[str, str]], county_id: int) -> tuple[set[int], set[int], list[tuple]]:
    """(employers touched, employers inserted, RETURNING rows: id, uscc, registration number,
    county, township)."""
    insert_columns = ["uscc", "registration_number", "province_id", "city_id", "county_id", *EMPLOYER_FILE_FIELDS]
    select = ", ".join(f"s.{c}" for c in insert_columns)
    columns = ", ".join(insert_columns)

    def changed(fields: list[str], registration: bool) -> tuple[str, str]:
        sets = [f"{f} = EXCLUDED.{f}" for f in fields]
        old = [f"ledger_employer.{f}" for f in fields]
        new = [f"EXCLUDED.{f}" for f in fields]
        if registration:
            keep = "COALESCE(EXCLUDED.registration_number, ledger_employer.registration_number)"
            sets.append(f"registration_number = {keep}")
            old.append("ledger_employer.registration_number")
            new.append(keep)
        return ", ".join(sets), f"({', '.join(old)}) IS DISTINCT FROM ({', '.join(new)})"

    # A legacy employer (15-digit number only) whose row now carries its USCC: give it the USCC,
    # so the upsert below finds and updates it instead of colliding on the old number.
    touched: set[int] = set()
    if both:
        cursor.execute("""
            UPDATE ledger_employer e SET uscc = v.uscc, version = e.version + 1, updated_at = now()
            FROM unnest(%s::varchar[], %s::varchar[]) AS v(uscc, registration_number)
            WHERE e.registration_number = v.registration_number AND e.uscc IS NULL AND e.county_id = %s
            RETURNING e.id
        """, [[u for u, _r in both], [r for _u, r in both], county_id])
        touched = {employer_id for (employer_id,) in cursor.fetchall()}
    inserted: set[int] = set()
    returned: list[tuple] = []
    for where, conflict, registration in (
        ("s.uscc IS NOT NULL", "(uscc)", True),
        ("s.uscc IS NULL", "(registration_number) WHERE registration_number IS NOT NULL", False),
    ):
        sets, distinct = changed(EMPLOYER_FILE_FIELDS, registration)
        cursor.execute(f"""
            INSERT INTO ledger_employer ({columns}, version, created_at, updated_at)
            SELECT {select}, 1, now(), now() FROM import_employers s WHERE {where} ORDER BY s.id
            ON CONFLICT {conflict} DO UPDATE SET {sets}, version = ledger_employer.version + 1, updated_at = now()
            WHERE ledger_employer.county_id = EXCLUDED.county_id AND {distinct}
            RETURNING id, (xmax = 0), uscc, registration_number, county_id, township_id
        """)
        for employer_id, was_inserted, *rest in cursor.fetchall():
            touched.add(employer_id)
            returned.append((employer_id, *rest))
            if was_inserted:
                inserted.add(employer_id)
    return touched, inserted, returned


def _upsert_records(cursor, params: dict) -> list[tuple[int, int, bool]]:
    """The records written (inserted or changed): (record id, employer id, inserted)."""
    fields = ["township_id", *RECORD_FIELDS]
    sets = ", ".join(f"{f} = EXCLUDED.{f}" for f in fields)
    old = ", ".join(f"ledger_employerrecord.{f}" for f in fields)
    new = ", ".join(f"EXCLUDED.{f}" for f in fields)
    cursor.execute(f"""
        INSERT INTO ledger_employerrecord (employer_id, period_id, province_id, city_id, county_id, township_id,
                                           version, updated_at, updated_by_id, {", ".join(RECORD_FIELDS)})
        SELECT r.employer_id, %s, %s, %s, %s, r.township_id, 1, now(), %s,
               {", ".join(f"r.{f}" for f in RECORD_FIELDS)}
        FROM import_records r ORDER BY r.employer_id
        ON CONFLICT (employer_id, period_id) DO UPDATE SET {sets}, version = ledger_employerrecord.version + 1,
            updated_at = now(), updated_by_id = EXCLUDED.updated_by_id
        WHERE ({old}) IS DISTINCT FROM ({new})
        RETURNING id, employer_id, (xmax = 0)
    """, [params["period"], params["province"], params["city"], params["county"], params["actor"]])
    return cursor.fetchall()


def _replace_exposures(cursor, params: dict, rows: list[list], employer_of: dict,
                       written: list[tuple[int, int, bool]]) -> set[int]:
    """The period's dust exposures of these records become exactly the file's: the current
    ones are read (one scan, skipped for records created just now), compared here, and only
    the differences written."""
    record_of_employer = {employer_id: record_id for record_id, employer_id, _inserted in written}
    new_records = {record_id for record_id, _employer_id, inserted in written if inserted}
    records_changed = {record_id for record_id, _employer_id, _inserted in written}
    unchanged = [employer_id for employer_id, _township in employer_of.values() if employer_id not in record_of_employer]
    if unchanged:
        cursor.execute("SELECT employer_id, id FROM ledger_employerrecord WHERE period_id = %s AND employer_id = ANY(%s)",
                       [params["period"], unchanged])
        record_of_employer.update(cursor.fetchall())
    wanted: dict[tuple[int, int], int] = {}
    for r in rows:
        record_id = record_of_employer[employer_of[r[ROW]][0]]
        for dust_id, number in r[EXPO]:
            wanted[(record_id, dust_id)] = number
    existing = [record_id for record_id in record_of_employer.values() if record_id not in new_records]
    current_rows = []
    if existing:
        cursor.execute("SELECT id, record_id, dust_type_id, exposed_workers FROM ledger_recorddustexposure "
                       "WHERE record_id = ANY(%s)", [existing])
        current_rows = cursor.fetchall()
    stale, changed = [], set()
    current: dict[tuple[int, int], int] = {}
    for exposure_id, record_id, dust_id, number in current_rows:
        current[(record_id, dust_id)] = number
        if (record_id, dust_id) not in wanted:
            stale.append(exposure_id)
            changed.add(record_id)
    upserts = [(record_id, dust_id, number) for (record_id, dust_id), number in sorted(wanted.items())
               if current.get((record_id, dust_id)) != number]
    if stale:
        cursor.execute("DELETE FROM ledger_recorddustexposure WHERE id = ANY(%s)", [stale])
    if upserts:
        changed |= {record_id for record_id, _d, _n in upserts}
        with staging_table(staging="import_exposures", like_table="ledger_recorddustexposure",
                           columns=EXPOSURE_STAGING, rows=upserts):
            cursor.execute("""
                INSERT INTO ledger_recorddustexposure (record_id, dust_type_id, exposed_workers)
                SELECT record_id, dust_type_id, exposed_workers FROM import_exposures
                ON CONFLICT (record_id, dust_type_id) DO UPDATE SET exposed_workers = EXCLUDED.exposed_workers
            """)
    # Exposures keep no history of their own: a change bumps the record, whose history does.
    only_exposures = sorted(changed - records_changed)
    if not only_exposures:
        return set()
    cursor.execute("""
        UPDATE ledger_employerrecord SET version = version + 1, updated_at = now(), updated_by_id = %s
        WHERE id = ANY(%s) RETURNING employer_id
    """, [params["actor"], only_exposures])
    return {employer_id for (employer_id,) in cursor.fetchall()}
