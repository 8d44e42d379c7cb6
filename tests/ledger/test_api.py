"""The ledger's DRF endpoints: scoping, masking, the services' Chinese errors, the approval flow
through HTTP, constant query counts and a clean OpenAPI schema."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from stdnum.cn import ric

from ledger import services
from ledger.demo import demo_uscc
from ledger.models import CountySubmission, DustType, Employer, EmployerRecord, SubmissionStatus, Worker
from ledger.validation import mask_id_number
from portal.models import Department, Region, Role
from tests.factories import assert_foreign_reads_as_missing, make_user, signed_in
from tests.ledger.factories import make_employer, make_record

pytestmark = pytest.mark.django_db

API = "/api/ledger"


def valid_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


ID_NUMBER = valid_id("37010219850612001")


def employer_payload(**overrides) -> dict:
    payload = {
        "uscc": demo_uscc("371502", 4242), "name": "东昌府区鑫达水泥有限公司", "county": "371502",
        "township": "371502001", "workplace_address": "东昌府区工业园区1号", "industry": "3011", "size": "small",
        "ownership": "private", "business_scope": "水泥制造", "legal_representative": "张三",
        "legal_representative_phone": "0635-8888888", "status": "operating", "in_governance_scope": True,
    }
    payload.update(overrides)
    return payload


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


@pytest.fixture
def spread():
    """One employer in each of: the clerk's county, a sibling county, another city of the
    province, another province."""
    return {
        "371502": make_employer(county="371502", name="东昌府水泥厂"),
        "371521": make_employer(county="371521", name="阳谷石材厂"),
        "370102": make_employer(county="370102", name="历下铸造厂"),
        "210102": make_employer(county="210102", name="沈阳和平陶瓷厂"),
    }


# ---- Scoping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("membership, expected", [
    (("371502", Department.HEALTH, Role.CLERK), {"东昌府水泥厂"}),
    (("3715", Department.HEALTH, Role.VIEWER), {"东昌府水泥厂", "阳谷石材厂"}),
    (("37", Department.HEALTH, Role.REVIEWER), {"东昌府水泥厂", "阳谷石材厂", "历下铸造厂"}),
    (("3715", Department.EMERGENCY, Role.VIEWER), {"东昌府水泥厂", "阳谷石材厂"}),
])
def test_the_list_is_cut_to_the_users_regions(spread, membership, expected):
    assert names(signed_in(make_user(membership), api=True).get(f"{API}/employers/")) == expected


def test_a_sibling_countys_employer_is_not_found(spread):
    client = signed_in(make_user("371502", role=Role.CLERK), api=True)
    assert client.get(f"{API}/employers/{spread['371502'].pk}/").status_code == 200
    assert client.get(f"{API}/employers/{spread['371521'].pk}/").status_code == 404
    response = client.patch(f"{API}/employers/{spread['371521'].pk}/", {"name": "改名", "version": 1}, format="json")
    assert response.status_code == 404


def test_a_user_without_any_membership_is_refused(spread):
    assert signed_in(make_user(), api=True).get(f"{API}/employers/").status_code == 403


def test_an_anonymous_request_is_refused_with_401_asking_to_log_in(spread):
    answer = APIClient().get(f"{API}/employers/")
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Session")


def test_filters_search_and_ordering(spread):
    client = signed_in(make_user("37", role=Role.VIEWER), api=True)
    make_employer(county="371502", township="371502001", name="古楼街道石料厂", industry="1011",
                  in_governance_scope=True)
    assert names(client.get(f"{API}/employers/", {"county": "371521"})) == {"阳谷石材厂"}
    assert names(client.get(f"{API}/employers/", {"city": "3701"})) == {"历下铸造厂"}
    assert names(client.get(f"{API}/employers/", {"township": "371502001"})) == {"古楼街道石料厂"}
    assert names(client.get(f"{API}/employers/", {"industry": "10"})) == {"古楼街道石料厂"}
    assert names(client.get(f"{API}/employers/", {"key_group": "non_coal_mining"})) == {"古楼街道石料厂"}
    assert names(client.get(f"{API}/employers/", {"in_governance_scope": "true"})) == {"古楼街道石料厂"}
    assert names(client.get(f"{API}/employers/", {"search": "石材"})) == {"阳谷石材厂"}
    assert names(client.get(f"{API}/employers/", {"search": spread["370102"].uscc[:12]})) == {"历下铸造厂"}
    ordered = client.get(f"{API}/employers/", {"ordering": "county__code"}).json()["results"]
    assert [row["county"] for row in ordered] == sorted(row["county"] for row in ordered)
    page = client.get(f"{API}/employers/", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]


def test_a_viewer_cannot_write(spread):
    client = signed_in(make_user("371502", role=Role.VIEWER), api=True)
    assert client.post(f"{API}/employers/", employer_payload(), format="json").status_code == 403
    response = client.patch(f"{API}/employers/{spread['371502'].pk}/", {"name": "改名", "version": 1}, format="json")
    assert response.status_code == 403
    assert not Employer.objects.filter(name="东昌府区鑫达水泥有限公司").exists()


def test_hrss_reads_the_ledger_but_does_not_write_it(spread):
    client = signed_in(make_user("3715", department=Department.HRSS, role=Role.CLERK), api=True)
    assert names(client.get(f"{API}/employers/")) == {"东昌府水泥厂", "阳谷石材厂"}
    assert client.get(f"{API}/employers/{spread['371521'].pk}/").status_code == 200
    assert client.post(f"{API}/employers/", employer_payload(), format="json").status_code == 403
    response = client.patch(f"{API}/employers/{spread['371502'].pk}/", {"name": "改名", "version": 1}, format="json")
    assert response.status_code == 403
    assert Employer.objects.get(pk=spread["371502"].pk).name == "东昌府水泥厂"


# ---- Employer writes ---------------------------------------------------------------------------------


def test_a_clerk_creates_an_employer_with_codes():
    response = signed_in(make_user("371502", role=Role.CLERK), api=True).post(
        f"{API}/employers/", employer_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["province"], body["city"], body["county"], body["township"]) == ("37", "3715", "371502", "371502001")
    assert body["industry"] == "3011" and body["key_group"] == "building_materials" and body["version"] == 1
    assert Employer.objects.get(pk=body["id"]).county.code == "371502"


def test_a_bad_uscc_is_refused_with_the_chinese_checksum_message():
    good = demo_uscc("371502", 4242)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = signed_in(make_user("371502", role=Role.CLERK), api=True).post(
        f"{API}/employers/", employer_payload(uscc=bad), format="json")
    assert response.status_code == 400
    assert response.json()["uscc"] == ["统一社会信用代码校验位错误，请核对后重新填写"]
    assert not Employer.objects.exists()


def test_every_problem_comes_back_by_field_in_chinese():
    # A city clerk: both counties are theirs, so the township's problem is that it is not the county's.
    response = signed_in(make_user("3715", role=Role.CLERK), api=True).post(f"{API}/employers/", employer_payload(
        name=" ", legal_representative_phone="abc", township="371521001"), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["name"] == ["请填写单位名称"]
    assert "电话号码格式不正确" in errors["legal_representative_phone"][0]
    assert "不属于东昌府区" in errors["township"][0]


def test_unknown_codes_are_named_in_the_message():
    response = signed_in(make_user("371502", role=Role.CLERK), api=True).post(
        f"{API}/employers/", employer_payload(county="3715", industry="9999"), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "3715" in errors["county"][0] and "县" in errors["county"][0]
    assert "9999" in errors["industry"][0]


@pytest.mark.parametrize(("field", "foreign", "missing", "others"), [
    ("county", "371521", "999999", {"township": None}),
    ("county", "210102", "999999", {"township": None}),
    ("township", "371521001", "999999999", {}),
])
def test_a_county_outside_the_scope_reads_as_a_missing_code(field, foreign, missing, others):
    """Another county's code answers the 400 of a code that does not exist (it answered the
    service's 403 naming the county), and no employer is written."""
    client = signed_in(make_user("371502", role=Role.CLERK), api=True)
    assert_foreign_reads_as_missing(client, f"{API}/employers/", employer_payload(**others), field=field,
                                    foreign=foreign, missing=missing, rows=Employer.objects,
                                    hidden=("阳谷", "和平区"))


