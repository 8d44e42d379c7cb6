import datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from ledger.models import EmployerRecord, ReportingPeriod
from portal.models import Role
from targets import services
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


@pytest.fixture
def period(period_2020h1):
    return period_2020h1


def add_record(period, county, declared, **fields):
    employer = make_employer(county=county, in_governance_scope=True, **fields)
    return EmployerRecord.objects.create(
        employer=employer, period=period, province=employer.province, city=employer.city, county=employer.county,
        township=employer.township, hazard_declared=declared,
        declared_on=datetime.date(2020, 3, 1) if declared else None, total_workers=10, insured_workers=5)


@pytest.fixture
def ledger(period):
    add_record(period, "371502", True)
    add_record(period, "371502", False)
    add_record(period, "371521", True)
    add_record(period, "370102", False)
    services.rollup_recompute_full(period=period)


def test_province_dashboard_lists_cities_with_rates(client, ledger):
    client.force_login(make_user("37", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"period": "2020H1"}).content.decode()
    assert 'data-testid="row-3715"' in body and 'data-testid="row-3701"' in body
    assert "66.7%" in body  # Liaocheng: 2 of 3 declared
    assert "数据截至" in body


def test_drill_down_to_a_county_shows_townships_and_links_to_missing_employers(client, ledger):
    client.force_login(make_user("37", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"region": "371502", "period": "2020H1"}).content.decode()
    assert "乡镇（街道）" in body
    assert "missing=declaration" in body and "region=371502" in body


def test_zero_denominator_shows_no_data(client, ledger):
    client.force_login(make_user("37", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"region": "3715", "period": "2020H1"}).content.decode()
    assert "无数据" in body  # health exams: nobody due


def test_a_region_outside_the_scope_reads_as_an_unknown_one(client, ledger):
    client.force_login(make_user("3715", role=Role.VIEWER))
    response = client.get(reverse("targets:dashboard"), {"region": "3701"})
    assert response.status_code == 200 and "济南" not in response.content.decode()
    assert [t.name for t in response.templates][0] == "targets/choose_region.html"


def test_the_dashboard_is_a_constant_number_of_queries(client, period, django_assert_max_num_queries):
    client.force_login(make_user("37", role=Role.VIEWER))
    add_record(period, "371502", True)
    services.rollup_recompute_full(period=period)
    with django_assert_max_num_queries(10):
        client.get(reverse("targets:dashboard"), {"period": "2020H1"})
    for county in ("370102", "370103", "370104", "370105", "370112", "370113", "371521", "371522"):
        add_record(period, county, False)
    services.rollup_recompute_full(period=period)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("targets:dashboard"), {"period": "2020H1"})
    assert response.status_code == 200


