"""The employer dust-hazard ledger (存在粉尘危害用人单位信息台帐)."""

import pghistory
import pgtrigger
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ledger.industries import KeyIndustryGroup, LookbackGroup
from portal.jobs import ImportJobBase, ImportStatus  # noqa: F401 - ImportStatus is imported from here too
from portal.models import Region, RegionLevel


class Industry(models.Model):
    """GB/T 4754-2017 国民经济行业分类, all four levels (reference data)."""

    code = models.CharField(_("行业代码"), max_length=4, unique=True)
    name = models.CharField(_("行业名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"))  # 1 门类, 2 大类, 3 中类, 4 小类
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    key_group = models.CharField(_("重点行业类别"), max_length=32, choices=KeyIndustryGroup.choices, blank=True)
    lookback_group = models.CharField(_("回头看行业"), max_length=32, choices=LookbackGroup.choices, blank=True)

    class Meta:
        verbose_name = _("行业")
        verbose_name_plural = _("行业")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DustType(models.Model):
    """Dusts of 职业病危害因素分类目录 (2015), reference data."""

    code = models.CharField(_("编号"), max_length=8, unique=True)
    name = models.CharField(_("粉尘名称"), max_length=64, unique=True)
    note = models.CharField(_("说明"), max_length=128, blank=True)
    pneumoconiosis = models.CharField(_("对应尘肺病"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("粉尘种类")
        verbose_name_plural = _("粉尘种类")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class EnterpriseSize(models.TextChoices):
    LARGE = "large", _("大型")
    MEDIUM = "medium", _("中型")
    SMALL = "small", _("小型")
    MICRO = "micro", _("微型")


class OwnershipType(models.TextChoices):
    STATE = "state", _("国有")
    COLLECTIVE = "collective", _("集体")
    JOINT_STOCK_COOPERATIVE = "joint_stock_cooperative", _("股份合作")
    LIMITED_LIABILITY = "limited_liability", _("有限责任公司")
    JOINT_STOCK = "joint_stock", _("股份有限公司")
    PRIVATE = "private", _("私营")
    HK_MACAO_TAIWAN = "hk_macao_taiwan", _("港澳台商投资")
    FOREIGN = "foreign", _("外商投资")
    INDIVIDUAL = "individual", _("个体经营")
    OTHER = "other", _("其他")


class OperatingStatus(models.TextChoices):
    OPERATING = "operating", _("正常")
    SUSPENDED = "suspended", _("停产整顿")
    CLOSED = "closed", _("关闭")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Employer(models.Model):
    """An employer with dust hazards. Province, city and county are denormalized from the
    county (set by the service layer) so scoping is one indexed equality."""

    SCOPE_LEVEL_FIELDS = {
        RegionLevel.PROVINCE: "province",
        RegionLevel.CITY: "city",
        RegionLevel.COUNTY: "county",
        RegionLevel.TOWNSHIP: "township",
    }

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, null=True, blank=True)
    registration_number = models.CharField(
        _("工商注册号（旧）"), max_length=15, null=True, blank=True,
        help_text=_("仅有 15 位旧注册号、尚未换领统一社会信用代码的单位填写"),
    )
    name = models.CharField(_("单位名称"), max_length=200)
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("省"))
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("市"))
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("县（市、区）"))
    township = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("乡镇（街道）")
    )
    registered_address = models.CharField(_("注册地址"), max_length=200, blank=True)
    workplace_address = models.CharField(_("作业场所地址"), max_length=200)
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, verbose_name=_("行业"))
    key_group = models.CharField(_("重点行业类别"), max_length=32, choices=KeyIndustryGroup.choices, blank=True)
    size = models.CharField(_("企业规模"), max_length=16, choices=EnterpriseSize.choices)
    ownership = models.CharField(_("经济类型"), max_length=32, choices=OwnershipType.choices)
    business_scope = models.TextField(_("经营范围"), blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=64)
    legal_representative_phone = models.CharField(_("法定代表人电话"), max_length=32, blank=True)
    health_manager = models.CharField(_("职业健康管理人员"), max_length=64, blank=True)
    health_manager_phone = models.CharField(_("职业健康管理人员电话"), max_length=32, blank=True)
    status = models.CharField(
        _("经营状态"), max_length=16, choices=OperatingStatus.choices, default=OperatingStatus.OPERATING
    )
    in_governance_scope = models.BooleanField(_("是否纳入治理范围"), default=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("用人单位")
        verbose_name_plural = _("用人单位")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uscc__isnull=False) | models.Q(registration_number__isnull=False),
                name="employer_has_identifier",
            ),
            models.UniqueConstraint(
                fields=["registration_number"], condition=models.Q(registration_number__isnull=False),
                name="employer_registration_number_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["county", "name"]),
            models.Index(fields=["city", "name"]),
            models.Index(fields=["province", "name"]),
            models.Index(fields=["township"]),
            # The list's order for a national viewer (no region key to lead with): without it each
            # page sorted every employer of the country.
            models.Index(fields=["name", "id"], name="employer_name_order"),
            GinIndex(fields=["name"], name="employer_name_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_legacy_identifier_only(self) -> bool:
        return not self.uscc and bool(self.registration_number)


class ReportingPeriod(models.Model):
    """A half-year of the ledger (2020H1, 2020H2). Counties submit by the deadline; an issuing
    region may set its own deadline for the counties under it (PeriodDeadline)."""

    code = models.CharField(_("填报期"), max_length=8, unique=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    half = models.PositiveSmallIntegerField(_("半年"), choices=[(1, _("上半年")), (2, _("下半年"))])
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    deadline = models.DateField(_("县级报送截止日期"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("填报期")
        verbose_name_plural = _("填报期")
        ordering = ["-year", "-half"]
        constraints = [models.UniqueConstraint(fields=["year", "half"], name="period_year_half_unique")]

    def __str__(self) -> str:
        if self.half == 1:
            return gettext("%(year)s年上半年") % {"year": self.year}
        return gettext("%(year)s年下半年") % {"year": self.year}


class PeriodDeadline(models.Model):
    """A deadline set by an issuing region (province or city) for the counties under it."""

    SCOPE_REGION_PATH = "region__path"

    period = models.ForeignKey(ReportingPeriod, on_delete=models.CASCADE, related_name="deadlines")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("发文区划"))
    deadline = models.DateField(_("报送截止日期"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "region"], name="period_deadline_unique")]

    def __str__(self) -> str:
        return f"{self.region} {self.period} {self.deadline:%Y-%m-%d}"


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("填报中")
    SUBMITTED = "submitted", _("已报送")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("市级已审核")
    ACCEPTED = "accepted", _("省级已接收")


LOCKED_STATUSES = {SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED, SubmissionStatus.ACCEPTED}


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class CountySubmission(models.Model):
    """A county's ledger for one period and where it stands in submit → approve → accept."""

    SCOPE_LEVEL_FIELDS = {RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county"}

    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="submissions")
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("县（市、区）"))
    status = models.CharField(_("状态"), max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT)
    opened_at = models.DateTimeField(_("开始填报时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    submitted_by = models.ForeignKey("portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("市级审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey("portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accepted_at = models.DateTimeField(_("省级接收时间"), null=True, blank=True)
    accepted_by = models.ForeignKey("portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    return_reason = models.TextField(_("退回原因"), blank=True)

    class Meta:
        verbose_name = _("县级报送")
        verbose_name_plural = _("县级报送")
        constraints = [models.UniqueConstraint(fields=["period", "county"], name="submission_period_county_unique")]

    def __str__(self) -> str:
        return f"{self.county} {self.period}"

    @property
    def is_locked(self) -> bool:
        return self.status in LOCKED_STATUSES


# The facts of one employer in one period, in the order of the official template. Each rule
# (name, smaller field, larger field, message) is checked by the model, the services, the
# import and a database constraint.
RECORD_COUNT_RULES = [
    ("exposed_le_total", "exposed_workers", "total_workers", _("接尘人数不能大于职工总人数")),
    ("exam_due_le_exposed", "exam_due", "exposed_workers", _("应检人数不能大于接尘人数")),
    ("exam_done_le_due", "exam_done", "exam_due", _("实检人数不能大于应检人数")),
    ("files_le_exposed", "surveillance_files", "exposed_workers", _("监护档案建档人数不能大于接尘人数")),
    ("managers_trained_le_due", "managers_trained", "managers_due", _("职业健康管理人员已培训人数不能大于应培训人数")),
    ("workers_due_le_total", "workers_training_due", "total_workers", _("劳动者应培训人数不能大于职工总人数")),
    ("workers_trained_le_due", "workers_trained", "workers_training_due", _("劳动者已培训人数不能大于应培训人数")),
    ("contracts_le_total", "contract_workers", "total_workers", _("签订劳动合同人数不能大于职工总人数")),
    ("insured_le_total", "insured_workers", "total_workers", _("参加工伤保险人数不能大于职工总人数")),
    ("three_sim_le_projects", "three_simultaneities_projects", "new_projects", _("落实“三同时”项目数不能大于新改扩建项目数")),
    ("signed_posts_le_posts", "posts_with_warning_signs", "serious_hazard_posts",
     _("设置警示标识的岗位数不能大于产生严重职业病危害的作业岗位数")),
]
# The warning-sign indicator counts posts with serious hazards (the plans' wording). Records
# kept before these two counts existed hold NULL in both: they are counted by the employer's
# yes/no answer (warning_signs), labelled as such. One without the other is refused.
WARNING_SIGN_POSTS = ("serious_hazard_posts", "posts_with_warning_signs")


# The facts of a period's record, in the official workbook's column order (ledger.columns).
RECORD_FIELDS = [
    "total_workers", "exposed_workers", "hazard_declared", "declared_on", "last_test_date", "test_lab",
    "points_over_limit", "warning_signs", "serious_hazard_posts", "posts_with_warning_signs", "exam_due", "exam_done",
    "surveillance_files", "principal_trained", "managers_due", "managers_trained", "workers_training_due",
    "workers_trained", "contract_workers", "insured_workers", "new_projects", "three_simultaneities_projects", "pneumoconiosis_cases",
    "last_inspection_date",
]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class EmployerRecord(models.Model):
    SCOPE_LEVEL_FIELDS = {
        RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county",
        RegionLevel.TOWNSHIP: "township",
    }

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="records")
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="records")
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    total_workers = models.PositiveIntegerField(_("职工总人数"), default=0)
    exposed_workers = models.PositiveIntegerField(_("接尘人数"), default=0)
    hazard_declared = models.BooleanField(_("是否申报"), default=False)
    declared_on = models.DateField(_("申报日期"), null=True, blank=True)
    last_test_date = models.DateField(_("最近检测日期"), null=True, blank=True)
    test_lab = models.CharField(_("检测机构"), max_length=200, blank=True)
    points_over_limit = models.PositiveIntegerField(_("超标点数"), default=0)
    warning_signs = models.BooleanField(_("警示标识和告知卡"), default=False)
    serious_hazard_posts = models.PositiveIntegerField(
        _("严重职业病危害作业岗位数"), null=True, blank=True,
        help_text=_("警示标识设置率按岗位计；没有这类岗位填0。与已设置警示标识的岗位数同时填写；"
                    "两项都留空的记录按单位是否设置警示标识计（旧口径）"))
    posts_with_warning_signs = models.PositiveIntegerField(
        _("设置警示标识的岗位数"), null=True, blank=True, help_text=_("不大于严重职业病危害作业岗位数"))
    exam_due = models.PositiveIntegerField(_("应检人数"), default=0)
    exam_done = models.PositiveIntegerField(_("实检人数"), default=0)
    surveillance_files = models.PositiveIntegerField(_("监护档案建档人数"), default=0)
    principal_trained = models.BooleanField(_("主要负责人培训"), default=False)
    managers_due = models.PositiveIntegerField(_("职业健康管理人员应培训"), default=0)
    managers_trained = models.PositiveIntegerField(_("职业健康管理人员已培训"), default=0)
    workers_training_due = models.PositiveIntegerField(_("劳动者应培训"), default=0)
    workers_trained = models.PositiveIntegerField(_("劳动者已培训"), default=0)
    contract_workers = models.PositiveIntegerField(_("签订劳动合同人数"), default=0)
    insured_workers = models.PositiveIntegerField(_("参加工伤保险人数"), default=0)
    new_projects = models.PositiveIntegerField(_("新改扩建项目数"), default=0)
    three_simultaneities_projects = models.PositiveIntegerField(_("落实“三同时”项目数"), default=0)
    pneumoconiosis_cases = models.PositiveIntegerField(_("尘肺病例数"), default=0)
    last_inspection_date = models.DateField(_("最近监督检查日期"), null=True, blank=True)

    # What the period was counted under: the employer's classification, copied in when the
    # record is created (a database trigger, so every insert path does it), refreshed from the
    # employer while the period is open for its county, frozen once the county submits, and
    # taken again from the employer when the period is returned (ledger.services). The
    # indicators read these, never the employer's current values.
    in_governance_scope = models.BooleanField(_("是否纳入治理范围"), default=False)
    key_group = models.CharField(_("重点行业类别"), max_length=32, choices=KeyIndustryGroup.choices, blank=True)
    operating_status = models.CharField(
        _("经营状态"), max_length=16, choices=OperatingStatus.choices, default=OperatingStatus.OPERATING
    )

    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey("portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("单位填报记录")
        verbose_name_plural = _("单位填报记录")
        constraints = [
            models.UniqueConstraint(fields=["employer", "period"], name="record_employer_period_unique"),
            *[
                models.CheckConstraint(condition=models.Q(**{f"{small}__lte": models.F(large)}), name=f"record_{name}")
                for name, small, large, _message in RECORD_COUNT_RULES
            ],
            models.CheckConstraint(
                condition=models.Q(serious_hazard_posts__isnull=True, posts_with_warning_signs__isnull=True)
                | models.Q(serious_hazard_posts__isnull=False, posts_with_warning_signs__isnull=False),
                name="record_warning_sign_posts_together"),
        ]
        indexes = [models.Index(fields=["period", "county"]), models.Index(fields=["period", "city"])]
        triggers = [
            pgtrigger.Trigger(
                name="record_classification",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func="""SELECT e.in_governance_scope, e.key_group, e.status
                        INTO NEW.in_governance_scope, NEW.key_group, NEW.operating_status
                        FROM ledger_employer e WHERE e.id = NEW.employer_id;
                        RETURN NEW;""",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employer} {self.period}"

    def consistency_errors(self) -> dict[str, str]:
        errors = {}
        for _name, small, large, message in RECORD_COUNT_RULES:
            smaller, larger = getattr(self, small), getattr(self, large)
            if smaller is not None and larger is not None and smaller > larger:
                errors.setdefault(small, f"{message}（{smaller} > {larger}）")
        posts, signed = (getattr(self, f) for f in WARNING_SIGN_POSTS)
        if (posts is None) != (signed is None):
            errors.setdefault(WARNING_SIGN_POSTS[0] if posts is None else WARNING_SIGN_POSTS[1],
                              _("请同时填写严重职业病危害作业岗位数和设置警示标识的岗位数"))
        if self.hazard_declared and not self.declared_on:
            errors.setdefault("declared_on", _("已申报的单位请填写申报日期"))
        if self.points_over_limit and not self.last_test_date:
            errors.setdefault("last_test_date", _("填写了超标点数的单位请填写最近检测日期"))
        return errors


class RecordDustExposure(models.Model):
    """Exposed workers by dust type (a worker may be exposed to several)."""

    record = models.ForeignKey(EmployerRecord, on_delete=models.CASCADE, related_name="exposures")
    dust_type = models.ForeignKey(DustType, on_delete=models.PROTECT, verbose_name=_("粉尘种类"))
    exposed_workers = models.PositiveIntegerField(_("接尘人数"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "dust_type"], name="exposure_record_dust_unique")]

    def __str__(self) -> str:
        return f"{self.dust_type} {self.exposed_workers}"


class ExamResult(models.TextChoices):
    NORMAL = "normal", _("未见异常")
    RECHECK = "recheck", _("复查")
    SUSPECTED = "suspected", _("疑似职业病")
    CONTRAINDICATION = "contraindication", _("职业禁忌证")
    OTHER = "other", _("其他疾病或异常")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Worker(models.Model):
    """The worker roster of an employer (personal data: ID numbers masked unless the role needs them)."""

    SCOPE_LEVEL_FIELDS = {
        RegionLevel.PROVINCE: "employer__province", RegionLevel.CITY: "employer__city",
        RegionLevel.COUNTY: "employer__county", RegionLevel.TOWNSHIP: "employer__township",
    }

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="workers")
    name = models.CharField(_("姓名"), max_length=64)
    id_number = models.CharField(_("居民身份证号"), max_length=18)
    post = models.CharField(_("岗位"), max_length=64)
    dust_type = models.ForeignKey(DustType, on_delete=models.PROTECT, verbose_name=_("粉尘种类"))
    exposure_start = models.DateField(_("接尘开始日期"), null=True, blank=True)
    insured = models.BooleanField(_("是否参加工伤保险"), default=False)
    last_exam_date = models.DateField(_("最近体检日期"), null=True, blank=True)
    last_exam_result = models.CharField(_("体检结论"), max_length=24, choices=ExamResult.choices, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("接尘劳动者")
        verbose_name_plural = _("接尘劳动者")
        constraints = [models.UniqueConstraint(fields=["employer", "id_number"], name="worker_employer_id_unique")]
        indexes = [models.Index(fields=["id_number"])]

    def __str__(self) -> str:
        return self.name


class ImportJob(ImportJobBase):
    """One uploaded ledger workbook: dry-run validation, then an all-or-nothing commit."""

    SCOPE_LEVEL_FIELDS = {RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county"}

    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("县（市、区）"))
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报期"))

    class Meta(ImportJobBase.Meta):
        verbose_name = _("台帐导入")
        verbose_name_plural = _("台帐导入")
