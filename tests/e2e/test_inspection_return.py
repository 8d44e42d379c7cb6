"""The return for correction on the tablet: a member submits, the leader returns the checklist with
a reason, the member reads it on the tablet page, corrects an answer and resubmits, the leader signs."""

import pytest
from playwright.sync_api import expect

from inspections.models import Answer, Finding, InspectionStatus
from tests.e2e.conftest import draw_signature, login, logout, wait_until
from tests.factories import PASSWORD
from tests.inspections.factories import fill_all, make_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REASON = "1.5 现场风机运转正常，应答“是”，请改正后重新提交"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def open_fill_page(page, assignment) -> None:
    page.goto(f"/inspections/assignments/{assignment.pk}/")
    wait_until(page, "document.getElementById('fill-root').dataset.ready === '1'")


def test_leader_returns_the_checklist_member_corrects_and_resubmits_leader_signs(tablet_page):
    page = tablet_page
    w = make_world()
    assignment = w.unannounced
    wrong = assignment.checklist_version.items().get(number="1.5")
    fill_all(assignment, w.member, value_for={"1.5": "no"})

    login(page, "member1", PASSWORD)
    open_fill_page(page, assignment)
    page.get_by_test_id("submit-inspection").click()
    expect(page.get_by_test_id("report-status")).to_have_text("已提交")
    assert Finding.objects.filter(inspection__assignment=assignment, item=wrong).exists()
    logout(page)

    # The leader finds the wrong answer and returns the checklist; a blank reason is asked for.
    login(page, "leader1", PASSWORD)
    page.goto(f"/inspections/reports/{assignment.inspection.pk}/")
    form = page.get_by_test_id("return-form")
    form.scroll_into_view_if_needed()
    assert page.get_by_test_id("return-submit").bounding_box()["height"] >= 44  # finger-sized
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    page.get_by_test_id("return-submit").click()
    assert page.get_by_test_id("return-reason").evaluate("el => el.validity.valueMissing")
    page.get_by_test_id("return-reason").fill(REASON)
    page.get_by_test_id("return-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("填写中")
    expect(page.get_by_test_id("returned-notice")).to_have_text(f"组长已退回修改：{REASON}")
    expect(page.get_by_test_id("return-form")).to_have_count(0)
    logout(page)

    # The member reads the reason on the tablet page, corrects the answer and resubmits.
    login(page, "member1", PASSWORD)
    open_fill_page(page, assignment)
    expect(page.get_by_test_id("returned-notice")).to_have_text(f"组长已退回修改：{REASON}")
    expect(page.locator(f"#i{wrong.pk}-no")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    page.get_by_test_id("answer-1.5-yes").click()
    expect(page.get_by_test_id("sync-message")).to_have_text("全部答案已同步")
    expect(page.get_by_test_id("state-1.5")).to_have_text("已同步")
    assert Answer.objects.get(inspection__assignment=assignment, item=wrong).value == "yes"
    page.get_by_test_id("submit-inspection").click()
    expect(page.get_by_test_id("report-status")).to_have_text("已提交")
    expect(page.get_by_test_id("returned-notice")).to_have_count(0)
    assert not Finding.objects.filter(inspection__assignment=assignment, item=wrong).exists()
    logout(page)

    # The leader signs the corrected checklist.
    login(page, "leader1", PASSWORD)
    page.goto(f"/inspections/reports/{assignment.inspection.pk}/")
    draw_signature(page)
    page.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("组长已签字")
    expect(page.get_by_test_id("return-form")).to_have_count(0)
    assignment.inspection.refresh_from_db()
    assert assignment.inspection.status == InspectionStatus.SIGNED
    assert assignment.inspection.return_reason == REASON