def test_an_update_needs_the_version():
    employer = make_employer(county="371502")
    response = signed_in(make_user("371502", role=Role.CLERK), api=True).patch(
        f"{API}/employers/{employer.pk}/", {"name": "新名称"}, format="json")
    assert response.status_code == 400 and "version" in response.json()


def test_an_update_with_the_current_version_saves_and_bumps_it():
    employer = make_employer(county="371502")
    response = signed_in(make_user("371502", role=Role.CLERK), api=True).patch(
        f"{API}/employers/{employer.pk}/", {"name": "新名称", "version": 1}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response.json()["name"] == "新名称"


def test_a_stale_version_gets_409_with_the_changes():
    employer = make_employer(county="371502")
    other = make_user("371502", role=Role.CLERK)
    services.employer_update(actor=other, employer=employer, data={"name": "他人改的名称", "industry":
                             employer.industry.__class__.objects.get(code="3021")}, expected_version=1)
    response = signed_in(make_user("371502", role=Role.CLERK), api=True).patch(
        f"{API}/employers/{employer.pk}/", {"name": "我改的名称", "industry": "3012", "version": 1}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["current_version"] == 2 and "已被他人修改" in body["detail"]
    changes = {c["field"]: (c["label"], c["yours"], c["theirs"]) for c in body["changes"]}
    assert changes == {"name": ("单位名称", "我改的名称", "他人改的名称"), "industry": ("行业", "3012", "3021")}
    employer.refresh_from_db()
    assert employer.name == "他人改的名称" and employer.version == 2


# ---- Workers -------------------------------------------------------------------------------------------


@pytest.fixture
def worker():
    employer = make_employer(county="371502")
    return Worker.objects.create(employer=employer, name="赵六", id_number=ID_NUMBER, post="破碎工",
                                 dust_type=DustType.objects.get(name="矽尘"))


@pytest.mark.parametrize("membership, masked", [
    (("371502", Department.HEALTH, Role.VIEWER), True),
    (("3715", Department.HRSS, Role.VIEWER), True),
    (("371502", Department.HEALTH, Role.CLERK), False),
    (("37", Department.HRSS, Role.CLERK), False),
])
def test_worker_id_numbers_are_masked_unless_the_user_may_see_identities(worker, membership, masked):
    client = signed_in(make_user(membership), api=True)
    expected = mask_id_number(ID_NUMBER) if masked else ID_NUMBER
    listed = client.get(f"{API}/workers/").json()["results"]
    assert [(row["id_number"], row["id_number_masked"]) for row in listed] == [(expected, masked)]
    assert client.get(f"{API}/workers/{worker.pk}/").json()["id_number"] == expected


def test_a_clerk_adds_edits_and_removes_a_worker(worker):
    client = signed_in(make_user("371502", role=Role.CLERK), api=True)
    second = valid_id("37010219900101002")
    response = client.post(f"{API}/workers/", {"employer": worker.employer_id, "name": "钱七", "id_number": second,
                                               "post": "投料工", "dust_type": "水泥粉尘"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["id_number"] == second and created["dust_type"] == "水泥粉尘"
    response = client.patch(f"{API}/workers/{created['id']}/", {"post": "包装工", "version": 1}, format="json")
    assert response.status_code == 200, response.content
    assert Worker.objects.get(pk=created["id"]).post == "包装工"
    assert Worker.objects.get(pk=created["id"]).id_number == second
    duplicate = client.post(f"{API}/workers/", {"employer": worker.employer_id, "name": "孙八", "id_number": ID_NUMBER,
                                                "post": "投料工", "dust_type": "矽尘"}, format="json")
    assert duplicate.status_code == 400 and duplicate.json()["id_number"] == ["该身份证号的劳动者已在本单位名册中"]
    assert client.delete(f"{API}/workers/{created['id']}/").status_code == 204
    assert not Worker.objects.filter(pk=created["id"]).exists()


def test_a_bad_id_number_and_an_employer_out_of_scope_are_refused(worker):
    client = signed_in(make_user("371502", role=Role.CLERK), api=True)
    elsewhere = make_employer(county="371521")
    response = client.post(f"{API}/workers/", {"employer": elsewhere.pk, "name": "钱七",
                                               "id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1"),
                                               "post": "投料工", "dust_type": "矽尘"}, format="json")
    assert response.status_code == 400
    assert "employer" in response.json()
    response = client.post(f"{API}/workers/", {"employer": worker.employer_id, "name": "钱七",
                                               "id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1"),
                                               "post": "投料工", "dust_type": "矽尘"}, format="json")
    assert response.status_code == 400 and "校验位错误" in response.json()["id_number"][0]


def test_a_full_update_may_send_the_masked_number_back_unchanged(worker):
    client = signed_in(make_user("371502", role=Role.CLERK), api=True)
    payload = {"name": "赵六", "id_number": mask_id_number(ID_NUMBER), "post": "清扫工", "dust_type": "矽尘",
               "insured": True, "version": 1}
    response = client.put(f"{API}/workers/{worker.pk}/", payload, format="json")
    assert response.status_code == 200, response.content
    worker.refresh_from_db()
    assert (worker.id_number, worker.post, worker.insured, worker.version) == (ID_NUMBER, "清扫工", True, 2)
    stale = client.put(f"{API}/workers/{worker.pk}/", {**payload, "post": "司机"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["changes"] == [{"field": "post", "label": "岗位", "yours": "司机", "theirs": "清扫工"}]


def test_a_viewer_cannot_touch_the_roster(worker):
    client = signed_in(make_user("371502", role=Role.VIEWER), api=True)
    assert client.delete(f"{API}/workers/{worker.pk}/").status_code == 403
    assert Worker.objects.filter(pk=worker.pk).exists()


# ---- Periods ------------------------------------------------------------------------------------------------


def test_periods_are_read_by_any_ledger_user_and_created_by_a_provincial_admin(period_2020h1):
    viewer = signed_in(make_user("371502", role=Role.VIEWER), api=True)
    assert [p["code"] for p in viewer.get(f"{API}/periods/").json()["results"]] == ["2020H1"]
    assert viewer.get(f"{API}/periods/2020H1/").json()["deadline"] == "2020-07-15"
    payload = {"year": 2021, "half": 1, "deadline": "2021-07-15"}
    assert viewer.post(f"{API}/periods/", payload, format="json").status_code == 403
    city_admin = signed_in(make_user("3715", role=Role.ADMIN), api=True).post(f"{API}/periods/", payload, format="json")
    assert city_admin.status_code == 403 and "省级卫生健康管理员" in city_admin.json()["detail"]
    admin = signed_in(make_user("37", role=Role.ADMIN), api=True)
    response = admin.post(f"{API}/periods/", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "2021H1" and response.json()["ends_on"] == "2021-06-30"
    again = admin.post(f"{API}/periods/", payload, format="json")
    assert again.status_code == 400 and "已存在" in again.json()["detail"]


# ---- Records and the approval flow ------------------------------------------------------------------------------


def test_the_submission_flow_through_the_api(clerk, city_reviewer, province_reviewer, period_2020h1):
    employer = make_employer(county="371502")
    as_clerk, as_city, as_province = signed_in(clerk, api=True), signed_in(city_reviewer, api=True), signed_in(province_reviewer, api=True)

    opened = as_clerk.post(f"{API}/submissions/open/", {"period": "2020H1", "county": "371502"}, format="json")
    assert opened.status_code == 201, opened.content
    assert opened.json()["status"] == SubmissionStatus.DRAFT
    pk = opened.json()["id"]
    again = as_clerk.post(f"{API}/submissions/open/", {"period": "2020H1", "county": "371502"}, format="json")
    assert again.status_code == 400 and "已经开始填报" in again.json()["detail"]

    record = EmployerRecord.objects.get(employer=employer, period=period_2020h1)
    response = as_clerk.patch(f"{API}/records/{record.pk}/", {
        "total_workers": 50, "exposed_workers": 20, "version": 1,
        "exposures": [{"dust_type": "矽尘", "exposed_workers": 12}, {"dust_type": "水泥粉尘", "exposed_workers": 8}],
    }, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert sorted((e["dust_type"], e["exposed_workers"]) for e in response.json()["exposures"]) == [
        ("水泥粉尘", 8), ("矽尘", 12)]

    submitted = as_clerk.post(f"{API}/submissions/{pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == SubmissionStatus.SUBMITTED

    locked = as_clerk.patch(f"{API}/records/{record.pk}/", {"total_workers": 60, "version": 2}, format="json")
    assert locked.status_code == 400
    assert "已锁定" in locked.json()["detail"] and "东昌府区" in locked.json()["detail"]

    assert as_clerk.post(f"{API}/submissions/{pk}/approve/").status_code == 403
    county_reviewer = signed_in(make_user("371502", role=Role.REVIEWER), api=True).post(f"{API}/submissions/{pk}/approve/")
    assert county_reviewer.status_code == 403 and "市级" in county_reviewer.json()["detail"]
    other_city = signed_in(make_user("3701", role=Role.REVIEWER), api=True).post(f"{API}/submissions/{pk}/approve/")
    assert other_city.status_code == 404

    blank = as_city.post(f"{API}/submissions/{pk}/return/", {"reason": "  "}, format="json")
    assert blank.status_code == 400 and blank.json()["reason"] == ["请填写退回原因。"]
    returned = as_city.post(f"{API}/submissions/{pk}/return/", {"reason": "接尘人数有误"}, format="json")
    assert returned.status_code == 200
    assert returned.json()["status"] == SubmissionStatus.RETURNED and returned.json()["return_reason"] == "接尘人数有误"

    fixed = as_clerk.patch(f"{API}/records/{record.pk}/", {"exposed_workers": 21, "version": 2}, format="json")
    assert fixed.status_code == 200, fixed.content
    assert as_clerk.post(f"{API}/submissions/{pk}/submit/").json()["status"] == SubmissionStatus.SUBMITTED

    early = as_province.post(f"{API}/submissions/{pk}/accept/")
    assert early.status_code == 400 and "不能接收" in early.json()["detail"]
    approved = as_city.post(f"{API}/submissions/{pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == SubmissionStatus.APPROVED
    assert as_city.post(f"{API}/submissions/{pk}/accept/").status_code == 403
    accepted = as_province.post(f"{API}/submissions/{pk}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == SubmissionStatus.ACCEPTED and accepted.json()["is_locked"] is True

    listed = as_city.get(f"{API}/submissions/", {"period__code": "2020H1"}).json()["results"]
    assert [(row["county"], row["status"]) for row in listed] == [("371502", SubmissionStatus.ACCEPTED)]


def test_a_clerk_cannot_open_another_county(clerk, period_2020h1):
    """Another county answers the 400 of a county that does not exist, without its name."""
    assert_foreign_reads_as_missing(signed_in(clerk, api=True), f"{API}/submissions/open/", {"period": "2020H1"},
                                    field="county", foreign="371521", missing="999999",
                                    rows=CountySubmission.objects, hidden=("阳谷",))


def test_record_rules_and_versions_come_back_in_chinese(clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    client = signed_in(clerk, api=True)
    url = f"{API}/records/{record.pk}/"
    inconsistent = client.patch(url, {"total_workers": 10, "exposed_workers": 11, "version": 1}, format="json")
    assert inconsistent.status_code == 400
    assert "接尘人数不能大于职工总人数" in inconsistent.json()["exposed_workers"][0]
    over = client.patch(url, {"total_workers": 10, "exposed_workers": 5, "version": 1,
                              "exposures": [{"dust_type": "矽尘", "exposed_workers": 6}]}, format="json")
    assert over.status_code == 400 and "矽尘" in over.json()["exposures"][0]
    repeated = client.patch(url, {"version": 1, "exposures": [{"dust_type": "矽尘", "exposed_workers": 1},
                                                              {"dust_type": "矽尘", "exposed_workers": 2}]},
                            format="json")
    assert repeated.status_code == 400 and "重复" in str(repeated.json()["exposures"])
    assert client.patch(url, {"total_workers": 30, "version": 1}, format="json").status_code == 200
    stale = client.patch(url, {"total_workers": 40, "version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["changes"] == [{"field": "total_workers", "label": "职工总人数", "yours": 40, "theirs": 30}]
    assert client.put(url, {"total_workers": 40, "version": 2}, format="json").status_code == 405


def test_warning_sign_posts_through_the_api(clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    client = signed_in(clerk, api=True)
    url = f"{API}/records/{record.pk}/"
    kept = client.get(url).json()  # a record kept before the posts: both null, and saved back as read
    assert (kept["serious_hazard_posts"], kept["posts_with_warning_signs"]) == (None, None)
    assert client.patch(url, {**{k: kept[k] for k in ("serious_hazard_posts", "posts_with_warning_signs")},
                              "version": 1}, format="json").status_code == 200
    over = client.patch(url, {"serious_hazard_posts": 2, "posts_with_warning_signs": 3, "version": 2}, format="json")
    assert over.status_code == 400
    assert over.json()["posts_with_warning_signs"][0].startswith("设置警示标识的岗位数不能大于产生严重职业病危害的作业岗位数")
    half = client.patch(url, {"serious_hazard_posts": 2, "version": 2}, format="json")
    assert half.status_code == 400 and "请同时填写" in half.json()["posts_with_warning_signs"][0]
    huge = client.patch(url, {"serious_hazard_posts": 2_147_483_648, "posts_with_warning_signs": 0, "version": 2},
                        format="json")
    assert huge.status_code == 400 and "数值过大" in huge.json()["serious_hazard_posts"][0]
    saved = client.patch(url, {"serious_hazard_posts": 3, "posts_with_warning_signs": 2, "version": 2}, format="json")
    assert saved.status_code == 200
    assert (saved.json()["serious_hazard_posts"], saved.json()["posts_with_warning_signs"]) == (3, 2)


def test_the_schema_documents_the_warning_sign_posts():
    from drf_spectacular.generators import SchemaGenerator

    record = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]["Record"]["properties"]
    for field in ("serious_hazard_posts", "posts_with_warning_signs"):
        assert record[field]["nullable"] is True
        assert (record[field]["minimum"], record[field]["maximum"]) == (0, 2_147_483_647)
        assert "旧口径" in record[field]["description"] or "不大于" in record[field]["description"]


def test_records_filter_by_period_county_and_employer(clerk, open_submission):
    mine = make_employer(county="371502")
    other = make_employer(county="371502")
    for employer in (mine, other):
        make_record(employer, open_submission.period)
    client = signed_in(make_user("3715", role=Role.VIEWER), api=True)
    assert client.get(f"{API}/records/", {"period": "2020H1", "county": "371502"}).json()["count"] == 2
    assert client.get(f"{API}/records/", {"period": "2020H2"}).json()["count"] == 0
    rows = client.get(f"{API}/records/", {"employer": mine.pk}).json()["results"]
    assert [row["employer"] for row in rows] == [mine.pk]


# ---- Query counts ----------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _fill(n: int, period) -> None:
    silica = DustType.objects.get(name="矽尘")
    clerk = make_user("3715", role=Role.CLERK)
    counties = Region.objects.filter(parent__code="3715").exclude(
        pk__in=CountySubmission.objects.filter(period=period).values("county")).order_by("code")
    for county in counties[: max(1, n // 10)]:
        CountySubmission.objects.create(period=period, province_id=county.parent.parent_id, city=county.parent,
                                        county=county, status=SubmissionStatus.SUBMITTED, submitted_by=clerk,
                                        reviewed_by=make_user())
    for i in range(n):
        employer = make_employer(county="371502" if i % 2 else "371521", township="371502001" if i % 2 else None)
        record = make_record(employer, period, updated_by=None, total_workers=5, exposed_workers=5)
        record.exposures.create(dust_type=silica, exposed_workers=5)
        Worker.objects.create(employer=employer, name=f"工人{i}", id_number=valid_id(f"370102199001{i:05d}"),
                              post="破碎工", dust_type=silica)


@pytest.mark.parametrize("endpoint", ["employers", "records", "workers", "submissions", "periods"])
def test_list_pages_take_a_constant_number_of_queries(period_2020h1, endpoint, django_assert_max_num_queries):
    client = signed_in(make_user("3715", role=Role.VIEWER), api=True)
    _fill(5, period_2020h1)
    small = _queries(client, f"{API}/{endpoint}/")
    _fill(45, period_2020h1)
    assert client.get(f"{API}/{endpoint}/").json()["count"] == {"periods": 1, "submissions": 5}.get(endpoint, 50)
    with django_assert_max_num_queries(small):
        client.get(f"{API}/{endpoint}/")
    assert small <= 7


# ---- Schema -----------------------------------------------------------------------------------------------------


def test_the_openapi_schema_has_the_ledger_paths_and_no_warnings_for_them():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    problems = [msg for msg in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
                if "ledger" in msg.lower() or "Employer" in msg or "Worker" in msg or "Submission" in msg]
    assert problems == []
    paths = schema["paths"]
    for path in ["/api/ledger/employers/", "/api/ledger/employers/{id}/", "/api/ledger/records/",
                 "/api/ledger/records/{id}/", "/api/ledger/workers/", "/api/ledger/workers/{id}/",
                 "/api/ledger/periods/", "/api/ledger/periods/{code}/", "/api/ledger/submissions/",
                 "/api/ledger/submissions/open/", "/api/ledger/submissions/{id}/submit/",
                 "/api/ledger/submissions/{id}/return/", "/api/ledger/submissions/{id}/approve/",
                 "/api/ledger/submissions/{id}/accept/"]:
        assert path in paths, path
    assert set(paths["/api/ledger/employers/{id}/"]) == {"get", "put", "patch"}
    assert set(paths["/api/ledger/records/{id}/"]) == {"get", "patch"}
    assert "409" in paths["/api/ledger/employers/{id}/"]["patch"]["responses"]


def test_the_schema_endpoint_answers_a_signed_in_user():
    response = signed_in(make_user("371502", role=Role.VIEWER), api=True).get("/api/schema/")
    assert response.status_code == 200 and b"/api/ledger/employers/" in response.content

