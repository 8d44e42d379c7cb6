"""Notifications: every write of the inbox and of the outbox it is delivered from.

A service that wants users told about what it did calls `notify(kind, **ids)` inside its own
transaction: the event row commits (or rolls back) with the change. After commit a Celery task
delivers it; enqueueing is best-effort (a broker outage is logged, never raised to the user whose
change already committed) and a beat job delivers whatever is still pending. Delivery is
idempotent: each notification has a key unique per user, so an event or a reminder delivered
twice inserts nothing new. Recipients are read at delivery time from the current memberships, so
a user who lost a membership is not told."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import AuditAction, audit
from portal.models import Membership, User
from portal.scoping import Capability, capabilities_of, scope_for
from worklist.models import HandoverView, Notification, NotificationEvent, NotificationKind

logger = logging.getLogger(__name__)
K = NotificationKind
C = Capability
SWEEP_AFTER = datetime.timedelta(minutes=2)


@dataclass
class Message:
    key: str
    title: str
    body: str
    url: str


# ---- Writing events (inside the caller's transaction) --------------------------------------------------


def notify(kind: str, **payload) -> NotificationEvent:
    """Record an event in the caller's transaction; deliver it after commit, best-effort through
    portal.aftercommit (a broker outage is logged, the beat sweep delivers the event later)."""
    from portal.aftercommit import enqueue_after_commit
    from worklist.tasks import deliver_event

    event = NotificationEvent.objects.create(kind=kind, payload=payload)
    enqueue_after_commit(deliver_event, event.pk)
    return event


# ---- Recipients -------------------------------------------------------------------------------------------


def members_of(region_id: int, capability: Capability) -> list[User]:
    """Active users holding `capability` through a membership on exactly this region (the office
    that does the work, not every official above it)."""
    return members_by_region([region_id], capability).get(region_id, [])


def members_by_region(region_ids: list[int], capability: Capability) -> dict[int, list[User]]:
    """members_of for many regions in one query (the reminders run over every county)."""
    rows = Membership.objects.filter(region_id__in=region_ids, user__is_active=True).select_related("user")
    found: dict[int, dict[int, User]] = {}
    for m in rows:
        if capability in capabilities_of(m.department, m.role):
            found.setdefault(m.region_id, {})[m.user_id] = m.user
    return {region_id: list(users.values()) for region_id, users in found.items()}


# ---- Turning an event into messages --------------------------------------------------------------------


def _submission_messages(kind: str, payload: dict) -> tuple[list[User], Message] | None:
    from ledger.models import CountySubmission

    submission = CountySubmission.objects.select_related("county", "period").filter(
        pk=payload["submission"]).first()
    if submission is None:
        return None
    county, period = submission.county, submission.period
    url = f"{reverse('ledger:periods')}?period={period.code}"
    if kind == K.SUBMISSION_RETURNED:
        title = _("%(county)s %(period)s台帐被退回") % {"county": county.name, "period": period}
        body = _("退回原因：%(reason)s") % {"reason": payload.get("reason", "")}
    elif kind == K.SUBMISSION_APPROVED:
        title = _("%(county)s %(period)s台帐已通过市级审核") % {"county": county.name, "period": period}
        body = ""
    else:
        title = _("%(county)s %(period)s台帐已被省级接收") % {"county": county.name, "period": period}
        body = ""
    key = f"{kind}:{submission.pk}:{payload.get('at', '')}"
    return members_of(county.pk, C.LEDGER_EDIT), Message(key, title, body, url)


def _handover_messages(payload: dict):
    from insurance.models import LedgerHandover

    handover = LedgerHandover.objects.select_related("county", "period").filter(pk=payload["handover"]).first()
    if handover is None:
        return None
    title = _("收到%(county)s卫生健康部门移交的%(period)s台帐") % {
        "county": handover.county.name, "period": handover.period}
    return members_of(handover.county_id, C.INSURANCE_EDIT), Message(
        f"handover:{handover.pk}", title, _("请查看移交的台帐并开展工伤保险参保比对。"),
        reverse("insurance:handover-detail", args=[handover.pk]))


def _assignment_messages(payload: dict):
    from inspections.models import Assignment

    assignment = Assignment.objects.select_related("plan", "team", "region", "employer").filter(
        pk=payload["assignment"]).first()
    if assignment is None:
        return None
    target = assignment.employer.name if assignment.employer_id else assignment.region.name
    users = list(User.objects.filter(pk__in=assignment.team.user_ids(), is_active=True))
    return users, Message(
        f"assignment:{assignment.pk}:{assignment.team_id}",
        _("%(team)s收到检查任务：%(target)s") % {"team": assignment.team.name, "target": target},
        _("%(plan)s，检查时间 %(start)s 至 %(end)s，报告于 %(due)s 前报送。") % {
            "plan": assignment.plan.name, "start": assignment.plan.window_start, "end": assignment.plan.window_end,
            "due": assignment.plan.report_deadline},
        reverse("inspections:fill", args=[assignment.pk]))


def _checklist_returned_messages(payload: dict):
    from inspections.models import Inspection

    inspection = Inspection.objects.select_related("assignment__team", "assignment__region",
                                                   "assignment__employer").filter(pk=payload["inspection"]).first()
    if inspection is None:
        return None
    assignment = inspection.assignment
    target = assignment.employer.name if assignment.employer_id else assignment.region.name
    ids = assignment.team.user_ids() - {assignment.team.leader_id}
    return list(User.objects.filter(pk__in=ids, is_active=True)), Message(
        f"checklist_returned:{inspection.pk}:{payload.get('at', '')}",
        _("%(target)s的检查表被组长退回修改") % {"target": target},
        _("退回原因：%(reason)s") % {"reason": inspection.return_reason},
        reverse("inspections:fill", args=[assignment.pk]))


def _comment_messages(payload: dict):
    from worklist.models import RecordComment

    comment = RecordComment.objects.select_related("record__employer", "record__period", "author",
                                                   "reply_to").filter(pk=payload["comment"]).first()
    if comment is None:
        return None
    record = comment.record
    url = reverse("worklist:record-comments", args=[record.pk])
    if comment.reply_to_id:
        users = [comment.reply_to.author] if comment.reply_to.author.is_active else []
        title = _("%(who)s答复了您对%(employer)s %(period)s填报的批注") % {
            "who": comment.author, "employer": record.employer.name, "period": record.period}
    else:
        users = members_of(record.county_id, C.LEDGER_EDIT)
        title = _("%(who)s对%(employer)s %(period)s填报提出批注，请答复") % {
            "who": comment.author, "employer": record.employer.name, "period": record.period}
    return users, Message(f"comment:{comment.pk}", title, comment.body[:500], url)


def _event_messages(event: NotificationEvent):
    if event.kind in (K.SUBMISSION_RETURNED, K.SUBMISSION_APPROVED, K.SUBMISSION_ACCEPTED):
        return _submission_messages(event.kind, event.payload)
    if event.kind == K.HANDOVER_RECEIVED:
        return _handover_messages(event.payload)
    if event.kind == K.ASSIGNMENT_GIVEN:
        return _assignment_messages(event.payload)
    if event.kind == K.CHECKLIST_RETURNED:
        return _checklist_returned_messages(event.payload)
    if event.kind == K.RECORD_COMMENT:
        return _comment_messages(event.payload)
    raise ValueError(f"unknown notification event {event.kind}")


# ---- Delivering --------------------------------------------------------------------------------------------


def _deliver(kind: str, users: list[User], message: Message) -> list[int]:
    """Insert one notification per user unless that user already has the key; returns the ids
    inserted (for e-mail)."""
    if not users:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO worklist_notification (user_id, kind, key, title, body, url, created_at)
            SELECT u, %s, %s, %s, %s, %s, now() FROM unnest(%s::bigint[]) AS u
            ON CONFLICT (user_id, key) DO NOTHING RETURNING id
            """,
            [kind, message.key[:200], message.title[:200], message.body, message.url[:300], [u.pk for u in users]],
        )
        return [row[0] for row in cursor.fetchall()]


