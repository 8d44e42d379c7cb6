"""The HRSS story in the browser: a health clerk hands the ledger over; an HRSS clerk imports a
coverage file with one unmatched unit and one mismatch, sees both lists, records a follow-up on
an uninsured employer; the provincial dashboard's insurance coverage follows (real Celery worker).
A file above the inline threshold is imported by the worker while the page shows its progress."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from ledger import services as ledger_services
from ledger.demo import demo_uscc
from ledger.models import EmployerRecord, ReportingPeriod
from portal.models import Department, Region, Role
from targets import services as target_services
from tests.e2e.conftest import login
from tests.e2e.steps import reload_until_shown, switch_user
from tests.factories import PASSWORD, make_user
from tests.ledger.factories import make_employer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


DASHBOARD = "/dashboard/?region=37&period=2020H1"


def insurance_cell(page):
    """聊城市's injury-insurance rate on 山东省's 2020H1 dashboard."""
    return page.get_by_test_id("row-3715").locator("td[data-indicator=injury_insurance]")


def insurance_cell_text(page) -> str:
    page.goto(DASHBOARD)
    return insurance_cell(page).inner_text()


def wait_for_rate(page, rate: str) -> None:
    reload_until_shown(page, DASHBOARD, insurance_cell(page), rate)


def test_the_hrss_story(page, tmp_path, reference_data, celery_worker_process):
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2030, 7, 15))
    health_clerk = make_user("371502", role=Role.CLERK, username="health_clerk")
    make_user(("371502", Department.HRSS, Role.CLERK), username="hrss_clerk")
    make_user(("37", Department.HEALTH, Role.VIEWER), username="province_viewer")
    mismatch = make_employer(county="371502", name="东昌府差额水泥厂", in_governance_scope=True)
    matching = make_employer(county="371502", name="东昌府一致石材厂", in_governance_scope=True, industry="3032")
    ledger_services.period_open_county(actor=health_clerk, period=period, county=Region.objects.get(code="371502"))
    EmployerRecord.objects.filter(employer=mismatch).update(total_workers=20, insured_workers=10)
    EmployerRecord.objects.filter(employer=matching).update(total_workers=30, insured_workers=30)
    target_services.rollup_recompute_full(period=period)

    login(page, "province_viewer", PASSWORD)
    assert "80.0%" in insurance_cell_text(page)  # the ledger's own counts: 40 of 50

    switch_user(page, "health_clerk")
    page.goto("/insurance/")
    county = Region.objects.get(code="371502")
    # The clerk's only county is fixed on the form, not picked.
    expect(page.get_by_test_id("handover-form").locator("select[name=county]")).to_have_value(str(county.pk))
    page.get_by_test_id("handover-form").get_by_role("button").click()
    expect(page.get_by_role("alert")).to_contain_text("已将东昌府区 2020年上半年 台帐移交")
    expect(page.get_by_test_id("handover-table")).to_contain_text("东昌府区")

    switch_user(page, "hrss_clerk")
    page.goto("/insurance/")
    page.get_by_test_id("handover-table").get_by_role("link").first.click()
    expect(page.get_by_test_id("handover-records")).to_contain_text("东昌府差额水泥厂")
    coverage = tmp_path / "coverage.csv"
    coverage.write_text(
        "单位名称,统一社会信用代码,参保人数,截至日期\n"
        f"东昌府差额水泥厂,{mismatch.uscc},15,2020-06-30\n"
        f"东昌府一致石材厂,{matching.uscc},30,2020-06-30\n"
        f"东昌府未登记砖厂,{demo_uscc('371502', 777777)},12,2020-06-30\n", encoding="utf-8")
    page.goto("/insurance/coverage/import/")
    form = page.get_by_test_id("import-form")
    expect(form.locator("select[name=region]")).to_have_value(str(county.pk))
    form.locator("input[name=file]").set_input_files(str(coverage))
    form.get_by_role("button", name="校验并导入").click()
    expect(page.get_by_test_id("import-result")).to_contain_text("台帐中没有的单位 1 家")

    page.goto("/insurance/reconciliation/?tab=unmatched&period=2020H1")
    expect(page.get_by_test_id("reconciliation-unmatched")).to_contain_text("东昌府未登记砖厂")
    page.goto("/insurance/reconciliation/?tab=differences&period=2020H1")
    differences = page.get_by_test_id("reconciliation-differences")
    expect(differences).to_contain_text("东昌府差额水泥厂")
    expect(differences).not_to_contain_text("东昌府一致石材厂")

    page.goto("/insurance/work-list/?period=2020H1")
    expect(page.get_by_test_id("work-list")).to_contain_text("东昌府差额水泥厂")
    page.goto(f"/insurance/follow-ups/{mismatch.pk}/?period=2020H1")
    follow_up = page.get_by_test_id("follow-up-form")
    follow_up.locator("select[name=action]").select_option(label="已参保")
    follow_up.locator("input[name=acted_on]").fill("2020-07-20")
    follow_up.locator("input[name=enrolled]").fill("5")
    follow_up.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("follow-ups")).to_contain_text("已参保")

    switch_user(page, "province_viewer")
    wait_for_rate(page, "100.0%")  # HRSS counts: 15 imported + 5 enrolled, and 30: 50 of 50
    expect(page.get_by_test_id("row-3715").get_by_test_id("insurance-source")).to_contain_text("人社数据 2/2 家")


def test_a_large_coverage_file_is_imported_in_the_background(page, tmp_path, reference_data, celery_worker_process,
                                                             settings):
    settings.PNEUMO_COVERAGE_INLINE_MAX_BYTES = 100  # the live server's threshold: this small file goes to the worker
    ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                   ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2030, 7, 15))
    health_clerk = make_user("371502", role=Role.CLERK, username="health_clerk")
    make_user(("371502", Department.HRSS, Role.CLERK), username="hrss_clerk")
    employer = make_employer(county="371502", name="东昌府后台水泥厂", in_governance_scope=True)
    county = Region.objects.get(code="371502")
    ledger_services.period_open_county(actor=health_clerk, period=ReportingPeriod.objects.get(), county=county)
    EmployerRecord.objects.filter(employer=employer).update(total_workers=20, insured_workers=10)
    coverage = tmp_path / "coverage.csv"
    coverage.write_text("单位名称,统一社会信用代码,参保人数,截至日期\n"
                        f"东昌府后台水泥厂,{employer.uscc},18,2020-06-30\n", encoding="utf-8")

    login(page, "hrss_clerk", PASSWORD)
    page.goto("/insurance/coverage/import/")
    form = page.get_by_test_id("import-form")
    expect(form.locator("select[name=region]")).to_have_value(str(county.pk))
    form.locator("input[name=file]").set_input_files(str(coverage))
    form.get_by_role("button", name="校验并导入").click()
    expect(page).to_have_url(re.compile(r"/insurance/coverage/import/jobs/\d+/$"))
    expect(page.get_by_test_id("import-filename")).to_contain_text("coverage.csv")
    # The status partial polls until the worker is done, then shows the same result as inline.
    expect(page.get_by_test_id("import-result")).to_contain_text("匹配台帐单位 1 家", timeout=30_000)
    expect(page.get_by_test_id("import-status")).to_have_text("导入完成")
    assert EmployerRecord.objects.get(employer=employer).employer.insurance_coverage.get().insured_workers == 18
