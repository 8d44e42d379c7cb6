"""Patient figures in the rollup: as of the period's end, summed up the tree, equal whether
recomputed in full or for the dirty counties only, and shown and drillable on the dashboard."""

import datetime
import re

import pytest
from django.urls import reverse

from patients import services
from portal.models import Department, Region, Role
from targets import rollups
from targets import services as target_services
from targets.indicators import CATALOGUE_BY_CODE
from targets.models import RegionRollup
from tests.factories import make_user
from tests.patients.conftest import COUNTY, SIBLING, patient_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def period(period_2020h2):
    return period_2020h2


def figures(period, code):
    return RegionRollup.objects.get(period=period, region__code=code).figures


def test_patient_figures_as_of_the_period_end(clerk, sibling_clerk, period):
    civil = make_user((COUNTY, Department.CIVIL_AFFAIRS, Role.CLERK))
    followed = services.patient_create(actor=clerk, data=patient_data(employer_gone=True,
                                                                      rehab_filed_on=datetime.date(2020, 3, 1)))
    services.followup_record(actor=clerk, patient=followed, data={
        "followed_on": datetime.date(2020, 6, 1), "way": "home", "health_status": "stable"})
    services.relief_record(actor=civil, patient=followed, department=Department.CIVIL_AFFAIRS,
                           data={"kind": "basic_living", "acted_on": datetime.date(2020, 6, 1)})
    not_followed = services.patient_create(actor=clerk, data=patient_data(name="乙"))
    services.followup_record(actor=clerk, patient=not_followed, data={  # too early for this cycle
        "followed_on": datetime.date(2019, 11, 30), "way": "phone", "health_status": "stable"})
    services.patient_create(actor=clerk, data=patient_data(name="丙", status="died", died_on=datetime.date(2020, 5, 1),
                                                            death_cause="呼吸衰竭"))
    services.patient_create(actor=clerk, data=patient_data(name="丁", diagnosed_on=datetime.date(2020, 10, 1)))
    services.patient_create(actor=clerk, data=patient_data(name="戊", diagnosed_on=datetime.date(2021, 2, 1)))
    services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, name="己"))
    target_services.rollup_recompute_full(period=period)

    county = figures(period, COUNTY)
    assert county["patient_filed"] == [4, 0]  # 戊 was diagnosed after the period
    assert county["patient_followup"] == [1, 2]  # 丙 died, 丁 not yet due
    assert county["rehab_archive"] == [1, 3]
    assert county["patient_relief"] == [1, 3]
    assert county["patient_filing"] == [4, 0]  # no ledger records: the denominator is 0, "无数据"
    assert figures(period, "3715")["patient_filed"] == [5, 0]
    assert figures(period, "37")["patient_followup"] == [1, 3]


def test_station_coverage_counts_townships_reaching_the_threshold(clerk, period, monkeypatch):
    monkeypatch.setattr("targets.indicators.STATION_THRESHOLD", 2)
    monkeypatch.setattr(rollups, "FULL", rollups._step(
        agg_source=rollups._with_patients(counties=False), keep="region_id IS NOT NULL AND level IS NOT NULL",
        stale="TRUE"))
    for name in ("甲", "乙"):
        patient = services.patient_create(actor=clerk, data=patient_data(name=name))
    target_services.rollup_recompute_full(period=period)
    assert figures(period, COUNTY)["rehab_station_coverage"] == [0, 1]
    services.rehab_site_save(actor=clerk, data={
        "kind": "station", "name": "康复站", "county": patient.county, "township": patient.township,
        "village": "", "host_institution": "卫生院", "rooms": ["oxygen"], "equipment": ["ecg"],
        "drugs_stocked": True, "opened_on": datetime.date(2020, 9, 1), "patients_served": 2})
    target_services.rollup_recompute_full(period=period)
    assert figures(period, COUNTY)["rehab_station_coverage"] == [1, 1]


def test_the_count_target_of_stations_takes_its_figure_from_the_stations_recorded(client, period):
    """Rongchang's plan: 至少完成1个康复站建设 by 2020-09-30. The patients app supplies the count
    (targets.indicators.register_supplier): no rollup, no reported figure."""
    from targets.indicators import SUPPLIERS, Source
    from targets.selectors import binding_plans

    assert CATALOGUE_BY_CODE["rehab_stations"].source == Source.APP and "rehab_stations" in SUPPLIERS
    rongchang = Region.objects.get(code="500153")
    township = Region.objects.filter(parent=rongchang).order_by("code").first()
    client.force_login(make_user("50", role=Role.VIEWER))

    def cell(region_code):
        body = client.get(reverse("targets:dashboard"), {"region": region_code, "period": period.code})
        return re.search(r'data-indicator="rehab_stations" data-status="(\w+)">\s*(<span[^>]*>[^<]*</span>)',
                         body.content.decode(), re.S).groups()

    assert cell("500153") == ("behind", '<span class="fw-semibold">0 个</span>')
    services.rehab_site_save(actor=make_user("500153"), data={
        "kind": "station", "name": "昌元街道尘肺病康复站", "county": rongchang, "township": township, "village": "",
        "host_institution": "社区卫生服务中心", "rooms": ["oxygen"], "equipment": ["ecg"], "drugs_stocked": True,
        "opened_on": datetime.date(2020, 9, 1), "patients_served": 30})
    assert cell("500153") == ("met", '<span class="fw-semibold">1 个</span>')
    assert "1 个" in cell("50")[1]  # Chongqing sums its subtree
    target_services.rollup_recompute_full(period=period)  # the targets page reads the periods with a rollup row
    target = next(t for plan in binding_plans(region=rongchang, today=datetime.date(2021, 3, 1))
                  for t in plan.targets if t.target.indicator == "rehab_stations")
    assert (target.figure.numerator, target.figure.status, target.missed) == (1, "met", False)


def test_incremental_equals_full_after_a_patient_change(clerk, sibling_clerk, period):
    services.patient_create(actor=clerk, data=patient_data())
    services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, name="己"))
    target_services.rollup_recompute_full(period=period)
    patient = services.patient_create(actor=clerk, data=patient_data(name="新", rehab_filed_on=datetime.date(2020, 1, 1)))
    services.followup_record(actor=clerk, patient=patient, data={
        "followed_on": datetime.date(2020, 12, 1), "way": "home", "health_status": "stable"})
    target_services.rollup_recompute_dirty()
    incremental = {r.region_id: r.figures for r in RegionRollup.objects.filter(period=period)}
    target_services.rollup_recompute_full(period=period)
    full = {r.region_id: r.figures for r in RegionRollup.objects.filter(period=period)}
    assert incremental == full
    assert full[Region.objects.get(code=COUNTY).pk]["rehab_archive"] == [1, 2]


def test_the_dashboard_shows_the_patient_indicators_and_drills_to_patients(client, clerk, period):
    services.patient_create(actor=clerk, data=patient_data(name="甲"))
    target_services.rollup_recompute_full(period=period)
    client.force_login(make_user("37", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard") + f"?region=3715&period={period.code}").content.decode()
    assert "患者随访率（周期内）" in body and "missing=followup" in body
    client.force_login(clerk)
    body = client.get(reverse("patients:list") + f"?region={COUNTY}&missing=rehab_archive").content.decode()
    assert "甲" in body and "尚未建立肺康复档案" in body


