"""What the portal tells each user: notifications (in-app inbox, e-mail when configured), the
outbox of events they are made from, and which hand-overs a user has opened."""

import pghistory
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Department


class NotificationKind(models.TextChoices):
    SUBMISSION_RETURNED = "submission_returned", _("台帐被退回")
    SUBMISSION_APPROVED = "submission_approved", _("台帐市级审核通过")
    SUBMISSION_ACCEPTED = "submission_accepted", _("台帐省级已接收")
    HANDOVER_RECEIVED = "handover_received", _("收到台帐移交")
    ASSIGNMENT_GIVEN = "assignment_given", _("收到检查任务")
    CHECKLIST_RETURNED = "checklist_returned", _("检查表被退回修改")
    FINDING_OVERDUE = "finding_overdue", _("问题整改逾期")
    DEADLINE_7 = "deadline_7", _("报送截止前7天提醒")
    DEADLINE_1 = "deadline_1", _("报送截止前1天提醒")
    RECORD_COMMENT = "record_comment", _("填报记录批注")


class Notification(models.Model):
    """One message to one user. `key` makes delivery idempotent: the same event (or the same
    reminder) delivered twice inserts nothing the second time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=200)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_user_key_unique")]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationEvent(models.Model):
    """The outbox: a service writes the event in its own transaction; after commit a Celery task
    turns it into notifications (best-effort), and a beat job delivers whatever was left."""

    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["created_at"], condition=models.Q(delivered_at__isnull=True),
                                name="notification_event_pending")]

    def __str__(self) -> str:
        return f"{self.kind} {self.payload}"


class HandoverView(models.Model):
    """A user opened a hand-over: it leaves their work list."""

    handover = models.ForeignKey("insurance.LedgerHandover", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["handover", "user"], name="handover_view_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.handover_id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class HandoverDeadline(models.Model):
    """The date by which each county's health bureau hands a period's ledger to the same-level
    HRSS bureau, set by the province (seed 000: 2020-02 hand-over to HRSS)."""

    SCOPE_REGION_PATH = "region__path"

    period = models.ForeignKey("ledger.ReportingPeriod", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("填报期"))
    region = models.ForeignKey("portal.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("发文区划"))
    deadline = models.DateField(_("移交截止日期"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("台帐移交截止日期")
        verbose_name_plural = _("台帐移交截止日期")
        constraints = [models.UniqueConstraint(fields=["period", "region"], name="handover_deadline_unique")]

    def __str__(self) -> str:
        return f"{self.region} {self.period} {self.deadline:%Y-%m-%d}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Liaison(models.Model):
    """One line of the liaison list (联络员名单) that seed 000 asks each county and department to
    keep: who to call in that office. Kept by that department's admin."""

    SCOPE_REGION_PATH = "region__path"

    region = models.ForeignKey("portal.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("区划"))
    department = models.CharField(_("部门"), max_length=32, choices=Department.choices)
    name = models.CharField(_("姓名"), max_length=64)
    unit = models.CharField(_("单位"), max_length=100)
    post = models.CharField(_("职务"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("联络员")
        verbose_name_plural = _("联络员名单")
        ordering = ["region__path", "department", "id"]
        indexes = [models.Index(fields=["region", "department"])]

    def __str__(self) -> str:
        return f"{self.name} {self.unit}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class RecordComment(models.Model):
    """A reviewer's question about one employer's record of a period, and the county's answer
    (the answer is a comment with `reply_to`)."""

    SCOPE_LEVEL_FIELDS = {1: "record__province", 2: "record__city", 3: "record__county", 4: "record__township"}

    record = models.ForeignKey("ledger.EmployerRecord", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("内容"))
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="answers")
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("填报记录批注")
        verbose_name_plural = _("填报记录批注")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["record", "created_at"])]

    def __str__(self) -> str:
        return self.body[:40]