def event_deliver(*, event_id: int) -> int:
    """Deliver one pending event (claimed with SKIP LOCKED, so concurrent runs deliver it once).
    Returns how many notifications were inserted."""
    inserted: list[int] = []
    with transaction.atomic():
        event = (NotificationEvent.objects.select_for_update(skip_locked=True)
                 .filter(pk=event_id, delivered_at__isnull=True).first())
        if event is None:
            return 0
        event.attempts += 1
        result = _event_messages(event)
        if result is not None:
            users, message = result
            inserted = _deliver(event.kind, users, message)
        event.delivered_at = timezone.now()
        event.save(update_fields=["attempts", "delivered_at"])
    if inserted:
        from portal.aftercommit import after_commit

        after_commit(lambda: email_notifications(inserted), what="worklist.email")
    return len(inserted)


def events_sweep() -> int:
    """Beat: deliver the events whose task was lost (broker down at commit, worker killed)."""
    pending = NotificationEvent.objects.filter(
        delivered_at__isnull=True, created_at__lt=timezone.now() - SWEEP_AFTER).values_list("pk", flat=True)
    delivered = 0
    for event_id in list(pending[:1000]):
        try:
            delivered += event_deliver(event_id=event_id)
        except Exception:  # noqa: BLE001 - one bad event must not stop the others
            logger.exception("notification event %s could not be delivered", event_id)
    return delivered


