"""Models of inspection plans, teams, checklists, findings and reports."""

import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from portal.models import Region


class ChecklistKind(models.TextChoices):
    COMPREHENSIVE = "comprehensive", _("综合检查表")
    UNANNOUNCED = "unannounced", _("暗访企业检查表")


class AnswerType(models.TextChoices):
    YES_NO_NA = "yes_no_na", _("是/否/不适用")
    NUMBER = "number", _("数值")
    RATE = "rate", _("比率（%）")
    TEXT = "text", _("文字")
    SINGLE_CHOICE = "single_choice", _("单选")
    PHOTO = "photo", _("照片")


class Severity(models.TextChoices):
    LOW = "low", _("一般")
    MEDIUM = "medium", _("较重")
    HIGH = "high", _("严重")


class ChecklistTemplate(models.Model):
    code = models.CharField(_("编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=ChecklistKind.choices)
    # The level that issued the checklist: only its admins (or those above) publish its versions.
    # Empty means national: only superusers.
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("发文区划"))

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = _("检查表")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def latest_version(self, region=None):
        """The latest version of the issuing level's line (region None) or of a region's own line."""
        return self.versions.filter(region=region).order_by("-number").first()

    def latest_published(self, region=None):
        return self.versions.filter(region=region, published=True).order_by("-number").first()


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class ChecklistVersion(models.Model):
    """An inspection keeps the version it started with; a published version is never edited."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="versions")
    # Empty: a version of the issuing level. Set: a lower level's own version (the issuing level's
    # items, unchangeable, plus its own), used only by plans inside that region.
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("本级版本所属区划"))
    number = models.PositiveIntegerField(_("版本号"))
    published = models.BooleanField(_("已发布"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查表版本")
        verbose_name_plural = _("检查表版本")
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="checklist_version_unique")]

    def __str__(self) -> str:
        return f"{self.template.name} 第{self.number}版"

    def items(self):
        return ChecklistItem.objects.filter(section__version=self).select_related("section").order_by(
            "section__order", "order")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ChecklistSection(models.Model):
    version = models.ForeignKey(ChecklistVersion, on_delete=models.CASCADE, related_name="sections")
    number = models.CharField(_("序号"), max_length=8)
    title = models.CharField(_("标题"), max_length=100)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="checklist_section_unique")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ChecklistItem(models.Model):
    section = models.ForeignKey(ChecklistSection, on_delete=models.CASCADE, related_name="items")
    number = models.CharField(_("序号"), max_length=8)
    key = models.CharField(_("标识"), max_length=64, blank=True, help_text=_("跨版本稳定的标识，如 no_zero_penalty"))
    text = models.CharField(_("检查内容"), max_length=300)
    answer_type = models.CharField(_("答案类型"), max_length=16, choices=AnswerType.choices)
    choices = models.JSONField(_("选项"), default=list, blank=True)
    required = models.BooleanField(_("必填"), default=True)
    guidance = models.TextField(_("检查要点"), blank=True)
    no_is_finding = models.BooleanField(_("答“否”即为问题"), default=False)
    default_severity = models.CharField(_("默认问题等级"), max_length=8, choices=Severity.choices,
                                        default=Severity.MEDIUM)
    # In a lower level's own version: an item of the issuing level's, which that level may not change.
    inherited = models.BooleanField(_("上级条目"), default=False)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.number} {self.text}"


class PlanStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class InspectionPlan(models.Model):
    SCOPE_REGION_PATH = "region__path"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("发文区划"))
    name = models.CharField(_("计划名称"), max_length=200)
    document_number = models.CharField(_("文号"), max_length=64, blank=True)
    window_start = models.DateField(_("检查开始日期"))
    window_end = models.DateField(_("检查结束日期"))
    report_deadline = models.DateField(_("报告报送截止日期"))
    status = models.CharField(_("状态"), max_length=8, choices=PlanStatus.choices, default=PlanStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查计划")
        verbose_name_plural = _("检查计划")
        ordering = ["-window_start", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def access_until(self):
        return max(self.window_end, self.report_deadline)

    def in_window(self, day=None) -> bool:
        day = day or timezone.localdate()
        return self.window_start <= day <= self.access_until


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Team(models.Model):
    plan = models.ForeignKey(InspectionPlan, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("组名"), max_length=64)
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("组长"))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True, verbose_name=_("组员"))
    liaison = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("联络员"))
    liaison_phone = models.CharField(_("联络员电话"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("检查组")
        verbose_name_plural = _("检查组")
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return self.name

    def user_ids(self) -> set[int]:
        ids = {self.leader_id, *self.members.values_list("id", flat=True)}
        if self.liaison_id:
            ids.add(self.liaison_id)
        return ids


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    REASSIGNED = "reassigned", _("已改派")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Assignment(models.Model):
    """A team's task: a region (comprehensive) or an employer (unannounced). `region` is the
    inspected region (the employer's county for an employer)."""

    SCOPE_REGION_PATH = "region__path"

    plan = models.ForeignKey(InspectionPlan, on_delete=models.CASCADE, related_name="assignments")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="assignments")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("被检查地区"))
    employer = models.ForeignKey("ledger.Employer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="inspection_assignments", verbose_name=_("被检查单位"))
    kind = models.CharField(_("检查类型"), max_length=16, choices=ChecklistKind.choices)
    checklist_version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=AssignmentStatus.choices,
                              default=AssignmentStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查任务")
        verbose_name_plural = _("检查任务")
        ordering = ["plan", "team", "id"]
        permissions = [("fill_assignment", "填报检查任务")]

    def __str__(self) -> str:
        return f"{self.team.name}：{self.employer.name if self.employer_id else self.region.name}"

    @property
    def target_name(self) -> str:
        return self.employer.name if self.employer_id else self.region.name


class AssignmentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Assignment, on_delete=models.CASCADE)


class AssignmentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Assignment, on_delete=models.CASCADE)


class InspectionStatus(models.TextChoices):
    DRAFT = "draft", _("填写中")
    SUBMITTED = "submitted", _("已提交")
    SIGNED = "signed", _("组长已签字")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Inspection(models.Model):
    SCOPE_REGION_PATH = "assignment__region__path"

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="inspection")
    version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=InspectionStatus.choices,
                              default=InspectionStatus.DRAFT)
    base_version = models.PositiveIntegerField(default=0)
    highlights = models.TextField(_("工作亮点"), blank=True)
    problems = models.TextField(_("主要问题"), blank=True)
    inspected_on = models.DateField(_("检查日期"), null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    signature = models.TextField(_("组长签字"), blank=True)  # PNG data URL drawn on a canvas
    # The last return for correction; kept after the resubmission as the record of it.
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    return_reason = models.CharField(_("退回原因"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("检查记录")
        verbose_name_plural = _("检查记录")

    def __str__(self) -> str:
        return str(self.assignment)

    @property
    def is_locked(self) -> bool:
        return self.status == InspectionStatus.SIGNED

    @property
    def is_returned(self) -> bool:
        """Returned by the leader and not yet resubmitted."""
        return self.status == InspectionStatus.DRAFT and self.returned_at is not None


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Answer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    client_uuid = models.UUIDField(unique=True)  # of the last change applied
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="answer_inspection_item_unique")]

    def __str__(self) -> str:
        return f"{self.inspection_id}:{self.item_id}"

    @property
    def is_blank(self) -> bool:
        return self.value in (None, "", [])


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class SyncReceipt(models.Model):
    """Every client change applied once: the same client_uuid again changes nothing."""

    client_uuid = models.UUIDField(primary_key=True)
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="+")
    answer_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.client_uuid)


def photo_path(instance, filename):
    return f"inspections/{instance.inspection_id}/{instance.client_uuid}{instance.extension}"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class Photo(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    client_uuid = models.UUIDField(unique=True, default=uuid.uuid4)
    extension = models.CharField(max_length=8, default=".jpg")
    file = models.FileField(upload_to=photo_path)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # When and where the tablet took it (the upload may come hours later, once back online); the
    # position only when the inspector allowed the browser to read it.
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    accuracy_m = models.PositiveIntegerField(_("定位精度（米）"), null=True, blank=True)

    def __str__(self) -> str:
        return str(self.client_uuid)


class FindingStatus(models.TextChoices):
    OPEN = "open", _("待整改")
    RECTIFIED = "rectified", _("已整改待核实")
    VERIFIED = "verified", _("已核实销号")
    REOPENED = "reopened", _("重新整改")


OPEN_FINDING_STATUSES = [FindingStatus.OPEN, FindingStatus.REOPENED]


# Deletes are tracked too: a resubmission after a return drops the findings nobody acted on.
@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Finding(models.Model):
    SCOPE_REGION_PATH = "region__path"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    employer = models.ForeignKey("ledger.Employer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="inspection_findings")
    description = models.TextField(_("问题描述"))
    severity = models.CharField(_("问题等级"), max_length=8, choices=Severity.choices)
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("检查发现问题")
        verbose_name_plural = _("检查发现问题")
        ordering = ["deadline", "id"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="finding_inspection_item_unique")]

    def __str__(self) -> str:
        return self.description

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_FINDING_STATUSES and self.deadline < timezone.localdate()


def evidence_path(instance, filename):
    return f"inspections/evidence/{instance.finding_id}/{uuid.uuid4().hex}{instance.extension}"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class RectificationEvidence(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="evidence")
    note = models.TextField(_("整改说明"))
    extension = models.CharField(max_length=8, blank=True)
    file = models.FileField(upload_to=evidence_path, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.note[:40]


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class FindingReview(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="reviews")
    outcome = models.CharField(max_length=16, choices=FindingStatus.choices)
    comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.finding_id} {self.outcome}"
