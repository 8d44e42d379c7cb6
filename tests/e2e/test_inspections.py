"""The tablet story: an inspector fills the unannounced checklist offline, reloads, comes back
online, syncs, is told which item is blank, submits, and the leader signs."""

import re

import pytest
from playwright.sync_api import expect

from inspections.models import Answer, InspectionStatus, Photo
from tests.e2e.conftest import draw_signature, login, logout, wait_until
from tests.e2e.steps import answer_everything, open_unannounced_checklist, switch_user
from tests.factories import PASSWORD
from tests.inspections.factories import make_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


OUTBOX_HAS_NOTE = """new Promise((resolve) => {
  const open = indexedDB.open("pneumo-inspections");
  open.onsuccess = () => {
    const all = open.result.transaction("outbox").objectStore("outbox").getAll();
    all.onsuccess = () => { resolve(all.result.some((e) => e.note === "二号车间风机运行")); open.result.close(); };
  };
})"""


def test_offline_filling_survives_reload_syncs_and_leader_signs(tablet_page):
    page = tablet_page
    _w, assignment, items = open_unannounced_checklist(page)
    expect(page.get_by_test_id("fill-target")).to_have_text("长春某水泥有限公司")
    assert page.evaluate("document.documentElement.scrollWidth") <= 800  # fits a 10-inch tablet in portrait
    assert page.get_by_test_id("answer-1.1-yes").bounding_box()["height"] >= 44  # finger-sized
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(page, """caches.open('pneumo-inspections-v1').then(c => c.match(location.pathname)).then(r => !!r)""")

    # Offline: the context, and every request the page makes.
    page.context.set_offline(True)
    page.route("**/*", lambda route: route.abort())
    expect(page.get_by_test_id("network-state")).to_have_text("离线")
    answer_everything(page, items, skip={"1.3"})  # 1.3 left blank on purpose: 不得空项
    page.get_by_test_id("note-1.5").fill("二号车间风机运行")
    page.get_by_test_id("note-1.5").press("Tab")
    wait_until(page, OUTBOX_HAS_NOTE)
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", str(len(items) - 1))
    assert Answer.objects.count() == 0

    # Reload while offline: the answers are still there (IndexedDB), nothing reached the server.
    page.reload()
    wait_until(page, "document.getElementById('fill-root') && document.getElementById('fill-root').dataset.ready === '1'")
    expect(page.locator(f"#i{items['1.1'].pk}-yes")).to_be_checked()
    expect(page.get_by_test_id("answer-1.8")).to_have_value("12")
    expect(page.get_by_test_id("note-1.5")).to_have_value("二号车间风机运行")
    expect(page.get_by_test_id("photos-1.14").locator("img")).to_have_count(1)
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", str(len(items) - 1))
    expect(page.get_by_test_id("state-1.1")).to_have_text("待同步")
    assert Answer.objects.count() == 0

    # Back online: flush explicitly.
    page.unroute("**/*")
    page.context.set_offline(False)
    page.get_by_test_id("sync-button").click()
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("state-1.1")).to_have_text("已同步")
    assert Answer.objects.filter(inspection__assignment=assignment).count() == len(items) - 1
    assert Photo.objects.filter(inspection__assignment=assignment).count() == 1
    assert Answer.objects.get(item=items["1.5"]).note == "二号车间风机运行"

    # Submitting with a blank item names it and marks it in its card, where the page jumps.
    page.get_by_test_id("submit-inspection").click()
    expect(page.get_by_test_id("sync-message")).to_contain_text("1.3 如实申报粉尘危害项目")
    expect(page.get_by_test_id("item-1.3")).to_have_class(re.compile(r"\bitem-blank\b"))
    expect(page.get_by_test_id("blank-1.3")).to_be_visible()
    expect(page.get_by_test_id("item-1.3")).to_be_in_viewport()
    assert page.locator(".fill-item.item-blank").count() == 1
    page.get_by_test_id("answer-1.3-no").click()
    expect(page.get_by_test_id("state-1.3")).to_have_text("已同步")
    expect(page.get_by_test_id("blank-1.3")).to_be_hidden()
    page.fill("#highlights", "建立了职业健康管理机构")
    page.get_by_test_id("submit-inspection").click()
    expect(page.get_by_test_id("report-status")).to_have_text("已提交")

    # The leader reviews and signs with a drawn signature. Signing out, not clearing the cookies,
    # hands the tablet over: with the cookies gone, the report page's photos were redirected to
    # the login page, whose visit replaced the CSRF cookie under the leader's login form (a 403
    # seen in CI).
    switch_user(page, "leader1")
    page.goto(f"/inspections/reports/{assignment.inspection.pk}/")
    draw_signature(page)
    page.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("组长已签字")
    expect(page.get_by_test_id("signed")).to_be_visible()
    assignment.inspection.refresh_from_db()
    assert assignment.inspection.status == InspectionStatus.SIGNED
    assert assignment.inspection.signature.startswith("data:image/png;base64,")


