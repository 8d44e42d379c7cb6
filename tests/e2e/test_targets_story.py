"""The campaign's targets seen from the top: the national viewer compares the five provinces
against the national plan, drills down to a county and reads how far it is from target and how
many counties have submitted; a Rongchang user sees its own, stricter September deadline."""

import datetime

import pytest
from playwright.sync_api import expect

from ledger.models import CountySubmission, EmployerRecord, ReportingPeriod
from portal.models import Region, Role
from targets import services
from tests.e2e.conftest import login, logout
from tests.factories import PASSWORD, make_user
from tests.ledger.factories import make_employer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COUNTIES = {"210102": 2, "220102": 3, "371502": 4, "410122": 2, "500153": 3}  # county: employers, one per province


@pytest.fixture
def ledger(reference_data):
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))
    for county, count in COUNTIES.items():
        for index in range(count):
            employer = make_employer(county=county, name=f"单位{county}-{index}", in_governance_scope=True)
            EmployerRecord.objects.create(
                employer=employer, period=period, province=employer.province, city=employer.city,
                county=employer.county, hazard_declared=index == 0, total_workers=10,
                declared_on=datetime.date(2020, 3, 1) if index == 0 else None)
        region = Region.objects.select_related("parent").get(code=county)
        CountySubmission.objects.create(period=period, county=region, city=region.parent,
                                        province=region.parent.parent, status="submitted")
    services.rollup_recompute_full(period=period)
    return period


def test_the_national_viewer_drills_from_five_provinces_to_a_county_and_rongchang_sees_its_deadline(page, ledger):
    make_user("100000", role=Role.VIEWER, username="national_viewer")
    login(page, "national_viewer", PASSWORD)
    page.goto("/dashboard/")
    expect(page.get_by_test_id("total-row")).to_contain_text("全国")
    for code in ("21", "22", "37", "41", "50"):
        cell = page.get_by_test_id(f"row-{code}").locator("td[data-indicator=declaration]")
        expect(cell).to_have_attribute("data-status", "behind")  # coloured against the national 95%
    page.get_by_test_id("drill-37").click()
    page.get_by_test_id("drill-3715").click()
    page.get_by_test_id("drill-371502").click()
    total = page.get_by_test_id("total-row")
    expect(total).to_contain_text("东昌府区")
    declaration = total.locator("td[data-indicator=declaration]")
    expect(declaration).to_contain_text("25.0%")
    expect(declaration).to_contain_text("还差 3 家")  # 95% of 4 -> 4 declared, 1 is
    expect(declaration).to_contain_text("2020-12-31前")
    expect(page.get_by_test_id("completeness-371502")).to_contain_text("已报送 1/1 县")
    page.get_by_role("link", name="聊城市").click()
    expect(page.get_by_test_id("completeness-3715")).to_contain_text("已报送 1/")
    logout(page)

    make_user("500153", role=Role.VIEWER, username="rongchang_viewer")
    login(page, "rongchang_viewer", PASSWORD)
    page.goto("/dashboard/")
    declaration = page.get_by_test_id("total-row").locator("td[data-indicator=declaration]")
    expect(declaration).to_contain_text("还差 2 家")  # 80% by 2019-12 is in force: 3 of 3 -> 1 declared
    expect(declaration.get_by_test_id("next-target")).to_contain_text("下一目标 95% · 2020-09-30前")
    page.goto("/dashboard/targets/")
    expect(page.get_by_test_id("binding-plans")).to_contain_text("荣卫发〔2019〕407号")
    expect(page.get_by_test_id("binding-plans")).to_contain_text("工作实施阶段")
