"""Models of work-injury insurance coverage on the HRSS side.

Every row that belongs to an employer carries the employer's denormalized province / city /
county keys (set by the services), so scoping is one indexed equality, as in the ledger."""

import pghistory
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.models import Employer, ReportingPeriod, Worker
from portal.models import Region, RegionLevel

COUNTY_LEVELS = {RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county"}


class RegionKeys(models.Model):
    """Province, city and county copied from the employer (or the county) by the services."""

    SCOPE_LEVEL_FIELDS = COUNTY_LEVELS

    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("县（市、区）"))

    class Meta:
        abstract = True


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class LedgerHandover(RegionKeys):
    """The county health bureau shares a period's ledger with the same-level HRSS bureau (a
    recorded event; sharing again later records another event)."""

    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报期"))
    shared_at = models.DateTimeField(_("移交时间"), auto_now_add=True)
    shared_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("移交人"))

    class Meta:
        verbose_name = _("台帐移交")
        verbose_name_plural = _("台帐移交")
        ordering = ["-shared_at", "-pk"]
        indexes = [models.Index(fields=["county", "period"])]

    def __str__(self) -> str:
        return f"{self.county} {self.period}"


class CoverageSource(models.TextChoices):
    MANUAL = "manual", _("手工录入")
    IMPORT = "import", _("经办机构导入")
    FOLLOW_UP = "follow_up", _("跟进参保")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class InsuranceCoverage(RegionKeys):
    """The HRSS count of an employer's insured workers for one ledger period."""

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="insurance_coverage",
                                 verbose_name=_("用人单位"))
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报期"))
    insured_workers = models.PositiveIntegerField(_("参保人数"))
    as_of = models.DateField(_("截至日期"))
    source = models.CharField(_("来源"), max_length=16, choices=CoverageSource.choices, default=CoverageSource.MANUAL)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("录入人"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("工伤保险参保情况")
        verbose_name_plural = _("工伤保险参保情况")
        constraints = [models.UniqueConstraint(fields=["employer", "period"], name="coverage_employer_period_unique")]
        indexes = [models.Index(fields=["period", "county"]), models.Index(fields=["period", "city"]),
                   models.Index(fields=["period", "province"])]

    def __str__(self) -> str:
        return f"{self.employer} {self.period}: {self.insured_workers}"


class CoverageImport(models.Model):
    """One import of the social-insurance agency's export: its figures and the reconciliation
    list of units that match no ledger employer (a signal for the health bureau). Scoped by
    the path of the region it covers (a province, city or county)."""

    SCOPE_REGION_PATH = "region__path"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("导入区划"))
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报期"))
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    original_name = models.CharField(_("文件名"), max_length=255)
    rows_total = models.PositiveIntegerField(default=0)
    rows_matched = models.PositiveIntegerField(default=0)
    persons_total = models.PositiveIntegerField(default=0)
    workers_insured = models.PositiveIntegerField(default=0)
    workers_uninsured = models.PositiveIntegerField(default=0)
    unmatched = models.JSONField(default=list, blank=True)  # [{"row", "name", "uscc", "insured_workers"}]

    class Meta:
        verbose_name = _("参保数据导入")
        verbose_name_plural = _("参保数据导入")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name


class CoverageImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("导入完成")
    INVALID = "invalid", _("校验未通过")
    FAILED = "failed", _("导入失败")
    REFUSED = "refused", _("文件无法读取")
    INTERRUPTED = "interrupted", _("已中断")


