import re

import pytest
from playwright.sync_api import expect

from portal.models import Department, Role
from tests.e2e.conftest import login, logout
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_county_clerk_logs_in_sees_their_county_and_logs_out(page):
    make_user("371502", username="county_clerk", display_name="李娜")
    login(page, "county_clerk", PASSWORD)
    expect(page.get_by_test_id("membership-region")).to_have_text("山东省聊城市东昌府区")
    expect(page.get_by_test_id("memberships")).to_contain_text("录入")
    expect(page.get_by_test_id("main-nav")).not_to_contain_text("用户与岗位")
    logout(page)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_provincial_official_sees_the_province_and_admin_menus(page):
    make_user(("37", Department.HEALTH, Role.ADMIN), username="province_admin", display_name="王伟")
    login(page, "province_admin", PASSWORD)
    expect(page.get_by_test_id("membership-region")).to_have_text("山东省")
    expect(page.get_by_test_id("main-nav")).to_contain_text("用户与岗位")
    page.get_by_role("link", name="行政区划").first.click()
    page.get_by_test_id("regions-table").get_by_role("link", name="山东省").click()
    expect(page.get_by_test_id("regions-table")).to_contain_text("聊城市")
    logout(page)
    expect(page.locator("#id_username")).to_be_visible()


def test_wrong_password_shows_the_chinese_error(page):
    make_user("371502", username="county_clerk")
    login(page, "county_clerk", "not-the-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("登录名或密码不正确")


def test_the_home_page_fits_a_tablet(tablet_page):
    make_user("371502", username="county_clerk")
    login(tablet_page, "county_clerk", PASSWORD)
    expect(tablet_page.get_by_test_id("membership-region")).to_be_visible()
    width = tablet_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800


def test_menu_counts_after_the_session_ended_neither_show_the_login_page_nor_reset_its_csrf_cookie(page):
    """The menu's counts are fetched after the page; once the session is gone the server redirects
    that fetch to the login page. Followed, the login page's HTML landed in the menu, and the login
    page set a new CSRF cookie under a login form open in another tab, whose post was then refused
    (seen in CI when a test switched users while the previous page's fetches were under way)."""
    make_user("371502", username="county_clerk")
    login(page, "county_clerk", PASSWORD)
    expect(page.get_by_test_id("nav-counts")).not_to_be_empty()
    page.context.clear_cookies()
    with page.expect_response(lambda response: "/worklist/counts/" in response.url):
        page.add_script_tag(url="/static/portal/nav_counts.js")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("nav-counts")).not_to_contain_text("登录")
    expect(page.locator("#id_username")).to_have_count(0)
    assert [c["name"] for c in page.context.cookies()] == []
