import datetime

import pytest
from django.urls import reverse

from ledger import services
from ledger.models import (
    CountySubmission,
    DustType,
    Employer,
    EmployerRecord,
    Industry,
    ReportingPeriod,
    SubmissionStatus,
    Worker,
)
from portal.models import Department, Region, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def employers():
    return [
        make_employer(county="371502", name="东昌府甲水泥厂"),
        make_employer(county="371502", name="东昌府乙石材厂", in_governance_scope=True),
        make_employer(county="371521", name="阳谷丙铸造厂"),
        make_employer(county="370102", name="历下丁石料厂"),
    ]


def listed_names(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("ledger:employers"), params)
    assert response.status_code == 200
    body = response.content.decode()
    return {name for name in ("东昌府甲水泥厂", "东昌府乙石材厂", "阳谷丙铸造厂", "历下丁石料厂") if name in body}


def test_county_clerk_lists_only_their_county(client, employers):
    assert listed_names(client, make_user("371502")) == {"东昌府甲水泥厂", "东昌府乙石材厂"}


def test_city_and_province_users_browse_their_subtrees(client, employers):
    assert listed_names(client, make_user("3715", role=Role.VIEWER)) == {"东昌府甲水泥厂", "东昌府乙石材厂", "阳谷丙铸造厂"}
    assert len(listed_names(client, make_user("37", role=Role.VIEWER))) == 4


def test_drill_down_by_region(client, employers):
    names = listed_names(client, make_user("37", role=Role.VIEWER), region="371521")
    assert names == {"阳谷丙铸造厂"}


def test_drill_down_outside_the_scope_reads_as_an_unknown_region(client, employers):
    assert listed_names(client, make_user("371502"), region="371521") == {"东昌府甲水泥厂", "东昌府乙石材厂"}


def test_hrss_users_read_the_ledger(client, employers):
    hrss = make_user("371502", department=Department.HRSS, role=Role.VIEWER)
    assert listed_names(client, hrss) == {"东昌府甲水泥厂", "东昌府乙石材厂"}


def test_search_by_name_and_uscc(client, employers):
    clerk = make_user("371502")
    assert listed_names(client, clerk, q="乙石材") == {"东昌府乙石材厂"}
    assert listed_names(client, clerk, q=employers[0].uscc) == {"东昌府甲水泥厂"}


def test_filter_in_scope(client, employers):
    assert listed_names(client, make_user("371502"), in_scope="1") == {"东昌府乙石材厂"}


def test_filter_missing_indicator(client, employers, clerk, open_submission):
    declared = EmployerRecord.objects.get(employer=employers[0], period=open_submission.period)
    services.record_update(actor=clerk, record=declared, expected_version=declared.version,
                           data={"hazard_declared": True, "declared_on": datetime.date(2020, 3, 1)})
    names = listed_names(client, clerk, missing="declaration", period="2020H1")
    assert names == {"东昌府乙石材厂"}
    body = client.get(reverse("ledger:employers"), {"missing": "declaration", "period": "2020H1"}).content.decode()
    assert "与指标看板“粉尘危害申报率”的口径一致：只统计纳入治理范围的重点行业用人单位，不含已关闭的单位。" in body
    assert 'data-testid="missing-note"' not in client.get(reverse("ledger:employers")).content.decode()


def test_the_list_is_a_constant_number_of_queries(client, django_assert_max_num_queries):
    clerk = make_user("37", role=Role.VIEWER)
    client.force_login(clerk)
    for i in range(5):
        make_employer(county="371502", name=f"单位{i}")
    with django_assert_max_num_queries(10):
        client.get(reverse("ledger:employers"))
    for i in range(60):
        make_employer(county="371521", name=f"多单位{i}")
    with django_assert_max_num_queries(10):
        client.get(reverse("ledger:employers"))


def post_new_employer(client, uscc: str, **extra):
    """A 东昌府区 clerk posts the new-employer form for 新单位 with this code."""
    client.force_login(make_user("371502"))
    county = Region.objects.get(code="371502")
    return client.post(reverse("ledger:employer-create"), {
        "uscc": uscc, "name": "新单位", "county": county.pk, "workplace_address": "工业园1号",
        "industry": "3011", "size": "small", "ownership": "private", "legal_representative": "张三",
        "status": "operating", **extra})