def export_rows(client, **params) -> tuple[list, dict]:
    sheet = inline_workbook(client, reverse("targets:dashboard-export") + "?" + urlencode(params)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[2], {row[0]: row for row in rows[3:]}


def test_export_of_the_table(client, ledger):
    client.force_login(make_user("37", role=Role.VIEWER))
    header, by_name = export_rows(client, region="3715", period="2020H1")
    declaration = header.index("粉尘危害申报率")
    assert header[declaration + 1:declaration + 5] == ["分子/分母", "目标", "目标期限", "还差（家）"]
    assert by_name["东昌府区"][declaration] == 50.0 and by_name["东昌府区"][declaration + 1] == "1/2"


def test_the_export_has_the_pages_shortfall_deadline_and_reported_figures(client, period):
    # Shandong follows the national plan: 95% by 2020-12-31, the next milestone of 2020H1.
    for declared in (True, True, False, False):
        add_record(period, "371502", declared)
    services.rollup_recompute_full(period=period)
    from portal.models import Region
    from targets.models import ReportedFigure

    ReportedFigure.objects.create(period=period, region=Region.objects.get(code="371502"), department="health",
                                  indicator="enforcement_training", numerator=18, denominator=20,
                                  status=ReportedFigure.Status.APPROVED, entered_by=make_user("371502"))
    client.force_login(make_user("37", role=Role.VIEWER))
    header, by_name = export_rows(client, region="3715", period="2020H1")
    county = by_name["东昌府区"]
    declaration = header.index("粉尘危害申报率")
    assert county[declaration:declaration + 5] == [
        50.0, "2/4", 95.0, datetime.datetime(2020, 12, 31), 2]  # the page's "还差 2 家"
    training = header.index("职业健康监管执法人员培训率")
    assert header[training + 4] == "还差（人）"
    assert county[training:training + 2] == [90.0, "18/20"]
    assert county[header.index("已报送县数")] == "0/1"  # the completeness badge


@pytest.mark.django_db(transaction=True)
def test_a_large_dashboard_export_is_written_by_the_worker_and_only_for_its_requester(
        worker_media, reference_data, client, ledger, settings):
    client.force_login(make_user("37", role=Role.VIEWER))
    url = reverse("targets:dashboard-export") + "?region=3715&period=2020H1"
    inline = inline_workbook(client, url)
    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
    background, token = export_in_background(client, url)
    assert sheet_values(background) == sheet_values(inline) and len(sheet_values(inline)[0]) > 4
    assert_only_the_requester_may_fetch(client, token, [make_user("37", role=Role.CLERK),
                                                        make_user("370102", role=Role.VIEWER)])


def test_the_api_lists_rollups_in_scope(client, ledger):
    client.force_login(make_user("3715", role=Role.VIEWER))
    data = client.get(reverse("rollup-list"), {"period__code": "2020H1", "level": 3}).json()
    codes = {row["region_code"] for row in data["results"]}
    assert codes == {"371502", "371521"}
    dcf = next(row for row in data["results"] if row["region_code"] == "371502")
    declaration = next(i for i in dcf["indicators"] if i["indicator"] == "declaration")
    assert (declaration["numerator"], declaration["denominator"], declaration["rate"]) == (1, 2, 50.0)
    exam = next(i for i in dcf["indicators"] if i["indicator"] == "health_exam")
    assert exam["rate"] is None


def test_zero_penalty_counties_appear_beside_the_dashboard(client):
    from inspections import services as inspection_services
    from tests.inspections.factories import fill_all, make_world

    world = make_world()
    fill_all(world.comprehensive, world.member, value_for={"4.5": "no"})
    inspection_services.inspection_submit(actor=world.member, inspection=world.comprehensive.inspection)
    client.force_login(make_user("22", role=Role.VIEWER))
    from django.utils import timezone

    year = timezone.localdate().year  # submitted just now
    body = client.get(reverse("targets:zero-penalty"), {"region": "22", "year": year}).content.decode()
    assert "南关区" in body
    body = client.get(reverse("targets:zero-penalty"), {"region": "22", "year": year - 1}).content.decode()
    assert "南关区" not in body and "未发现零处罚的县" in body
    client.force_login(make_user("2102", role=Role.VIEWER))
    assert client.get(reverse("targets:zero-penalty"), {"region": "22", "year": year}).status_code == 404


def test_the_national_dashboard_lists_the_provinces_and_its_total_is_the_national_row(client, period):
    add_record(period, "371502", True)
    add_record(period, "210102", False)
    add_record(period, "500153", True)
    services.rollup_recompute_full(period=period)
    client.force_login(make_user("100000", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"period": "2020H1"}).content.decode()
    assert all(f'data-testid="row-{code}"' in body for code in ("37", "21", "50"))
    assert "全国" in body and "66.7%" in body  # 2 of 3 declared nationwide


def submit(period, county_code, status="submitted"):
    from ledger.models import CountySubmission
    from portal.models import Region

    county = Region.objects.select_related("parent").get(code=county_code)
    CountySubmission.objects.create(period=period, county=county, city=county.parent, province=county.parent.parent,
                                    status=status)


def test_each_rate_says_how_many_more_must_comply_by_when(client, period):
    # Shandong has no plan of its own: the national 95% by 2020-12-31 is the next milestone.
    for declared in (True, True, False, False):
        add_record(period, "371502", declared)
    services.rollup_recompute_full(period=period)
    client.force_login(make_user("37", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"region": "3715", "period": "2020H1"}).content.decode()
    assert "50.0%" in body and "还差 2 家" in body  # ceil(95% of 4) = 4, 2 declared
    assert "2020-12-31前" in body and ("剩" in body or "已逾期" in body)


def test_the_shortfall_is_counted_in_people_for_worker_indicators():
    from targets.selectors import EffectiveTarget, make_cell

    target = EffectiveTarget(Decimal("95"), datetime.date(2020, 12, 31), "全国", True)
    cell = make_cell("health_exam", {"health_exam": [180, 200]}, target, datetime.date(2020, 12, 1))
    assert (cell.shortfall, cell.unit, cell.days_left, cell.status) == (10, "人", 30, "near")
    assert make_cell("health_exam", {"health_exam": [0, 0]}, target).shortfall is None  # no data
    assert make_cell("health_exam", {"health_exam": [195, 200]}, target).shortfall == 0


def test_the_completeness_badge_counts_the_counties_that_submitted(client, ledger, period):
    from portal.models import Region

    submit(period, "371502")
    submit(period, "371521", status="returned")  # returned: not submitted
    client.force_login(make_user("37", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"period": "2020H1"}).content.decode()
    liaocheng = Region.objects.filter(parent__code="3715").count()
    assert f"已报送 1/{liaocheng} 县" in body
    assert 'data-testid="completeness-3701"' in body and "已报送 0/" in body


def test_the_dashboard_opens_on_the_latest_period_with_submitted_data(client, ledger, period):
    ReportingPeriod.objects.create(code="2020H2", year=2020, half=2, starts_on=datetime.date(2020, 7, 1),
                                   ends_on=datetime.date(2020, 12, 31), deadline=datetime.date(2021, 1, 15))
    submit(period, "371502")
    client.force_login(make_user("37", role=Role.VIEWER))
    response = client.get(reverse("targets:dashboard"))
    assert response.context["period"].code == "2020H1"  # 2020H2 is open but nobody has submitted it


def test_the_trend_is_placed_on_real_dates(client, ledger):
    client.force_login(make_user("37", role=Role.VIEWER))
    response = client.get(reverse("targets:dashboard"), {"period": "2020H1"})
    assert [t["date"] for t in response.context["trend_json"]] == ["2020-06-30"]


def test_warning_signs_are_counted_by_posts_and_old_records_are_labelled(client, period):
    by_posts = add_record(period, "210102", True, name="按岗位填报的单位")
    EmployerRecord.objects.filter(pk=by_posts.pk).update(serious_hazard_posts=4, posts_with_warning_signs=1)
    kept = add_record(period, "210102", True, name="旧记录单位")  # kept before the posts: no signs answered
    services.rollup_recompute_full(period=period)
    client.force_login(make_user("21", role=Role.VIEWER))

    body = client.get(reverse("targets:dashboard"), {"region": "2101", "period": "2020H1"}).content.decode()
    row = body[body.index('data-testid="row-210102"'):]
    cell = row[row.index('data-indicator="warning_signs"'):]
    cell = cell[:cell.index("</td>")]
    assert "20.0%" in cell and "1/5" in cell  # 1 signed post of 4, and the old employer as 1 unsigned post
    assert "含 1 家按单位计（旧口径）" in cell
    assert "还差 3 个岗位" in cell  # Liaoning's 80% by end-2019: 4 of 5 posts, 1 signed

    data = client.get(reverse("rollup-list"), {"period__code": "2020H1", "region__code": "210102"}).json()
    signs = next(i for i in data["results"][0]["indicators"] if i["indicator"] == "warning_signs")
    assert (signs["numerator"], signs["denominator"], signs["unit"], signs["counted_by_employer"]) == (1, 5, "个岗位", 1)
    declaration = next(i for i in data["results"][0]["indicators"] if i["indicator"] == "declaration")
    assert declaration["counted_by_employer"] is None

    client.force_login(make_user("210102", role=Role.VIEWER))
    listing = client.get(reverse("ledger:employers"), {"missing": "warning_signs", "period": "2020H1"})
    rows = {e.name: e.counted_old_way for e in listing.context["page"]}
    assert rows == {"按岗位填报的单位": False, "旧记录单位": True}  # both fall short; only the old one is labelled
    assert listing.content.decode().count('data-testid="old-way"') == 1
    assert kept.serious_hazard_posts is None


def test_the_export_labels_figures_that_include_old_records(client, period):
    add_record(period, "371502", True)
    services.rollup_recompute_full(period=period)
    client.force_login(make_user("37", role=Role.VIEWER))
    header, by_name = export_rows(client, region="3715", period="2020H1")
    signs = header.index("警示标识设置率")
    assert header[signs + 4] == "还差（个岗位）"
    assert by_name["东昌府区"][signs + 1] == "0/1（含 1 家按单位计，旧口径）"