def email_enabled() -> bool:
    return bool(getattr(settings, "PNEUMO_NOTIFY_EMAIL", False))


def email_notifications(ids: list[int]) -> int:
    """Best-effort e-mail of freshly inserted notifications, when the deployment configured SMTP."""
    if not email_enabled() or not ids:
        return 0
    sent = 0
    for notification in Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related("user"):
        if not notification.user.email:
            continue
        link = f"{settings.PNEUMO_SITE_URL.rstrip('/')}{notification.url}" if notification.url else ""
        try:
            send_mail(notification.title, "\n\n".join(p for p in (notification.body, link) if p),
                      None, [notification.user.email])
        except Exception:  # noqa: BLE001 - the inbox has it; mail is a courtesy
            logger.warning("notification %s not e-mailed", notification.pk, exc_info=True)
            continue
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


# ---- Reminders by beat (idempotent) --------------------------------------------------------------------------


REMINDER_DAYS = {7: K.DEADLINE_7, 1: K.DEADLINE_1}


def deadline_reminders(*, today: datetime.date | None = None) -> int:
    """Tell the county offices whose ledger is not yet submitted that the deadline is 7 days or 1
    day away. A reminder is sent once per (period, county, user): a re-run, or a beat that ran
    late, inserts nothing new; a missed day is caught up (7-day reminder within 2–7 days, 1-day
    reminder on the last day or the day before)."""
    from ledger.models import ReportingPeriod
    from worklist.selectors import pending_submissions

    today = today or timezone.localdate()
    inserted: list[int] = []
    rows = pending_submissions(today=today, within_days=7)
    members = members_by_region([row.county_id for row in rows], C.LEDGER_EDIT)
    for row in rows:
        users = members.get(row.county_id)
        if not users:  # most counties have nobody on the portal yet
            continue
        days = (row.deadline - today).days
        kind = K.DEADLINE_1 if days <= 1 else K.DEADLINE_7
        period = ReportingPeriod(code=row.period_code, year=row.year, half=row.half)
        message = Message(
            f"{kind}:{row.period_code}:{row.county_code}",
            _("%(county)s %(period)s台帐将于 %(deadline)s 截止报送（还有 %(days)s 天）") % {
                "county": row.county_name, "period": period, "deadline": row.deadline, "days": days},
            _("请在截止日期前完成填报并报送。"),
            f"{reverse('ledger:periods')}?period={row.period_code}")
        with transaction.atomic():
            inserted += _deliver(kind, users, message)
    email_notifications(inserted)
    return len(inserted)


