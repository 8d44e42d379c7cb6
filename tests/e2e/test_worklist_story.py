"""The work list in the browser: the clerk's home shows the half-year due in 5 days; they submit;
the city reviewer's home shows two counties waiting, they approve both at once; the clerk's inbox
shows the approval (delivered by the Celery worker after commit); a finding passes its deadline
and shows red on the county's home."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inspections import services as inspection_services
from inspections.models import ChecklistKind, Finding, Severity
from ledger import services as ledger_services
from ledger.models import ReportingPeriod
from portal.models import Region, Role
from tests.e2e.conftest import login
from tests.e2e.steps import switch_user
from tests.factories import PASSWORD, make_user
from tests.inspections.factories import load_checklists

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_work_list_story(page, reference_data, celery_worker_process):
    today = timezone.localdate()
    period = ReportingPeriod.objects.create(code="2026H1", year=2026, half=1,
                                            starts_on=today - datetime.timedelta(days=90), ends_on=today,
                                            deadline=today + datetime.timedelta(days=5))
    make_user("371502", role=Role.CLERK, username="dcf_clerk", display_name="李娜")
    sibling = make_user("371521", role=Role.CLERK, username="yg_clerk")
    make_user("3715", role=Role.REVIEWER, username="lc_reviewer", display_name="王伟")
    yanggu = ledger_services.period_open_county(actor=sibling, period=period, county=Region.objects.get(code="371521"))
    ledger_services.submission_submit(actor=sibling, submission=yanggu)

    login(page, "dcf_clerk", PASSWORD)
    item = page.get_by_test_id("work-item").filter(has_text="东昌府区")
    expect(item).to_contain_text("开始填报")
    expect(item.get_by_test_id("work-deadline")).to_contain_text("还有 5 天")
    expect(page.get_by_test_id("nav-work-count")).to_contain_text("1")
    item.get_by_role("link").click()
    page.get_by_test_id("open-period").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("status-371502")).to_have_text("已报送")
    page.goto("/")
    expect(page.get_by_test_id("work-item").filter(has_text="台帐")).to_have_count(0)

    switch_user(page, "lc_reviewer")
    review = page.locator("[data-testid=work-item][data-kind=review]")
    expect(review).to_contain_text("2 个县（市、区）")
    review.get_by_role("link").click()
    page.get_by_test_id("pick-371502").check()
    page.get_by_test_id("pick-371521").check()
    page.get_by_test_id("bulk-approve").click()
    expect(page.locator(".alert-success")).to_contain_text("已审核通过 2 个县（市、区）")
    expect(page.get_by_test_id("review-empty")).to_be_visible()
    page.goto("/")
    expect(page.locator("[data-testid=work-item][data-kind=review]")).to_have_count(0)

    switch_user(page, "dcf_clerk")
    # Delivered by the worker after the reviewer's commit: the badge appears within seconds.
    for _attempt in range(30):
        if page.get_by_test_id("nav-unread").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.get_by_test_id("nav-unread")).to_have_text("1")
    page.get_by_test_id("nav-inbox").click()
    expect(page.get_by_test_id("notification").first).to_contain_text("东昌府区 2026年上半年台帐已通过市级审核")
    page.get_by_test_id("mark-all-read").click()
    expect(page.get_by_test_id("nav-unread")).to_have_count(0)

    # A finding of the county, due tomorrow: on the home page, not red; once its deadline passes, red.
    load_checklists()
    admin = make_user(("3715", "health", Role.ADMIN), username="lc_admin")
    leader = make_user(("3715", "health", Role.INSPECTOR), username="lc_leader")
    plan = inspection_services.plan_create(
        actor=admin, region=Region.objects.get(code="3715"), name="聊城市督导检查", document_number="",
        window_start=today - datetime.timedelta(days=3), window_end=today + datetime.timedelta(days=3),
        report_deadline=today + datetime.timedelta(days=5))
    team = inspection_services.team_create(actor=admin, plan=plan, name="第一组", leader=leader)
    assignment = inspection_services.assignment_create(actor=admin, team=team, kind=ChecklistKind.COMPREHENSIVE,
                                                       region=Region.objects.get(code="371502"))
    inspection = inspection_services.inspection_start(actor=leader, assignment=assignment)
    finding = Finding.objects.create(inspection=inspection, item=assignment.checklist_version.items()[0],
                                     region=assignment.region, description="乡镇职业健康协管员未配备",
                                     severity=Severity.MEDIUM, deadline=today + datetime.timedelta(days=1))
    page.goto("/")
    rectify = page.locator("[data-testid=work-item][data-kind=rectify]")
    expect(rectify).to_contain_text("乡镇职业健康协管员未配备")
    expect(rectify).not_to_have_attribute("data-overdue", "1")
    Finding.objects.filter(pk=finding.pk).update(deadline=today - datetime.timedelta(days=1))
    page.reload()
    expect(rectify).to_have_attribute("data-overdue", "1")
    expect(rectify).to_have_class(re.compile("list-group-item-danger"))
    expect(rectify.get_by_test_id("work-deadline")).to_contain_text("已逾期 1 天")
