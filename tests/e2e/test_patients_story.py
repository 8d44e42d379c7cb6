"""The patients story (保障存量): a county clerk files a patient whose employer is closed and sees
category (c); records a follow-up; the township reaches 100 living patients and the rehab page
asks for a station; the county's civil-affairs clerk records basic-living support and sees no
other county's patients; the provincial dashboard's filing rate moves through the Celery worker."""

import datetime
import random

import pytest
from playwright.sync_api import expect

from ledger import services as ledger_services
from ledger.models import EmployerRecord, ReportingPeriod
from patients.identity import generated_id_number
from patients.models import Patient
from portal.models import Department, Region, Role
from targets import services as target_services
from tests.e2e.conftest import login, logout
from tests.e2e.steps import reload_until_shown
from tests.factories import PASSWORD, make_user
from tests.ledger.factories import make_employer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
COUNTY, SIBLING = "371502", "371521"


def bulk_patients(county_code: str, township: Region | None, count: int, *, category: str = "b", rng=None):
    rng = rng or random.Random(county_code)
    county = Region.objects.select_related("parent").get(code=county_code)
    rows = []
    for index in range(count):
        birth = datetime.date(1950 + index % 20, 1 + index % 12, 1 + index % 27)
        patient = Patient(
            name=f"患者{county_code[-2:]}{index:03d}", sex="M", birth_date=birth,
            id_number=generated_id_number(rng, county_code=county_code, birth=birth, male=True),
            village="王庄", employer_name="某石料厂", employer_gone=category == "c", diagnosis_kind="occupational",
            disease="silicosis", stage=1, diagnosed_on=datetime.date(2015, 1, 1), relief_category=category,
            next_followup_due=datetime.date(2016, 1, 1))
        patient.set_region(county, township)
        rows.append(patient)
    Patient.objects.bulk_create(rows)


@pytest.fixture
def story(reference_data):
    period = ReportingPeriod.objects.create(code="2020H2", year=2020, half=2, starts_on=datetime.date(2020, 7, 1),
                                            ends_on=datetime.date(2020, 12, 31), deadline=datetime.date(2030, 1, 15))
    clerk = make_user(COUNTY, role=Role.CLERK, username="county_clerk", display_name="李娜")
    closed = make_employer(county=COUNTY, name="东昌府鑫达石料厂", industry="1011", status="closed",
                           in_governance_scope=True)
    open_one = make_employer(county=COUNTY, name="东昌府恒泰水泥有限公司", in_governance_scope=True)
    ledger_services.period_open_county(actor=clerk, period=period, county=Region.objects.get(code=COUNTY))
    EmployerRecord.objects.filter(employer=open_one, period=period).update(pneumoconiosis_cases=200)
    township = Region.objects.filter(parent__code=COUNTY).order_by("code").first()
    bulk_patients(COUNTY, township, 99)
    bulk_patients(SIBLING, None, 1, category="c")
    target_services.rollup_recompute_full(period=period)
    make_user((COUNTY, Department.CIVIL_AFFAIRS, Role.CLERK), username="county_civil", display_name="周强")
    make_user("37", role=Role.VIEWER, username="province_viewer")
    return {"period": period, "closed": closed, "township": township}


def test_a_patient_from_filing_to_the_provincial_dashboard(page, story, celery_worker_process):
    login(page, "province_viewer", PASSWORD)
    page.goto("/dashboard/?region=37&period=2020H2")
    filing = page.get_by_test_id("row-3715").locator("td[data-indicator=patient_filing]")
    expect(filing).to_contain_text("50.0%")  # 100 files (99 here, 1 in the sibling county) of 200 cases
    logout(page)

    login(page, "county_clerk", PASSWORD)
    page.get_by_role("link", name="尘肺病患者").first.click()
    page.get_by_test_id("patient-create").click()
    page.fill("#id_name", "王建国")
    page.fill("#id_id_number", generated_id_number(random.Random(1), county_code=COUNTY,
                                                   birth=datetime.date(1958, 3, 9), male=True))
    page.select_option("#id_county", value=str(Region.objects.get(code=COUNTY).pk))
    page.select_option("#id_township", value=str(story["township"].pk))
    page.fill("#id_village", "王庄")
    page.fill("#id_employer_uscc", story["closed"].uscc)
    page.select_option("#id_diagnosis_kind", "occupational")
    page.select_option("#id_disease", "silicosis")
    page.select_option("#id_stage", "2")
    page.fill("#id_diagnosed_on", "2016-05-20")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("relief-category")).to_contain_text("（三）")
    expect(page.get_by_test_id("relief-category")).to_contain_text("用人单位已不存在")
    expect(page.get_by_test_id("employer")).to_contain_text("东昌府鑫达石料厂")

    page.get_by_test_id("followup-create").click()
    page.fill("#id_followed_on", datetime.date.today().isoformat())
    page.select_option("#id_way", "home")
    page.select_option("#id_health_status", "stable")
    page.select_option("#id_oxygen_use", "occasional")
    page.check("#id_rehab_received")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("followups")).to_contain_text("入户随访")

    page.goto("/patients/rehab/")
    needs = page.get_by_test_id("township-needs")
    expect(needs).to_contain_text(story["township"].name)
    expect(needs).to_contain_text("100")
    expect(needs.get_by_test_id("station-missing")).to_be_visible()
    logout(page)

    login(page, "county_civil", PASSWORD)
    page.get_by_role("link", name="救治救助").first.click()
    table = page.get_by_test_id("relief-table")
    expect(table).to_contain_text("王建国")
    expect(table).not_to_contain_text("患者21000")  # the sibling county's category (c) patient
    expect(table).not_to_contain_text("患者02000")  # this county's category (b) patients
    table.get_by_role("link", name="王建国").click()
    page.select_option("#id_kind", "basic_living")
    page.fill("#id_acted_on", datetime.date.today().isoformat())
    page.fill("#id_reference", "东民救〔2026〕12号")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("relief-actions")).to_contain_text("纳入基本生活救助")
    logout(page)

    login(page, "province_viewer", PASSWORD)
    reload_until_shown(page, "/dashboard/?region=37&period=2020H2", filing, "50.5%")