def findings_overdue_notify(*, today: datetime.date | None = None) -> int:
    """Tell the inspected region's offices, once per finding and deadline, that a rectification
    is overdue."""
    from inspections.models import OPEN_FINDING_STATUSES, Finding

    today = today or timezone.localdate()
    inserted: list[int] = []
    findings = Finding.objects.filter(status__in=OPEN_FINDING_STATUSES, deadline__lt=today).select_related(
        "region", "employer")
    recipients: dict[int, list[User]] = {}
    for finding in findings.iterator():
        if finding.region_id not in recipients:
            recipients[finding.region_id] = [
                u for u in members_of(finding.region_id, C.INSPECTION_VIEW)
                if not _only_viewer(u, finding.region_id)]
        where = finding.employer.name if finding.employer_id else finding.region.name
        message = Message(
            f"finding_overdue:{finding.pk}:{finding.deadline}",
            _("%(where)s的问题整改已逾期（期限 %(deadline)s）") % {"where": where, "deadline": finding.deadline},
            finding.description[:500], reverse("inspections:finding", args=[finding.pk]))
        with transaction.atomic():
            inserted += _deliver(K.FINDING_OVERDUE, recipients[finding.region_id], message)
    email_notifications(inserted)
    return len(inserted)


def _only_viewer(user: User, region_id: int) -> bool:
    roles = set(Membership.objects.filter(user=user, region_id=region_id).values_list("role", flat=True))
    return roles == {"viewer"}


# ---- The inbox ---------------------------------------------------------------------------------------------