def test_create_with_a_bad_uscc_shows_the_chinese_message(client):
    response = post_new_employer(client, "91370102000000019A")
    assert response.status_code == 200
    assert "统一社会信用代码校验位错误" in response.content.decode()


def test_create_through_the_form(client):
    response = post_new_employer(client, "91370102000000019K", in_governance_scope="on")
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "新单位" in detail and "水泥制造" in detail


def test_a_county_clerk_does_not_pick_their_only_county(client):
    client.force_login(make_user("371502"))
    page = client.get(reverse("ledger:employer-create")).content.decode()
    select = page[page.index('<select name="county"'):page.index("</select>", page.index('<select name="county"'))]
    assert "disabled" in select and "东昌府区" in select and "---------" not in select
    # Nothing to send for the county: it is the clerk's own.
    response = client.post(reverse("ledger:employer-create"), {
        "uscc": "91370102000000019K", "name": "单县单位", "workplace_address": "工业园2号",
        "industry": "3011", "size": "small", "ownership": "private", "legal_representative": "张三",
        "status": "operating", "in_governance_scope": "on"})
    assert response.status_code == 302
    assert Employer.objects.get(name="单县单位").county.code == "371502"
    # A city clerk still chooses among the city's counties.
    client.force_login(make_user("3715", username="lc_clerk"))
    page = client.get(reverse("ledger:employer-create")).content.decode()
    select = page[page.index('<select name="county"'):page.index("</select>", page.index('<select name="county"'))]
    assert "disabled" not in select


def test_unknown_industry_code_is_refused(client):
    client.force_login(make_user("371502"))
    response = client.post(reverse("ledger:employer-create"), {"industry": "9999", "name": "x"})
    assert "行业代码不存在" in response.content.decode()


def record_post(record, **changes):
    from django.forms.models import model_to_dict

    from ledger.models import RECORD_FIELDS

    data = {k: ("" if v is None else v) for k, v in model_to_dict(record, fields=RECORD_FIELDS).items()}
    data = {k: v for k, v in data.items() if v is not False}
    return {**data, "version": record.version, "dust-TOTAL_FORMS": 0, "dust-INITIAL_FORMS": 0, **changes}


