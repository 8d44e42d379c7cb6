"""The tablet offline end to end, as ODK Collect works: the task list keeps every task; offline,
the list and each checklist open from the device, 提交 is queued ("将在联网后提交") and goes with
the answers when the network returns; each photo carries the time and place it was taken."""

import pytest
from playwright.sync_api import expect

from inspections.models import Answer, Inspection, InspectionStatus, Photo
from tests.e2e.conftest import browser_context, close_context, login, wait_until
from tests.e2e.steps import answer_everything, member_with_unannounced
from tests.factories import PASSWORD
from tests.inspections.factories import make_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

READY = "document.getElementById('fill-root') && document.getElementById('fill-root').dataset.ready === '1'"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def field_tablet(browser, live_server, reference_data):
    """A tablet in 东昌府区 whose inspector allowed the browser to read the position."""
    context, page = browser_context(browser, live_server, viewport={"width": 800, "height": 1280},
                                    has_touch=True, is_mobile=True, permissions=["geolocation"],
                                    geolocation={"latitude": 36.43441, "longitude": 115.98552, "accuracy": 14})
    yield page
    close_context(context)


def go_offline(page):
    # set_offline does not cut a service worker's own fetches: abort every request as well.
    page.context.set_offline(True)
    page.context.route("**/*", lambda route: route.abort())


def go_online(page):
    page.context.unroute("**/*")
    page.context.set_offline(False)


def test_offline_task_list_checklist_and_queued_submit(field_tablet):
    page = field_tablet
    _w, assignment, items = member_with_unannounced(page)

    # Online, the task list shows where each task stands and keeps every task on the device.
    page.goto("/inspections/")
    expect(page.get_by_test_id(f"task-state-{assignment.pk}")).to_have_text("未开始")
    wait_until(page, "Number(document.getElementById('tasks-root').dataset.cached || 0) >= 7", timeout=30)
    expect(page.get_by_test_id("offline-ready")).to_be_visible()

    # Offline: the list and the checklist open from the device, not the browser's error page.
    go_offline(page)
    page.goto("/inspections/")
    expect(page.get_by_test_id(f"assignment-{assignment.pk}")).to_be_visible()
    page.get_by_test_id(f"assignment-{assignment.pk}").click()
    wait_until(page, READY)
    expect(page.get_by_test_id("fill-target")).to_have_text("长春某水泥有限公司")
    expect(page.get_by_test_id("network-state")).to_have_text("离线")
    answer_everything(page, items, photo_meta="36.43441")
    page.fill("#highlights", "建立了职业健康管理机构")
    page.get_by_test_id("submit-inspection").click()
    expect(page.get_by_test_id("submit-queued")).to_be_visible()
    expect(page.get_by_test_id("submit-queued")).to_have_text("将在联网后提交")
    expect(page.get_by_test_id("sync-message")).to_contain_text("将在联网后提交")
    assert Answer.objects.filter(inspection__assignment=assignment).count() == 0

    # Still offline, the tablet is put away and the page opened again: the submission waits.
    page.reload()
    wait_until(page, READY)
    expect(page.get_by_test_id("submit-queued")).to_be_visible()
    expect(page.locator("#highlights")).to_have_value("建立了职业健康管理机构")

    # The network returns: the answers go, then the submission, and the report opens.
    go_online(page)
    page.get_by_test_id("sync-button").click()
    page.wait_for_url(f"**/inspections/reports/{assignment.inspection.pk}/", timeout=30_000)
    expect(page.get_by_test_id("report-status")).to_have_text("已提交")
    inspection = Inspection.objects.get(assignment=assignment)
    assert inspection.status == InspectionStatus.SUBMITTED and inspection.highlights == "建立了职业健康管理机构"
    assert Answer.objects.filter(inspection=inspection).count() == len(items)

    # The photo keeps when and where it was taken, and the report shows it as a thumbnail.
    photo = Photo.objects.get(inspection=inspection)
    assert photo.taken_at is not None and float(photo.latitude) == pytest.approx(36.43441, abs=1e-5)
    assert photo.accuracy_m == 14
    thumb = page.get_by_test_id("report-photo").first
    expect(thumb.get_by_test_id("photo-meta")).to_contain_text("36.43441, 115.98552")
    wait_until(page, "[...document.querySelectorAll('img.report-thumb')].every(i => i.complete && i.naturalWidth > 0)")

    page.goto("/inspections/")
    expect(page.get_by_test_id(f"task-state-{assignment.pk}")).to_have_text("已提交，待组长签字")


def test_a_page_never_kept_answers_offline_with_a_notice(field_tablet):
    page = field_tablet
    make_world()
    login(page, "member1", PASSWORD)
    page.goto("/inspections/")
    wait_until(page, "Number(document.getElementById('tasks-root').dataset.cached || 0) >= 1", timeout=30)
    go_offline(page)
    page.goto("/inspections/findings/")
    expect(page.locator("h1")).to_have_text("当前离线，此页面未保存在本机")