class CoverageImportJob(models.Model):
    """A coverage import too large for the request, run by a Celery task while the page polls
    its progress. The upload is stored only until the job finishes: the per-person list holds
    ID numbers. A successful run links the CoverageImport it wrote; a rejected one keeps the
    per-row report (ID numbers masked). Scoped like CoverageImport, by its region's path."""

    SCOPE_REGION_PATH = "region__path"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("导入区划"))
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报期"))
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    original_name = models.CharField(_("文件名"), max_length=255)
    file = models.FileField(upload_to="coverage-imports/", blank=True)
    persons_name = models.CharField(max_length=255, blank=True)
    persons_file = models.FileField(upload_to="coverage-imports/", blank=True)
    status = models.CharField(max_length=16, choices=CoverageImportStatus.choices,
                              default=CoverageImportStatus.PENDING)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"sheet", "row", "column", "value", "problem", "expected"}]
    result = models.OneToOneField(CoverageImport, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="job")
    # When the job was queued, and when a worker began it (under its lease, portal.jobs).
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("参保数据导入任务")
        verbose_name_plural = _("参保数据导入任务")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def in_progress(self) -> bool:
        return self.status in (CoverageImportStatus.PENDING, CoverageImportStatus.RUNNING)

    @property
    def progress_percent(self) -> int:
        return min(int(100 * self.rows_done / self.rows_total), 100) if self.rows_total else 0


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class WorkerCoverage(models.Model):
    """HRSS-confirmed status of one rostered worker, matched on the ID number of the agency's
    per-person list (the number itself is never copied here)."""

    SCOPE_LEVEL_FIELDS = {RegionLevel.PROVINCE: "worker__employer__province", RegionLevel.CITY: "worker__employer__city",
                          RegionLevel.COUNTY: "worker__employer__county"}

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="insurance_status")
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+")
    insured = models.BooleanField(_("已参加工伤保险"))
    matched_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["worker", "period"], name="worker_coverage_unique")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.period_id}: {self.insured}"


class FollowUpAction(models.TextChoices):
    CONTACTED = "contacted", _("已联系")
    ENROLLED = "enrolled", _("已参保")
    REFUSED = "refused", _("拒绝参保")
    REFERRED = "referred", _("移交执法")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class FollowUp(RegionKeys):
    """What HRSS did about an employer on the uninsured work list."""

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="insurance_follow_ups",
                                 verbose_name=_("用人单位"))
    period = models.ForeignKey(ReportingPeriod, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报期"))
    action = models.CharField(_("跟进措施"), max_length=16, choices=FollowUpAction.choices)
    acted_on = models.DateField(_("日期"))
    enrolled = models.PositiveIntegerField(_("新增参保人数"), default=0)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("跟进记录")
        verbose_name_plural = _("跟进记录")
        ordering = ["-acted_on", "-pk"]
        indexes = [models.Index(fields=["employer", "period"])]

    def __str__(self) -> str:
        return f"{self.employer} {self.get_action_display()} {self.acted_on}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ExpansionPlan(models.Model):
    """扩面专项行动三年计划 of one HRSS bureau for its region."""

    SCOPE_REGION_PATH = "region__path"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("区划"))
    title = models.CharField(_("计划名称"), max_length=200)
    start_year = models.PositiveSmallIntegerField(_("起始年度"))
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("扩面专项行动三年计划")
        verbose_name_plural = _("扩面专项行动三年计划")
        ordering = ["region__path", "-start_year"]
        constraints = [models.UniqueConstraint(fields=["region", "start_year"], name="plan_region_year_unique")]

    def __str__(self) -> str:
        return self.title


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PlanYear(models.Model):
    SCOPE_REGION_PATH = "plan__region__path"

    plan = models.ForeignKey(ExpansionPlan, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField(_("年度"))
    insured_workers = models.PositiveIntegerField(_("重点行业参保人数目标"))
    coverage_rate = models.DecimalField(_("重点行业参保率目标（%）"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["year"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "year"], name="plan_year_unique"),
            models.CheckConstraint(condition=models.Q(coverage_rate__gte=0, coverage_rate__lte=100),
                                   name="plan_year_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.year}"


class TrainingKind(models.TextChoices):
    TRAINING = "training", _("工伤预防培训")
    PUBLICITY = "publicity", _("尘肺病防治宣传")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class TrainingEvent(models.Model):
    """A work-injury prevention training or publicity event (工伤预防专项行动)."""

    SCOPE_REGION_PATH = "region__path"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("区划"))
    kind = models.CharField(_("类型"), max_length=16, choices=TrainingKind.choices)
    title = models.CharField(_("名称"), max_length=200)
    held_on = models.DateField(_("日期"))
    participants = models.PositiveIntegerField(_("参加人数"))
    employers = models.ManyToManyField(Employer, blank=True, related_name="+", verbose_name=_("参加单位"))
    created_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("工伤预防培训宣传")
        verbose_name_plural = _("工伤预防培训宣传")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return self.title