def test_a_stale_record_save_shows_the_conflict(client, clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    services.record_update(actor=make_user("371502"), record=record, data={"total_workers": 30}, expected_version=1)
    client.force_login(clerk)
    response = client.post(reverse("ledger:record-edit", args=[record.pk]),
                           record_post(record, version=1, total_workers=40))
    body = response.content.decode()
    assert "已被他人修改" in body and "职工总人数" in body and "30" in body
    record.refresh_from_db()
    assert record.total_workers == 30


def test_editing_a_submitted_period_is_refused(client, clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    services.submission_submit(actor=clerk, submission=open_submission)
    client.force_login(clerk)
    response = client.post(reverse("ledger:record-edit", args=[record.pk]), record_post(record, total_workers=40))
    assert "数据已锁定" in response.content.decode()
    record.refresh_from_db()
    assert record.total_workers == 0


def test_the_employer_page_offers_filling_only_for_records_whose_ledger_is_open(client, clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    url = reverse("ledger:employer-detail", args=[employer.pk])
    client.force_login(clerk)
    body = client.get(url).content.decode()
    assert reverse("ledger:record-edit", args=[record.pk]) in body and "填报中" in body
    services.submission_submit(actor=clerk, submission=open_submission)
    body = client.get(url).content.decode()
    assert reverse("ledger:record-edit", args=[record.pk]) not in body  # the form would only refuse the save
    assert "已锁定" in body and "已报送" in body


def test_a_moved_employers_record_shows_the_ledger_of_the_county_it_was_counted_in(client, clerk, open_submission):
    """Its record of a submitted period stays in the old county's ledger: that ledger's status and lock apply."""
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    services.submission_submit(actor=clerk, submission=open_submission)
    sibling = Region.objects.get(code="371521")
    Employer.objects.filter(pk=employer.pk).update(county=sibling)
    services.period_open_county(actor=make_user("371521"), period=open_submission.period, county=sibling)
    client.force_login(make_user("3715"))
    body = client.get(reverse("ledger:employer-detail", args=[employer.pk])).content.decode()
    assert reverse("ledger:record-edit", args=[record.pk]) not in body and "已报送" in body


def test_worker_ids_are_masked_for_hrss_viewers_and_shown_to_clerks(client, clerk):
    employer = make_employer(county="371502")
    Worker.objects.create(employer=employer, name="赵六", id_number="370102199001011234", post="破碎工",
                          dust_type=DustType.objects.get(name="矽尘"))
    client.force_login(make_user("371502", department=Department.HRSS, role=Role.VIEWER))
    body = client.get(reverse("ledger:employer-detail", args=[employer.pk])).content.decode()
    assert "370102********1234" in body and "370102199001011234" not in body
    client.force_login(clerk)
    assert "370102199001011234" in client.get(reverse("ledger:employer-detail", args=[employer.pk])).content.decode()


def test_the_employer_page_shows_the_change_history(client, clerk):
    employer = services.employer_create(actor=clerk, data={
        "uscc": "91370102000000019K", "name": "旧名称", "county": Region.objects.get(code="371502"),
        "workplace_address": "工业园1号", "industry": Industry.objects.get(code="3011"),
        "size": "small", "ownership": "private", "legal_representative": "张三", "status": "operating"})
    services.employer_update(actor=clerk, employer=employer, data={"name": "新名称"}, expected_version=1)
    client.force_login(make_user("3715", role=Role.VIEWER))
    body = client.get(reverse("ledger:employer-detail", args=[employer.pk])).content.decode()
    assert "旧名称 → 新名称" in body and "李娜" in body


def test_the_submission_flow_through_the_pages(client, clerk, city_reviewer, province_reviewer, period_2020h1):
    client.force_login(clerk)
    client.post(reverse("ledger:period-open"), {"period": "2020H1", "county": "371502"})
    submission = CountySubmission.objects.get(period=period_2020h1, county__code="371502")
    client.post(reverse("ledger:submission-submit", args=[submission.pk]))
    client.force_login(city_reviewer)
    response = client.post(reverse("ledger:submission-return", args=[submission.pk]), {"reason": ""}, follow=True)
    assert "请填写退回原因" in response.content.decode()
    client.post(reverse("ledger:submission-return", args=[submission.pk]), {"reason": "数据不全"})
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.RETURNED
    client.force_login(clerk)
    assert "数据不全" in client.get(reverse("ledger:periods"), {"period": "2020H1"}).content.decode()
    client.post(reverse("ledger:submission-submit", args=[submission.pk]))
    client.force_login(city_reviewer)
    client.post(reverse("ledger:submission-approve", args=[submission.pk]))
    client.force_login(province_reviewer)
    client.post(reverse("ledger:submission-accept", args=[submission.pk]))
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED


def test_reviewers_are_offered_only_the_actions_their_level_may_take(client, clerk, city_reviewer, province_reviewer,
                                                                     period_2020h1):
    client.force_login(clerk)
    client.post(reverse("ledger:period-open"), {"period": "2020H1", "county": "371502"})
    submission = CountySubmission.objects.get(period=period_2020h1, county__code="371502")
    client.post(reverse("ledger:submission-submit", args=[submission.pk]))

    def buttons(user):
        client.force_login(user)
        page = client.get(reverse("ledger:periods"), {"period": "2020H1"}).content.decode()
        return {name for name in ("approve", "accept", "return") if f'data-testid="{name}-371502"' in page}

    assert buttons(city_reviewer) == {"approve", "return"}
    assert buttons(province_reviewer) == {"approve", "return"}  # the services let a province act for the city
    client.force_login(city_reviewer)
    client.post(reverse("ledger:submission-approve", args=[submission.pk]))
    # Approved: only the province may accept or return it now; the city sees the row without buttons.
    assert buttons(city_reviewer) == set()
    assert buttons(province_reviewer) == {"accept", "return"}


def submit_dongchangfu(clerk, period, submitted_at: datetime.datetime) -> None:
    """东昌府区's ledger for the period, submitted by the clerk and dated `submitted_at`."""
    county = Region.objects.get(code="371502")
    submission = services.period_open_county(actor=clerk, period=period, county=county)
    services.submission_submit(actor=clerk, submission=submission)
    CountySubmission.objects.filter(pk=submission.pk).update(submitted_at=submitted_at)


def test_completeness_states(client, clerk, period_2020h1):
    submit_dongchangfu(clerk, period_2020h1, datetime.datetime(2020, 7, 20, 10, tzinfo=datetime.UTC))
    client.force_login(make_user("3715", role=Role.VIEWER))
    body = client.get(reverse("ledger:completeness"), {"period": "2020H1"}).content.decode()
    assert 'data-testid="state-371502">逾期报送' in body
    assert 'data-testid="state-371521">逾期未报' in body


def test_a_city_deadline_applies_to_its_counties(client, clerk, city_reviewer, period_2020h1):
    submit_dongchangfu(clerk, period_2020h1, datetime.datetime(2020, 7, 12, 10, tzinfo=datetime.UTC))
    client.force_login(make_user("3715", role=Role.VIEWER))
    assert 'data-testid="state-371502">按时报送' in client.get(
        reverse("ledger:completeness"), {"period": "2020H1"}).content.decode()
    services.period_deadline_set(actor=city_reviewer, period=period_2020h1, region=Region.objects.get(code="3715"),
                                 deadline=datetime.date(2020, 7, 10))
    body = client.get(reverse("ledger:completeness"), {"period": "2020H1"}).content.decode()
    assert 'data-testid="state-371502">逾期报送' in body and "2020-07-10" in body


def test_a_county_cannot_set_a_deadline(clerk, period_2020h1):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.period_deadline_set(actor=make_user("371502", role=Role.REVIEWER), period=period_2020h1,
                                     region=Region.objects.get(code="3715"), deadline=datetime.date(2020, 7, 10))


def test_a_city_reviewer_sets_the_deadline_on_the_page(client, city_reviewer, period_2020h1):
    client.force_login(city_reviewer)
    response = client.post(reverse("ledger:period-deadline"), {
        "period": "2020H1", "region": "3715", "deadline": "2020-07-08"}, follow=True)
    assert "已为聊城市下辖县设定报送截止日期 2020-07-08" in response.content.decode()
    response = client.post(reverse("ledger:period-deadline"), {
        "period": "2020H1", "region": "3715", "deadline": "not-a-date"}, follow=True)
    assert "请填写有效的截止日期" in response.content.decode()


def test_a_submission_outside_the_users_scope_is_not_found(client, clerk, period_2020h1):
    """One view per action; each answers a submission the user may not see as one that does not exist."""
    client.force_login(clerk)
    client.post(reverse("ledger:period-open"), {"period": "2020H1", "county": "371502"})
    submission = CountySubmission.objects.get(period=period_2020h1, county__code="371502")
    client.force_login(make_user("371521", role=Role.CLERK))  # a sibling county's clerk
    for name in ("submit", "return", "approve", "accept"):
        assert client.post(reverse(f"ledger:submission-{name}", args=[submission.pk])).status_code == 404, name
        assert client.post(reverse(f"ledger:submission-{name}", args=[999999])).status_code == 404, name
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.DRAFT


def test_a_provincial_admin_sets_up_a_period_on_the_page_and_a_refusal_is_said(client):
    client.force_login(make_user("37", role=Role.ADMIN))
    response = client.post(reverse("ledger:period-create"), {"year": "2031", "half": "1", "deadline": "2031-07-15"},
                           follow=True)
    assert "已设立填报期 2031年上半年。" in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("?period=2031H1")
    again = client.post(reverse("ledger:period-create"), {"year": "2031", "half": "1", "deadline": "2031-07-15"},
                        follow=True)
    assert "填报期 2031H1 已存在。" in again.content.decode() and again.redirect_chain[-1][0] == reverse("ledger:periods")
    client.force_login(make_user("371502", role=Role.ADMIN))
    refused = client.post(reverse("ledger:period-create"), {"year": "2032", "half": "1", "deadline": "2032-07-15"},
                          follow=True)
    assert "只有省级卫生健康管理员可以设立填报期。" in refused.content.decode()
    assert not ReportingPeriod.objects.filter(code="2032H1").exists()
