"""THE column definition of the official ledger workbook (存在粉尘危害用人单位信息台帐).

One ordered list, `COLUMNS`, used by the downloadable template, the import and the export, so
the three can never drift apart. Headers and group headers are part of the file format: they
stay in Chinese whatever the interface language (the period facts use the model's verbose
names, read as their Chinese msgids). The "expected" texts are interface text (they appear in
error reports) and go through gettext.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ledger.industries import KeyIndustryGroup
from ledger.models import Employer, EmployerRecord, EnterpriseSize, OperatingStatus, OwnershipType
from portal.workbook import NO, YES


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    CHOICE = "choice"
    REGION = "region"
    INDUSTRY = "industry"
    DUST = "dust"


class Target(StrEnum):
    """Where a column's value goes on import."""

    IGNORED = "ignored"  # present in the file, not read on import (序号, names derived from codes)
    REGION = "region"  # which county/township the row belongs to
    EMPLOYER = "employer"  # an Employer field (identity, kept across periods)
    RECORD = "record"  # an EmployerRecord field (facts of the period)
    EXPOSURES = "exposures"  # RecordDustExposure rows of the period's record


@dataclass(frozen=True)
class Column:
    key: str  # model field name (or a pseudo key for ignored/region columns)
    header: str  # the exact column header in the file
    group: str  # the merged group header above it
    kind: Kind
    required: bool
    expected: str  # what a valid cell holds, in Chinese, for the error report and 填表说明
    width: float
    target: Target
    choices: type[models.TextChoices] | None = None
    max_length: int | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # extra accepted spellings → choice value
    multiline: bool = False  # line breaks allowed (a TextField); other control characters never are

    @property
    def imported(self) -> bool:
        return self.target is not Target.IGNORED

    def choice_labels(self) -> list[str]:
        """The Chinese labels of the choices, in order (the dropdown of the template)."""
        if self.kind is Kind.BOOL:
            return [YES, NO]
        if self.choices is None:
            return []
        return [msgid(label) for label in self.choices.labels]

    def label_to_value(self) -> dict[str, str]:
        if self.choices is None:
            return {}
        mapping = {msgid(label): value for value, label in self.choices.choices}
        mapping.update(self.aliases)
        return mapping

    def value_to_label(self) -> dict[str, str]:
        if self.choices is None:
            return {}
        return {value: msgid(label) for value, label in self.choices.choices}


TITLE_SUFFIX = "存在粉尘危害用人单位信息台帐"
TITLE_BLANK_COUNTY = "____县（市、区）"
SHEET_NAME = "台帐"
# Older forms spell it 台账; a workbook whose data sheet carries that name is accepted too.
SHEET_NAME_ALIASES = ("台帐", "台账")
INSTRUCTIONS_SHEET = "填表说明"
INDUSTRY_SHEET = "行业代码"
TITLE_ROW, NOTE_ROW, GROUP_ROW, HEADER_ROW = 1, 2, 3, 4
DATA_START_ROW = 5

DUST_PAIR_SEPARATORS = ("；", ";", "、")
DUST_COUNT_SEPARATORS = (":", "：")


def msgid(text) -> str:
    """The Chinese source text of a (lazy) translatable string, whatever language is active."""
    with translation.override(None):
        return str(text)


def _lazy_format(template: str, **values):
    """A lazy "template % values": translated when rendered, in the language active then."""
    return lazy(lambda: gettext(template) % values, str)()


def _record(name: str, group: str, kind: Kind = Kind.INT, *, required: bool = False, width: float = 10,
            expected=None) -> Column:
    model_field = EmployerRecord._meta.get_field(name)
    if expected is None:
        expected = {
            Kind.INT: _("必填，不小于0的整数") if required else _("不小于0的整数，留空按0计"),
            Kind.BOOL: _("必填，“是”或“否”") if required else _("“是”或“否”，留空按“否”计"),
            Kind.DATE: _("日期，格式 YYYY-MM-DD（如 2020-03-15），可留空"),
        }.get(kind) or _lazy_format("文字，最多%(n)s字，可留空", n=model_field.max_length)
    return Column(
        key=name, header=msgid(model_field.verbose_name), group=group, kind=kind, required=required,
        expected=expected, width=width, target=Target.RECORD, max_length=getattr(model_field, "max_length", None),
    )