def test_conflicts_ask_the_inspector_and_an_expired_login_keeps_the_outbox(tablet_page):
    import uuid

    from inspections import services

    page = tablet_page
    w, assignment, items = open_unannounced_checklist(page)

    # The leader answered 1.1 and 1.2 on another tablet after this page loaded.
    services.answers_sync(actor=w.leader, assignment=assignment, changes=[
        {"client_uuid": str(uuid.uuid4()), "checklist_version": assignment.checklist_version_id, "base_version": 0,
         "item": items[n].pk, "value": "no", "note": "组长填写"} for n in ("1.1", "1.2")])
    page.get_by_test_id("answer-1.1-yes").click()
    page.get_by_test_id("answer-1.2-yes").click()
    expect(page.get_by_test_id("conflict-1.1")).to_contain_text("服务器上已有他人填写的答案：否")
    expect(page.get_by_test_id("conflict-1.2")).to_be_visible()
    page.get_by_test_id("conflict-1.1").get_by_role("button", name="保留我的").click()
    page.get_by_test_id("conflict-1.2").get_by_role("button", name="采用服务器的").click()
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    expect(page.locator(f"#i{items['1.2'].pk}-no")).to_be_checked()
    assert Answer.objects.get(item=items["1.1"]).value == "yes"
    assert Answer.objects.get(item=items["1.1"]).version == 2
    assert Answer.objects.get(item=items["1.2"]).value == "no"

    # The session ends: the entry stays and the inspector is asked to log in again.
    page.context.clear_cookies()
    page.get_by_test_id("answer-1.3-yes").click()
    expect(page.get_by_test_id("sync-message")).to_contain_text("登录已失效")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "1")
    login(page, "member1", PASSWORD)
    page.goto(f"/inspections/assignments/{assignment.pk}/")
    expect(page.get_by_test_id("pending-count")).to_have_attribute("data-count", "0")
    assert Answer.objects.get(item=items["1.3"]).value == "yes"


def test_signing_out_drops_the_pages_kept_for_offline_use(tablet_page):
    """A shared tablet: after sign-out, the next person cannot read the assignment offline."""
    page = tablet_page
    w = make_world()
    login(page, "member1", PASSWORD)
    page.goto(f"/inspections/assignments/{w.unannounced.pk}/")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(page, """caches.open('pneumo-inspections-v1').then(c => c.match(location.pathname)).then(r => !!r)""")

    logout(page)
    expect(page.locator("#id_username")).to_be_visible()
    assert page.evaluate("caches.keys()") == []
    page.context.set_offline(True)
    page.context.route("**/*", lambda route: route.abort())
    page.goto(f"/inspections/assignments/{w.unannounced.pk}/")
    # The service worker answers with its offline notice: nothing of the assignment is left.
    expect(page.locator("h1")).to_have_text("当前离线，此页面未保存在本机")
    assert "长春某水泥有限公司" not in page.content()
