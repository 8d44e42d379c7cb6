"""The inbox: events become notifications after commit, once; reminders once; e-mail when configured."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse

from inspections import services as inspection_services
from insurance import services as insurance_services
from ledger import services as ledger_services
from portal.models import Department, Membership, Region, Role
from tests.factories import make_user
from tests.inspections.factories import make_world
from worklist import services
from worklist.models import Notification, NotificationEvent, NotificationKind

pytestmark = pytest.mark.django_db


def deliver_pending() -> int:
    return sum(services.event_deliver(event_id=pk) for pk in
               NotificationEvent.objects.filter(delivered_at__isnull=True).values_list("pk", flat=True))


def titles(user):
    return list(Notification.objects.filter(user=user).values_list("title", flat=True))


@pytest.fixture
def submitted(current_period):
    clerk = make_user("371502", username="dcf_clerk")
    submission = ledger_services.period_open_county(actor=clerk, period=current_period,
                                                    county=Region.objects.get(code="371502"))
    ledger_services.submission_submit(actor=clerk, submission=submission)
    return clerk, submission


def test_the_clerk_is_told_of_a_return_with_the_reason_and_of_the_approval(submitted,
                                                                         django_capture_on_commit_callbacks):
    clerk, submission = submitted
    reviewer = make_user("3715", role=Role.REVIEWER)
    city_clerk = make_user("3715")  # above the county: not the office that does the work
    with django_capture_on_commit_callbacks(execute=False):
        ledger_services.submission_return(actor=reviewer, submission=submission, reason="请补充检测机构")
    deliver_pending()
    [returned] = Notification.objects.filter(user=clerk)
    assert returned.kind == NotificationKind.SUBMISSION_RETURNED and "请补充检测机构" in returned.body
    with django_capture_on_commit_callbacks(execute=False):
        ledger_services.submission_submit(actor=clerk, submission=submission)
        ledger_services.submission_approve(actor=reviewer, submission=submission)
    deliver_pending()
    assert any("通过市级审核" in t for t in titles(clerk))
    assert titles(city_clerk) == [] and titles(reviewer) == []


def test_delivering_an_event_twice_notifies_once(submitted, django_capture_on_commit_callbacks):
    clerk, submission = submitted
    with django_capture_on_commit_callbacks(execute=False):
        ledger_services.submission_approve(actor=make_user("3715", role=Role.REVIEWER), submission=submission)
    event = NotificationEvent.objects.get()
    assert services.event_deliver(event_id=event.pk) == 1
    NotificationEvent.objects.filter(pk=event.pk).update(delivered_at=None)  # as if the task ran again
    assert services.event_deliver(event_id=event.pk) == 0
    assert Notification.objects.filter(user=clerk).count() == 1


def test_a_broker_outage_after_commit_is_not_the_users_error_and_the_sweep_delivers(
        submitted, monkeypatch, django_capture_on_commit_callbacks):
    clerk, submission = submitted
    from worklist import tasks

    def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(tasks.deliver_event, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        approved = ledger_services.submission_approve(actor=make_user("3715", role=Role.REVIEWER),
                                                      submission=submission)
    assert approved.status == "approved"
    assert titles(clerk) == []
    monkeypatch.setattr(services, "SWEEP_AFTER", datetime.timedelta(0))
    assert services.events_sweep() == 1
    assert len(titles(clerk)) == 1


def test_hrss_is_told_of_a_hand_over_and_opening_it_reads_the_notification(client, current_period,
                                                                          django_capture_on_commit_callbacks):
    health = make_user("371502")
    hrss = make_user(("371502", Department.HRSS, Role.CLERK))
    ledger_services.period_open_county(actor=health, period=current_period, county=Region.objects.get(code="371502"))
    with django_capture_on_commit_callbacks(execute=False):
        handover = insurance_services.ledger_handover(actor=health, period=current_period,
                                                      county=Region.objects.get(code="371502"))
    deliver_pending()
    [notification] = Notification.objects.filter(user=hrss)
    assert notification.read_at is None and titles(health) == []
    client.force_login(hrss)
    client.get(reverse("insurance:handover-detail", args=[handover.pk]))
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_team_is_told_of_its_assignment_and_members_of_a_return(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        world = make_world()
    deliver_pending()
    assert len(titles(world.member)) == 2 and len(titles(world.leader)) == 2
    assert titles(world.other_leader) == []
    inspection = inspection_services.inspection_start(actor=world.member, assignment=world.comprehensive)
    inspection.status = "submitted"
    inspection.save()
    with django_capture_on_commit_callbacks(execute=False):
        inspection_services.inspection_return(actor=world.leader, inspection=inspection, reason="照片不清晰")
    deliver_pending()
    assert any("退回修改" in t for t in titles(world.member))
    assert not any("退回修改" in t for t in titles(world.leader))


def test_deadline_reminders_are_sent_once_and_not_to_a_user_who_lost_the_membership(current_period, today):
    clerk = make_user("371502")
    leaver = make_user("371502")
    Membership.objects.filter(user=leaver).delete()
    viewer = make_user(("371502", Department.HEALTH, Role.VIEWER))
    seven_days_before = current_period.deadline - datetime.timedelta(days=7)
    assert services.deadline_reminders(today=seven_days_before) == 1
    assert services.deadline_reminders(today=seven_days_before) == 0  # the beat ran twice
    assert services.deadline_reminders(today=seven_days_before + datetime.timedelta(days=1)) == 0
    [reminder] = Notification.objects.filter(user=clerk)
    assert reminder.kind == NotificationKind.DEADLINE_7 and "还有 7 天" in reminder.title
    assert services.deadline_reminders(today=current_period.deadline - datetime.timedelta(days=1)) == 1
    assert services.deadline_reminders(today=current_period.deadline - datetime.timedelta(days=1)) == 0
    assert Notification.objects.filter(user=clerk).count() == 2
    assert titles(leaver) == [] and titles(viewer) == []


def test_no_reminder_for_a_county_that_has_submitted(submitted, current_period):
    assert services.deadline_reminders(today=current_period.deadline - datetime.timedelta(days=1)) == 0


def test_an_overdue_finding_is_notified_once(today):
    from inspections.models import Finding, Severity

    world = make_world()
    inspection = inspection_services.inspection_start(actor=world.member, assignment=world.unannounced)
    Finding.objects.create(inspection=inspection, item=world.unannounced.checklist_version.items()[0],
                           region=world.employer.county, employer=world.employer, description="除尘设施未运行",
                           severity=Severity.HIGH, deadline=today - datetime.timedelta(days=1))
    assert services.findings_overdue_notify(today=today) == 1
    assert services.findings_overdue_notify(today=today) == 0
    assert "逾期" in titles(world.county_clerk)[0]


def test_e_mail_only_when_smtp_is_configured(settings, current_period):
    clerk = make_user("371502", email="clerk@example.cn")
    day = current_period.deadline - datetime.timedelta(days=7)
    settings.PNEUMO_NOTIFY_EMAIL = False
    services.deadline_reminders(today=day)
    assert mail.outbox == []
    Notification.objects.all().delete()
    settings.PNEUMO_NOTIFY_EMAIL = True
    services.deadline_reminders(today=day)
    [message] = mail.outbox
    assert message.to == ["clerk@example.cn"] and "还有 7 天" in message.subject
    assert Notification.objects.get(user=clerk).emailed_at is not None


def test_the_inbox_marks_read_and_the_menu_counts_unread(client, current_period):
    clerk = make_user("371502")
    services.deadline_reminders(today=current_period.deadline - datetime.timedelta(days=7))
    client.force_login(clerk)
    counts = client.get(reverse("worklist:nav-counts")).content.decode()
    assert 'data-testid="nav-unread">1<' in counts
    other = make_user("371502")
    services.deadline_reminders(today=current_period.deadline - datetime.timedelta(days=1))
    mine = Notification.objects.filter(user=clerk).values_list("pk", flat=True)
    theirs = Notification.objects.filter(user=other).values_list("pk", flat=True)
    client.post(reverse("worklist:inbox"), {"id": [*mine[:1], *theirs]})
    assert Notification.objects.filter(user=clerk, read_at__isnull=True).count() == 1
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == len(theirs)
    client.post(reverse("worklist:inbox"), {"all": "1"})
    assert 'nav-unread' not in client.get(reverse("worklist:nav-counts")).content.decode()