def _employer(key: str, header: str, kind: Kind, *, required: bool = False, width: float = 14, expected=None,
              choices=None, aliases=None) -> Column:
    model_field = Employer._meta.get_field(key)
    if expected is None:
        if kind is Kind.TEXT:
            n = model_field.max_length
            expected = (_lazy_format("必填，最多%(n)s字", n=n) if n else _("必填")) if required else (
                _lazy_format("最多%(n)s字，可留空", n=n) if n else _("可留空"))
        elif kind is Kind.CHOICE:
            expected = _lazy_format("从下拉列表中选择：%(labels)s", labels="、".join(msgid(lb) for lb in choices.labels))
        elif kind is Kind.BOOL:
            expected = _("必填，“是”或“否”") if required else _("“是”或“否”，留空按“否”计")
    return Column(
        key=key, header=header, group=IDENTITY, kind=kind, required=required, expected=expected, width=width,
        target=Target.EMPLOYER, choices=choices, max_length=getattr(model_field, "max_length", None),
        aliases=aliases or {}, multiline=isinstance(model_field, models.TextField),
    )


IDENTITY = "用人单位基本情况"
WORKERS = "劳动者情况"
DECLARATION = "职业病危害项目申报"
TESTING = "粉尘浓度检测"
WARNING = "警示与告知"
HEALTH = "职业健康监护"
TRAINING = "职业卫生培训"
LABOUR = "劳动用工与工伤保险"
PROJECTS = "建设项目“三同时”"
CASES = "尘肺病与监督检查"

PHONE_EXPECTED = _("7～20位数字，可含 - 和括号，可留空")

COLUMNS: list[Column] = [
    Column("serial", "序号", IDENTITY, Kind.INT, False, _("可留空，导入时忽略"), 6, Target.IGNORED),
    Column("region_code", "区划代码", IDENTITY, Kind.REGION, False,
           _("本县（市、区）的6位区划代码（如 371502），可留空"), 10, Target.REGION),
    Column("township", "乡镇（街道）", IDENTITY, Kind.REGION, False,
           _("本县（市、区）所辖乡镇（街道）的名称（如 古楼街道）或9位代码，可留空"), 14, Target.REGION),
    _employer("name", "单位名称", Kind.TEXT, required=True, width=30),
    _employer("uscc", "统一社会信用代码", Kind.TEXT, width=22, expected=_(
        "18位统一社会信用代码（GB 32100-2015，含校验位）；尚未换领的单位留空并填写旧工商注册号")),
    _employer("registration_number", "旧工商注册号", Kind.TEXT, width=18, expected=_(
        "15位数字，仅尚未换领统一社会信用代码的单位填写，可留空")),
    _employer("registered_address", "注册地址", Kind.TEXT, width=28),
    _employer("workplace_address", "作业场所地址", Kind.TEXT, required=True, width=28),
    _employer("industry", "行业代码", Kind.INDUSTRY, required=True, width=10, expected=_(
        "GB/T 4754-2017 行业代码，大类、中类或小类（2～4位数字，如 3011），见“行业代码”工作表")),
    Column("industry_name", "行业名称", IDENTITY, Kind.TEXT, False, _("导入时忽略（按行业代码自动填写）"), 20,
           Target.IGNORED),
    Column("key_group", "重点行业类别", IDENTITY, Kind.TEXT, False, _("导入时忽略（按行业代码自动判定）"), 12,
           Target.IGNORED, choices=KeyIndustryGroup),
    _employer("size", "企业规模", Kind.CHOICE, required=True, width=10, choices=EnterpriseSize,
              aliases={"大": "large", "中": "medium", "小": "small", "微": "micro"}),
    _employer("ownership", "经济类型", Kind.CHOICE, required=True, width=14, choices=OwnershipType),
    _employer("business_scope", "经营范围", Kind.TEXT, width=30),
    _employer("legal_representative", "法定代表人", Kind.TEXT, required=True, width=12),
    _employer("legal_representative_phone", "法定代表人电话", Kind.TEXT, width=16, expected=PHONE_EXPECTED),
    _employer("health_manager", "职业健康管理人员", Kind.TEXT, width=12),
    _employer("health_manager_phone", "职业健康管理人员电话", Kind.TEXT, width=16, expected=PHONE_EXPECTED),
    _employer("status", "经营状态", Kind.CHOICE, width=10, choices=OperatingStatus, expected=_(
        "从下拉列表中选择：正常、停产整顿、关闭；留空按“正常”计")),
    _employer("in_governance_scope", "是否纳入治理范围", Kind.BOOL, required=True, width=10),
    _record("total_workers", WORKERS, required=True),
    _record("exposed_workers", WORKERS, required=True),
    Column("exposures", "粉尘种类及接尘人数", WORKERS, Kind.DUST, False, _(
        "“粉尘名称:人数”，多种粉尘用“；”分隔，如“矽尘:12；电焊烟尘:3”；粉尘名称见“填表说明”，"
        "每种粉尘的人数不大于接尘人数；留空表示不分粉尘种类"), 24, Target.EXPOSURES),
    _record("hazard_declared", DECLARATION, Kind.BOOL, required=True),
    _record("declared_on", DECLARATION, Kind.DATE, width=12, expected=_(
        "日期，格式 YYYY-MM-DD（如 2020-03-15）；已申报的单位必填")),
    _record("last_test_date", TESTING, Kind.DATE, width=12, expected=_(
        "日期，格式 YYYY-MM-DD（如 2020-03-15）；填写了超标点数的单位必填")),
    _record("test_lab", TESTING, Kind.TEXT, width=24),
    _record("points_over_limit", TESTING),
    _record("warning_signs", WARNING, Kind.BOOL, required=True, width=12),
    # Blank in both: a record kept before the ledger counted posts (its signs counted by employer).
    _record("serious_hazard_posts", WARNING, width=12, expected=_(
        "不小于0的整数：产生严重职业病危害的作业岗位数（没有这类岗位填0）；与下一列同时填写，"
        "两列都留空的单位按“警示标识和告知卡”是否设置计（旧口径）")),
    _record("posts_with_warning_signs", WARNING, width=12, expected=_(
        "不小于0的整数：其中已设置警示标识的岗位数，不大于严重职业病危害作业岗位数；与上一列同时填写或同时留空")),
    _record("exam_due", HEALTH),
    _record("exam_done", HEALTH),
    _record("surveillance_files", HEALTH, width=12),
    _record("principal_trained", TRAINING, Kind.BOOL, required=True),
    _record("managers_due", TRAINING, width=12),
    _record("managers_trained", TRAINING, width=12),
    _record("workers_training_due", TRAINING),
    _record("workers_trained", TRAINING),
    _record("contract_workers", LABOUR, width=12),
    _record("insured_workers", LABOUR, width=12),
    _record("new_projects", PROJECTS, width=12),
    _record("three_simultaneities_projects", PROJECTS, width=12),
    _record("pneumoconiosis_cases", CASES),
    _record("last_inspection_date", CASES, Kind.DATE, width=12),
]

