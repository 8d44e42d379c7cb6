"""The 攻坚目标 page, readable at every level: the plans that bind the region, from which level,
with their phases, values and dates, and which targets are past due and missed."""

import datetime

import pytest
from django.urls import reverse

from ledger.models import EmployerRecord, ReportingPeriod
from portal.models import Region, Role
from targets import selectors, services
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


@pytest.fixture
def h1_2020():
    return ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                          ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))


@pytest.fixture
def h2_2019():
    return ReportingPeriod.objects.create(code="2019H2", year=2019, half=2, starts_on=datetime.date(2019, 7, 1),
                                          ends_on=datetime.date(2019, 12, 31), deadline=datetime.date(2020, 1, 15))


def record(period, county, declared):
    employer = make_employer(county=county, in_governance_scope=True)
    EmployerRecord.objects.create(employer=employer, period=period, province=employer.province, city=employer.city,
                                  county=employer.county, hazard_declared=declared, total_workers=10,
                                  declared_on=datetime.date(2019, 9, 1) if declared else None)


def test_rongchang_is_bound_by_its_own_plan_and_the_national_one_with_its_phases(client):
    client.force_login(make_user("500153", role=Role.VIEWER))
    response = client.get(reverse("targets:targets"))
    body = response.content.decode()
    plans = response.context["binding"]
    assert [p.campaign.document_number for p in plans] == ["国卫职健发〔2019〕46号", "荣卫发〔2019〕407号"]
    assert [p.level_label for p in plans] == ["全国", "县（市、区）"]
    assert "动员部署阶段" in body and "总结考评阶段" in body and "2020-09-30" in body


def test_a_county_viewer_reads_the_national_and_provincial_plans_above_it(client):
    client.force_login(make_user("210102", role=Role.VIEWER))
    plans = client.get(reverse("targets:targets")).context["binding"]
    assert [p.campaign.region.code for p in plans] == ["100000", "21"]


def test_a_target_past_due_and_missed_is_marked(client, h2_2019):
    for declared in (True, False, False):
        record(h2_2019, "500153", declared)
    services.rollup_recompute_full(period=h2_2019)
    plans = selectors.binding_plans(region=Region.objects.get(code="500153"), today=datetime.date(2020, 3, 1))
    rongchang = plans[1]
    declaration_2019 = next(r for r in rongchang.targets
                            if r.target.indicator == "declaration" and r.target.due_on.year == 2019)
    assert declaration_2019.past_due and declaration_2019.missed and declaration_2019.period == h2_2019
    assert declaration_2019.figure.shortfall == 2  # 80% of 3 = 2.4 -> 3 declared, 1 is
    later = next(r for r in rongchang.targets if r.target.indicator == "declaration" and r.target.due_on.year == 2020)
    assert not later.past_due and not later.missed
    client.force_login(make_user("500153", role=Role.VIEWER))
    assert "逾期未完成" in client.get(reverse("targets:targets")).content.decode()


def test_another_regions_plans_are_not_offered(client):
    client.force_login(make_user("500153", role=Role.VIEWER))
    response = client.get(reverse("targets:targets"), {"region": "21"})
    assert response.status_code == 200 and response.context["focus"].code == "500153"


def test_the_rongchang_dashboard_shows_its_stricter_september_deadline(client, h1_2020):
    record(h1_2020, "500153", True)
    services.rollup_recompute_full(period=h1_2020)
    client.force_login(make_user("500153", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"period": "2020H1"}).content.decode()
    assert "下一目标 95% · 2020-09-30前" in body  # earlier than the national 2020-12-31
