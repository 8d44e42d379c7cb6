"""The Content-Security-Policy holds in the browser: the pages, the dashboard's charts, htmx, the
language switch, Swagger UI and the page of a refused stale form run under it, and the violation
watch of the browser tests (every context of browser_context fails on a violation) does notice one."""

import pytest
from playwright.sync_api import expect

from portal.models import Department, Role
from tests.e2e.conftest import browser_context, login
from tests.e2e.test_dashboard import ledger  # noqa: F401  (fixture)
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_violation_watch_notices_an_inline_script(browser, live_server, reference_data):
    context, page = browser_context(browser, live_server)
    try:
        page.goto("/accounts/login/")
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.injected = 1"; document.body.appendChild(s); }""")
        page.wait_for_timeout(300)
        assert page.evaluate("window.injected") is None
        assert any("script-src" in text for text in context.csp_violations), context.csp_violations
    finally:
        context.close()


def test_dashboard_charts_htmx_and_language_switch_run_under_the_policy(page, ledger):  # noqa: F811
    make_user(("37", Department.HEALTH, Role.ADMIN), username="province_admin")
    login(page, "province_admin", PASSWORD)
    page.goto("/dashboard/?region=371502")
    expect(page.locator("#trend-chart canvas")).to_have_count(1)
    expect(page.get_by_test_id("zero-penalty")).not_to_be_empty()  # loaded by htmx
    page.locator("select[name=language]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_swagger_ui_runs_under_the_policy(page):
    make_user("371502", role=Role.VIEWER, username="county_viewer")
    login(page, "county_viewer", PASSWORD)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_contain_text("API")


def test_a_login_page_left_open_while_signing_in_in_another_tab_answers_in_chinese_under_the_policy(page):
    make_user("371502", username="county_clerk")
    page.goto("/accounts/login/")
    other_tab = page.context.new_page()
    login(other_tab, "county_clerk", PASSWORD)  # signing in gives the browser a new form token
    other_tab.close()
    page.fill("#id_username", "county_clerk")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    expect(page.get_by_test_id("csrf-failure")).to_contain_text("页面已过期")
    assert page.context.csp_violations == []