HEADERS: list[str] = [c.header for c in COLUMNS]
BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}
BY_HEADER: dict[str, Column] = {c.header: c for c in COLUMNS}
EMPLOYER_COLUMNS = [c for c in COLUMNS if c.target is Target.EMPLOYER]
RECORD_COLUMNS = [c for c in COLUMNS if c.target is Target.RECORD]


def groups() -> list[tuple[str, int, int]]:
    """(group header, first column index, last column index), 1-based, for the merged row."""
    spans: list[tuple[str, int, int]] = []
    for index, column in enumerate(COLUMNS, start=1):
        if spans and spans[-1][0] == column.group:
            spans[-1] = (column.group, spans[-1][1], index)
        else:
            spans.append((column.group, index, index))
    return spans


def normalise_header(value) -> str:
    """Header cells compared without whitespace or line breaks and with either kind of quotes
    around 三同时, so a wrapped or retyped header still matches; everything else is exact."""
    if value is None:
        return ""
    text = "".join(str(value).split())
    return text.replace("“", "").replace("”", "").replace('"', "")


NORMALISED_HEADERS = [normalise_header(h) for h in HEADERS]


def title_for(region_name: str | None) -> str:
    return f"{region_name or TITLE_BLANK_COUNTY}{TITLE_SUFFIX}"


def note_line(period=None, filled_on=None) -> str:
    period_text = str(period) if period is not None else "____年____半年"
    date_text = filled_on.strftime("%Y-%m-%d") if filled_on else ""
    return f"填报期：{period_text}　填报单位（盖章）：　　　　填报人：　　　　联系电话：　　　　填报日期：{date_text}"
