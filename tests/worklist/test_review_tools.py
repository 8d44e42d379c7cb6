"""Reviewing a county: comparison with its previous period, employers whose figures jumped, and
comments on a single record that the county answers."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from ledger.models import CountySubmission, EmployerRecord, ReportingPeriod, SubmissionStatus
from portal.models import Region, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer
from worklist import services
from worklist.models import Notification, NotificationEvent
from worklist.selectors import county_review, work_list

pytestmark = pytest.mark.django_db


def record(employer, period, **figures):
    return EmployerRecord.objects.create(employer=employer, period=period, province_id=employer.province_id,
                                         city_id=employer.city_id, county_id=employer.county_id, **figures)


@pytest.fixture
def two_periods(current_period):
    previous = ReportingPeriod.objects.create(code="2025H2", year=2025, half=2, starts_on=datetime.date(2025, 7, 1),
                                              ends_on=datetime.date(2025, 12, 31), deadline=datetime.date(2026, 1, 15))
    county = Region.objects.get(code="371502")
    submission = CountySubmission.objects.create(period=current_period, county=county, city_id=county.parent_id,
                                                 province_id=county.parent.parent_id,
                                                 status=SubmissionStatus.SUBMITTED)
    return previous, current_period, submission


def test_employers_whose_figures_jumped_are_listed_with_the_reason(two_periods):
    previous, current, submission = two_periods
    steady, tripled, examined = (make_employer(county="371502", name=n) for n in ("平稳单位", "接尘翻三倍单位", "体检突增单位"))
    record(steady, previous, total_workers=50, exposed_workers=10, exam_due=10, exam_done=5)
    record(steady, current, total_workers=52, exposed_workers=11, exam_due=11, exam_done=6)
    record(tripled, previous, total_workers=100, exposed_workers=10)
    record(tripled, current, total_workers=100, exposed_workers=30)
    record(examined, previous, total_workers=100, exposed_workers=40, exam_due=20, exam_done=0)
    record(examined, current, total_workers=100, exposed_workers=45, exam_due=45, exam_done=45)
    review = county_review(actor=make_user("3715", role=Role.REVIEWER), submission_pk=submission.pk)
    assert review.previous == previous
    reasons = {o.employer_name: o.reasons for o in review.outliers}
    assert set(reasons) == {"接尘翻三倍单位", "体检突增单位"}
    assert reasons["接尘翻三倍单位"] == ["接尘人数 10 → 30"]
    assert "实检人数 45，超过上期应检人数 20 的两倍" in reasons["体检突增单位"]
    assert "在岗体检率 0% → 100%" in reasons["体检突增单位"]
    assert [row["name"] for row in review.indicators][0] == "粉尘危害申报率"


def test_a_reviewer_of_another_city_cannot_open_the_county(client, two_periods):
    _previous, _current, submission = two_periods
    client.force_login(make_user("3701", role=Role.REVIEWER))
    assert client.get(reverse("worklist:county-review", args=[submission.pk])).status_code == 404  # as a missing one
    client.force_login(make_user("3715", role=Role.REVIEWER))
    assert client.get(reverse("worklist:county-review", args=[submission.pk])).status_code == 200


def test_a_comment_reaches_the_clerk_who_answers_it(client, two_periods, django_capture_on_commit_callbacks):
    previous, current, _submission = two_periods
    employer = make_employer(county="371502", name="某陶瓷厂")
    rec = record(employer, current, total_workers=80, exposed_workers=60)
    reviewer, clerk = make_user("3715", role=Role.REVIEWER), make_user("371502")
    with pytest.raises(PermissionDenied):
        services.record_comment_add(actor=clerk, record=rec, body="自己批注自己")
    with pytest.raises(ValidationError):
        services.record_comment_add(actor=reviewer, record=rec, body="  ")
    with django_capture_on_commit_callbacks(execute=False):
        comment = services.record_comment_add(actor=reviewer, record=rec, body="接尘人数占比75%，请核实")
    [item] = [i for i in work_list(clerk).items if i.kind == "comment"]
    assert "某陶瓷厂" in item.title and "请核实" in item.detail
    for pk in NotificationEvent.objects.values_list("pk", flat=True):
        services.event_deliver(event_id=pk)
    assert Notification.objects.filter(user=clerk, url=item.url).exists()
    client.force_login(clerk)
    client.post(item.url, {"reply_to": comment.pk, "body": "已核实，其中20人为临时调岗"})
    comment.refresh_from_db()
    assert comment.answered_at is not None
    assert [i for i in work_list(clerk).items if i.kind == "comment"] == []
    for pk in NotificationEvent.objects.filter(delivered_at__isnull=True).values_list("pk", flat=True):
        services.event_deliver(event_id=pk)
    assert Notification.objects.filter(user=reviewer, title__contains="答复").exists()
    client.force_login(reviewer)
    body = client.get(item.url).content.decode()
    assert "已核实，其中20人为临时调岗" in body
    client.force_login(make_user("371521"))
    assert client.get(item.url).status_code == 404
