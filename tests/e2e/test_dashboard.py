"""A provincial official drills down the dashboard; a county clerk's edit reaches the city
dashboard through the real Celery worker."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from ledger import services as ledger_services
from ledger.models import EmployerRecord, ReportingPeriod
from portal.models import Region, Role
from targets import services
from tests.e2e.conftest import login, logout
from tests.e2e.steps import reload_until_shown
from tests.factories import PASSWORD, make_user
from tests.ledger.factories import make_employer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ledger(reference_data):
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2030, 7, 15))
    clerk = make_user("371502", role=Role.CLERK, username="county_clerk")
    for index in range(3):
        make_employer(county="371502", name=f"东昌府单位{index}", in_governance_scope=True)
    make_employer(county="371521", name="阳谷单位", in_governance_scope=True)
    ledger_services.period_open_county(actor=clerk, period=period, county=Region.objects.get(code="371502"))
    ledger_services.period_open_county(actor=make_user("371521"), period=period,
                                       county=Region.objects.get(code="371521"))
    services.rollup_recompute_full(period=period)
    return period


def test_provincial_official_drills_down_and_exports(page, ledger):
    make_user("37", role=Role.VIEWER, username="province_viewer")
    login(page, "province_viewer", PASSWORD)
    page.get_by_role("link", name="指标看板").first.click()
    expect(page.get_by_test_id("dashboard-table")).to_contain_text("聊城市")
    page.get_by_test_id("drill-3715").click()
    expect(page.get_by_test_id("row-371502")).to_contain_text("0.0%")
    page.get_by_test_id("drill-371502").click()
    expect(page.get_by_test_id("total-row")).to_contain_text("东昌府区")
    page.get_by_test_id("total-row").locator("td[data-indicator=declaration] a").click()
    expect(page).to_have_url(re.compile(r"missing=declaration"))
    expect(page.get_by_test_id("employer-table")).to_contain_text("东昌府单位0")
    expect(page.get_by_test_id("employer-table")).not_to_contain_text("阳谷单位")
    page.go_back()
    with page.expect_download() as download:
        page.get_by_test_id("dashboard-export").click()
    assert download.value.suggested_filename == "indicators-371502-2020H1.xlsx"


def test_a_clerks_edit_reaches_the_city_dashboard_through_the_worker(page, ledger, celery_worker_process):
    record = EmployerRecord.objects.filter(county__code="371502").order_by("employer__name").first()
    login(page, "county_clerk", PASSWORD)
    page.goto(f"/ledger/records/{record.pk}/edit/")
    page.check("#id_hazard_declared")
    page.fill("#id_declared_on", "2020-03-01")
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("employer-name")).to_be_visible()
    logout(page)

    make_user("3715", role=Role.VIEWER, username="city_viewer")
    login(page, "city_viewer", PASSWORD)
    cell = page.get_by_test_id("row-371502").locator("td[data-indicator=declaration]")
    reload_until_shown(page, "/dashboard/?region=3715&period=2020H1", cell, "33.3%", tries=30)