def notifications_mark_read(*, actor: User, ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read (all unread ones when `ids` is None)."""
    unread = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def handover_viewed(*, actor: User, handover) -> None:
    """The hand-over leaves the actor's work list, and its notification is read."""
    if not actor.is_authenticated:
        return
    HandoverView.objects.get_or_create(handover=handover, user=actor)
    Notification.objects.filter(user=actor, key=f"handover:{handover.pk}", read_at__isnull=True).update(
        read_at=timezone.now())



# ---- Hand-over deadlines and the liaison list -------------------------------------------------------------


def handover_deadline_set(*, actor: User, period, region, deadline: datetime.date):
    """The province sets the date by which its counties hand each period's ledger to HRSS."""
    from portal.models import RegionLevel
    from worklist.models import HandoverDeadline

    if region.level != RegionLevel.PROVINCE:
        raise ValidationError({"region": _("移交截止日期由省级设定。")})
    if not scope_for(actor, C.PERIODS_MANAGE).contains_from_level(region, RegionLevel.PROVINCE):
        raise PermissionDenied(_("只有%(region)s卫生健康管理员可以设定台帐移交截止日期。") % {"region": region.name})
    if deadline is None:
        raise ValidationError({"deadline": _("请填写移交截止日期。")})
    if deadline < period.starts_on:
        raise ValidationError({"deadline": _("移交截止日期不能早于填报期开始日期 %(d)s。") % {"d": period.starts_on}})
    with transaction.atomic(), audit(actor, AuditAction.HANDOVER_DEADLINE_SET, period=period.code, region=region.code):
        item, _created = HandoverDeadline.objects.update_or_create(
            period=period, region=region, defaults={"deadline": deadline, "set_by": actor})
    return item


def may_edit_liaisons(user: User, region, department: str) -> bool:
    """That department's admin for the region (or above it) keeps its liaison list."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, department=department, role="admin",
                                     region__path__in=_ancestor_paths(region.path)).exists()


def _ancestor_paths(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["".join(f"{c}/" for c in codes[:i]) for i in range(1, len(codes) + 1)]


LIAISON_FIELDS = ("name", "unit", "post", "phone")


def liaison_save(*, actor: User, region, department: str, data: dict, liaison=None):
    from portal.models import Department
    from worklist.models import Liaison

    if department not in Department.values:
        raise ValidationError({"department": _("请选择部门。")})
    if liaison is not None and (liaison.region_id != region.pk or liaison.department != department):
        raise ValidationError(_("联络员不属于该区划和部门。"))
    if not may_edit_liaisons(actor, region, department):
        raise PermissionDenied(_("只有%(region)s%(department)s部门的管理员可以维护其联络员名单。") % {
            "region": region.name, "department": Department(department).label})
    cleaned, errors = {}, {}
    limits = {f: Liaison._meta.get_field(f).max_length for f in LIAISON_FIELDS}
    labels = {"name": _("姓名"), "unit": _("单位"), "post": _("职务"), "phone": _("联系电话")}
    for field in LIAISON_FIELDS:
        value = " ".join(str(data.get(field) or "").split())
        if not value and field != "post":
            errors[field] = _("请填写%(label)s。") % {"label": labels[field]}
        elif len(value) > limits[field]:
            errors[field] = _("%(label)s过长（最多 %(m)s 字）。") % {"label": labels[field], "m": limits[field]}
        cleaned[field] = value
    if cleaned.get("phone") and not re.fullmatch(r"[0-9+\-() ]{5,32}", cleaned["phone"]):
        errors["phone"] = _("联系电话只能包含数字、空格和“-”“+”“()”。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), audit(actor, AuditAction.LIAISON_SAVE, region=region.code, department=department):
        liaison = liaison or Liaison(region=region, department=department)
        for field, value in cleaned.items():
            setattr(liaison, field, value)
        liaison.updated_by = actor
        liaison.save()
    return liaison


def liaison_delete(*, actor: User, liaison) -> None:

    if not may_edit_liaisons(actor, liaison.region, liaison.department):
        raise PermissionDenied(_("只有该部门的管理员可以维护其联络员名单。"))
    with transaction.atomic(), audit(actor, AuditAction.LIAISON_DELETE, region=liaison.region.code):
        liaison.delete()


# ---- Comments on a single employer record ------------------------------------------------------------------


COMMENT_MAX = 1000


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("请填写内容。")})
    if len(body) > COMMENT_MAX:
        raise ValidationError({"body": _("内容过长（最多 %(m)s 字，现有 %(n)s 字）。") % {"m": COMMENT_MAX, "n": len(body)}})
    return body


def record_comment_add(*, actor: User, record, body: str):
    """A city or provincial reviewer comments on one employer's record; the county's clerks are told."""
    from portal.models import RegionLevel
    from worklist.models import RecordComment

    if not scope_for(actor, C.LEDGER_REVIEW).contains_from_level(record.county, RegionLevel.CITY):
        raise PermissionDenied(_("只有市级或省级审核人员可以对填报记录提出批注。"))
    body = _clean_body(body)
    with transaction.atomic(), audit(actor, AuditAction.RECORD_COMMENT, record=record.pk):
        comment = RecordComment.objects.create(record=record, author=actor, body=body)
        notify(K.RECORD_COMMENT, comment=comment.pk)
    return comment


def record_comment_answer(*, actor: User, comment, body: str):
    """The county answers a reviewer's comment (its clerks, who fill the record)."""
    from portal.scoping import require_in_scope
    from worklist.models import RecordComment

    require_in_scope(actor, C.LEDGER_EDIT, comment.record.county)
    if comment.reply_to_id:
        raise ValidationError(_("只能答复审核人员的批注。"))
    body = _clean_body(body)
    with transaction.atomic(), audit(actor, AuditAction.RECORD_COMMENT_ANSWER, record=comment.record_id):
        locked = RecordComment.objects.select_for_update(no_key=True).get(pk=comment.pk)
        answer = RecordComment.objects.create(record=locked.record, author=actor, body=body, reply_to=locked)
        locked.answered_at = answer.created_at
        locked.save(update_fields=["answered_at"])
        notify(K.RECORD_COMMENT, comment=answer.pk)
    return answer
