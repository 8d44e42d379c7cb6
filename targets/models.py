"""Campaigns, targets and indicator rollups."""

import pghistory
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Region, RegionLevel
from targets.indicators import target_choices


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Campaign(models.Model):
    """An implementation plan issued by a region (辽卫发〔2019〕68号 …). Its years are the plan's
    (2019–2020); `issued_on` is the document's date, blank when the document does not give one:
    no start date is made up."""

    SCOPE_REGION_PATH = "region__path"

    name = models.CharField(_("方案名称"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("发文区划"))
    authority = models.CharField(_("发文机关"), max_length=200)
    document_number = models.CharField(_("文号"), max_length=64, blank=True)
    issued_on = models.DateField(_("印发日期"), null=True, blank=True, help_text=_("文件落款日期；文件未载明的留空"))
    first_year = models.PositiveSmallIntegerField(_("起始年度"))
    last_year = models.PositiveSmallIntegerField(_("终止年度"))
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("攻坚行动方案")
        verbose_name_plural = _("攻坚行动方案")
        ordering = ["region__path", "first_year"]
        constraints = [
            models.CheckConstraint(condition=models.Q(last_year__gte=models.F("first_year")),
                                   name="campaign_years_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.document_number}）" if self.document_number else self.name


class CampaignPhase(models.Model):
    """A stage of a plan's work (动员部署, 组织实施, 总结考评) with the dates the plan gives."""

    SCOPE_REGION_PATH = "campaign__region__path"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases", verbose_name=_("方案"))
    name = models.CharField(_("阶段"), max_length=64)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    wording = models.CharField(_("原文"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("实施阶段")
        verbose_name_plural = _("实施阶段")
        ordering = ["campaign", "starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="phase_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Target(models.Model):
    SCOPE_REGION_PATH = "region__path"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets", verbose_name=_("方案"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("区划"))
    indicator = models.CharField(_("指标"), max_length=32, choices=target_choices)
    due_on = models.DateField(_("完成时限"))
    value = models.DecimalField(_("目标值（%）"), max_digits=5, decimal_places=2,
                                validators=[MinValueValidator(0), MaxValueValidator(100)],
                                help_text=_("比率指标为百分比；计数指标（如康复站）为最少个数"))
    wording = models.CharField(_("原文"), max_length=500, blank=True, help_text=_("方案中规定该目标的原文"))

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        ordering = ["region__path", "indicator", "due_on"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "region", "indicator", "due_on"], name="target_unique"),
            models.CheckConstraint(condition=models.Q(value__gte=0, value__lte=100), name="target_value_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.get_indicator_display()} {self.due_on:%Y-%m-%d} {self.value}%"


class RegionRollup(models.Model):
    """Indicator figures of one region for one period: {"declaration": [numerator, denominator], …}.
    Whole rows are recomputed and overwritten, never incremented."""

    SCOPE_REGION_PATH = "region__path"

    period = models.ForeignKey("ledger.ReportingPeriod", on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField(choices=RegionLevel.choices)
    employers = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "region"], name="rollup_period_region_unique")]
        indexes = [models.Index(fields=["period", "level"])]

    def __str__(self) -> str:
        return f"{self.region_id} {self.period_id}"


class RollupRun(models.Model):
    """One recompute: what it covered, how long it took, and the drift it corrected."""

    class Kind(models.TextChoices):
        FULL = "full", _("全量重算")
        INCREMENTAL = "incremental", _("增量重算")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    period = models.ForeignKey("ledger.ReportingPeriod", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    counties = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    drift = models.PositiveIntegerField(default=0, help_text=_("重算前与重算后不一致的区划数"))
    drift_sample = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"


class DirtyCounty(models.Model):
    """A (county, period) whose rollup is stale: written by ledger writes in their own
    transaction, claimed by the rollup task with SELECT … FOR UPDATE SKIP LOCKED."""

    county = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey("ledger.ReportingPeriod", on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["county", "period"], name="dirty_county_period_unique")]

    def __str__(self) -> str:
        return f"{self.county_id} {self.period_id}"


def evidence_path(instance, filename: str) -> str:
    return f"reported/{instance.period_id}/{instance.region_id}/{instance.indicator}/{filename}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ReportedFigure(models.Model):
    """A figure the ledger does not hold (enforcement-staff training, dose monitoring, an exam
    institution named, rehab stations built), reported for one period and region by the
    responsible department with its evidence, and reviewed like the ledger: a clerk saves and
    submits it, a reviewer of a level above approves or returns it. Only approved figures count."""

    SCOPE_REGION_PATH = "region__path"

    class Status(models.TextChoices):
        DRAFT = "draft", _("填报中")
        SUBMITTED = "submitted", _("已报送")
        RETURNED = "returned", _("已退回")
        APPROVED = "approved", _("已审核")

    period = models.ForeignKey("ledger.ReportingPeriod", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("填报期"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("区划"))
    indicator = models.CharField(_("指标"), max_length=32, choices=target_choices)
    numerator = models.PositiveIntegerField(_("分子（已落实数）"))
    denominator = models.PositiveIntegerField(_("分母（应落实数）"), default=1, help_text=_("计数指标为 0"))
    evidence = models.FileField(_("佐证材料"), upload_to=evidence_path, max_length=300)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    department = models.CharField(_("责任部门"), max_length=32)
    entered_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(_("填报时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey("portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    return_reason = models.TextField(_("退回原因"), blank=True)

    class Meta:
        verbose_name = _("报送指标")
        verbose_name_plural = _("报送指标")
        ordering = ["period", "region__path", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["period", "region", "indicator"], name="reported_figure_unique"),
            # A count (rehab stations) has no denominator: 0.
            models.CheckConstraint(condition=models.Q(numerator__lte=models.F("denominator")) | models.Q(denominator=0),
                                   name="reported_numerator_within_denominator"),
        ]
        indexes = [models.Index(fields=["period", "status"])]

    def __str__(self) -> str:
        return f"{self.region} {self.get_indicator_display()} {self.period_id}"
