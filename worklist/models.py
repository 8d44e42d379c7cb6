"""What the portal tells each user: notifications (in-app inbox, e-mail when configured), the
outbox of events they are made from, and which hand-overs a user has opened."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
