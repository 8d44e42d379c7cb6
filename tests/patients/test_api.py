import datetime
import json

import pytest

from patients import services
from patients.models import AccessKind, PatientAccess
from portal.models import Department, Region, Role
from tests.factories import assert_foreign_reads_as_missing, make_user
from tests.patients.conftest import COUNTY, SIBLING, new_id, patient_data

pytestmark = pytest.mark.django_db


def payload(**overrides) -> dict:
    data = {"name": "张铁军", "id_number": new_id(), "county": COUNTY, "village": "王庄", "employer_name": "某铸造厂",
            "employer_gone": True, "diagnosis_kind": "occupational", "disease": "foundry", "stage": 1,
            "diagnosed_on": "2018-04-02"}
    data.update(overrides)
    return data


def test_the_list_masks_and_a_clerk_reads_one_file_whole_logged(client, clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    client.force_login(clerk)
    listed = client.get("/api/patients/files/").json()["results"]
    assert [row["id_number"] for row in listed] == [patient.id_number[:6] + "********" + patient.id_number[-4:]]
    one = client.get(f"/api/patients/files/{patient.pk}/").json()
    assert one["id_number"] == patient.id_number and one["relief_category"] == "b" and one["relief_reason"]
    assert PatientAccess.objects.get(user=clerk, patient=patient).kind == AccessKind.IDENTITY


def test_a_viewer_reads_the_file_masked_and_the_read_is_logged(client, clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    viewer = make_user("3715", role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(f"/api/patients/files/{patient.pk}/").json()["id_number"] != patient.id_number
    assert PatientAccess.objects.get(user=viewer).kind == AccessKind.API


def test_create_derives_the_category_and_refuses_bad_input_in_chinese(client, clerk):
    client.force_login(clerk)
    created = client.post("/api/patients/files/", payload(), content_type="application/json")
    assert created.status_code == 201, created.json()
    assert created.json()["relief_category"] == "c"
    bad = client.post("/api/patients/files/", payload(id_number="371502196005011239", stage=None),
                      content_type="application/json")
    assert bad.status_code == 400
    assert "校验位错误" in bad.json()["id_number"][0] and "期别" in bad.json()["stage"][0]


def test_another_countys_file_is_not_found_and_cannot_be_written(client, clerk, sibling_clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    client.force_login(sibling_clerk)
    assert client.get(f"/api/patients/files/{patient.pk}/").status_code == 404
    assert client.patch(f"/api/patients/files/{patient.pk}/", {"phone": "13900000000"},
                        content_type="application/json").status_code == 404
    response = client.post("/api/patients/follow-ups/", {"patient": patient.pk, "followed_on": "2020-01-01",
                                                         "way": "home", "health_status": "stable"},
                           content_type="application/json")
    assert response.status_code == 400 and "不存在或不在您的管辖范围内" in response.json()["patient"][0]


def test_a_relief_department_records_only_in_its_categories(client, clerk):
    gone = services.patient_create(actor=clerk, data=patient_data(employer_gone=True))
    insured = services.patient_create(actor=clerk, data=patient_data(injury_insured=True, name="钱"))
    medical = make_user((COUNTY, Department.MEDICAL_INSURANCE, Role.CLERK))
    client.force_login(medical)
    ok = client.post("/api/patients/relief-actions/", {"patient": gone.pk, "department": "medical_insurance",
                                                       "kind": "medical_aid", "acted_on": "2021-01-05"},
                     content_type="application/json")
    assert ok.status_code == 201, ok.json()
    refused = client.post("/api/patients/relief-actions/", {"patient": insured.pk, "department": "medical_insurance",
                                                            "kind": "medical_aid", "acted_on": "2021-01-05"},
                          content_type="application/json")
    assert refused.status_code == 400 and insured.relief_actions.count() == 0
    assert client.get("/api/patients/files/").status_code == 403
    assert [a["patient"] for a in client.get("/api/patients/relief-actions/").json()["results"]] == [gone.pk]


def test_the_schema_documents_the_patient_endpoints(client, clerk):
    client.force_login(clerk)
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"/api/patients/files/", "/api/patients/files/{id}/", "/api/patients/follow-ups/",
            "/api/patients/relief-actions/", "/api/patients/rehab-sites/", "/api/patients/files/{id}/move/",
            "/api/patients/rehab-sites/{id}/"} <= set(paths)
    assert {"post"} == set(paths["/api/patients/files/{id}/move/"]) - {"parameters"}
    assert {"get", "patch"} == set(paths["/api/patients/rehab-sites/{id}/"]) - {"parameters"}


def test_sibling_county_sees_none_of_them(client, clerk, sibling_clerk):
    services.patient_create(actor=clerk, data=patient_data())
    client.force_login(sibling_clerk)
    assert client.get("/api/patients/files/").json()["results"] == []
    assert SIBLING


def test_a_file_moves_to_another_county_through_the_api_as_through_the_page(client, clerk, sibling_clerk):
    from patients.models import FollowUp, PatientMove

    patient = services.patient_create(actor=clerk, data=patient_data())
    services.followup_record(actor=clerk, patient=patient, data={
        "followed_on": datetime.date(2020, 6, 1), "way": "home", "health_status": "stable"})
    url = f"/api/patients/files/{patient.pk}/move/"
    client.force_login(make_user(COUNTY, role=Role.VIEWER))
    assert client.post(url, {"county": SIBLING, "moved_on": "2021-03-01"},
                       content_type="application/json").status_code == 403  # may see, may not move
    client.force_login(sibling_clerk)
    assert client.post(url, {"county": SIBLING, "moved_on": "2021-03-01"},
                       content_type="application/json").status_code == 404  # not theirs yet
    client.force_login(clerk)
    same = client.post(url, {"county": COUNTY, "moved_on": "2021-03-01"}, content_type="application/json")
    assert same.status_code == 400 and "迁入县与当前所在县相同" in same.json()["county"][0]
    future = client.post(url, {"county": SIBLING, "moved_on": "2999-01-01"}, content_type="application/json")
    assert future.status_code == 400 and "moved_on" in future.json()
    moved = client.post(url, {"county": SIBLING, "village": "新村", "moved_on": "2021-03-01", "reason": "随子女迁居"},
                        content_type="application/json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["county"] == SIBLING and moved.json()["id_number"] != patient.id_number  # masked
    move = PatientMove.objects.get(patient=patient)
    assert (move.from_county.code, move.to_county.code, move.reason, move.moved_by) == (
        COUNTY, SIBLING, "随子女迁居", clerk)
    assert FollowUp.objects.get(patient=patient).county.code == SIBLING
    assert client.post(url, {"county": COUNTY, "moved_on": "2021-04-01"},
                       content_type="application/json").status_code == 404  # now the sibling county's
    client.force_login(sibling_clerk)
    assert client.get(f"/api/patients/files/{patient.pk}/").status_code == 200


def site_payload(**overrides) -> dict:
    township = Region.objects.filter(parent__code=COUNTY).order_by("code").first()
    data = {"kind": "station", "name": "某街道尘肺病康复站", "county": COUNTY, "township": township.code,
            "host_institution": "某社区卫生服务中心", "rooms": ["oxygen", "treatment"], "equipment": ["ecg"],
            "drugs_stocked": True, "opened_on": "2020-06-01", "patients_served": 40}
    data.update(overrides)
    return data


def test_rehab_sites_are_created_and_edited_through_the_api_with_the_forms_rules(client, clerk, sibling_clerk):
    from patients.models import RehabSite

    client.force_login(clerk)
    created = client.post("/api/patients/rehab-sites/", site_payload(), content_type="application/json")
    assert created.status_code == 201, created.json()
    site = RehabSite.objects.get(pk=created.json()["id"])
    assert site.county.code == COUNTY and "教育室" in created.json()["missing"]
    point = client.post("/api/patients/rehab-sites/", site_payload(kind="point", village=""),
                        content_type="application/json")
    assert point.status_code == 400 and "康复点请填写所在村（社区）" in point.json()["village"][0]
    elsewhere = Region.objects.filter(parent__code=SIBLING).order_by("code").first()
    client.force_login(make_user("3715"))  # both counties are the city clerk's: the township is not the county's
    wrong = client.post("/api/patients/rehab-sites/", site_payload(township=elsewhere.code),
                        content_type="application/json")
    assert wrong.status_code == 400 and "不属于" in wrong.json()["township"][0]
    assert RehabSite.objects.count() == 1
    client.force_login(clerk)
    edited = client.patch(f"/api/patients/rehab-sites/{site.pk}/", {
        "rooms": ["oxygen", "treatment", "education", "rescue"], "equipment": ["ecg", "oxygen_supply", "ventilator"],
        "patients_served": 55}, content_type="application/json")
    assert edited.status_code == 200, edited.json()
    site.refresh_from_db()
    assert (site.patients_served, site.name, edited.json()["missing"]) == (55, "某街道尘肺病康复站", [])
    client.force_login(sibling_clerk)
    assert client.patch(f"/api/patients/rehab-sites/{site.pk}/", {"patients_served": 1},
                        content_type="application/json").status_code == 404
    client.force_login(make_user(COUNTY, role=Role.VIEWER))
    assert client.get(f"/api/patients/rehab-sites/{site.pk}/").status_code == 200
    assert client.patch(f"/api/patients/rehab-sites/{site.pk}/", {"patients_served": 1},
                        content_type="application/json").status_code == 403


@pytest.mark.parametrize("url", ["/api/patients/files/", "/api/patients/rehab-sites/"])
@pytest.mark.parametrize(("field", "foreign", "missing"), [
    ("county", SIBLING, "999999"), ("county", "210102", "999999"), ("township", "371521001", "999999999")])
def test_a_region_outside_the_clerks_county_reads_as_a_missing_code(client, clerk, url, field, foreign, missing):
    """A file or a site is kept in a region of the user's editing scope: another county's code (or
    one of its townships) answers the 400 of a code that does not exist (it answered the service's
    403 naming the county), and nothing is written."""
    from patients.models import Patient, RehabSite

    client.force_login(clerk)
    body = payload() if url.endswith("files/") else site_payload()
    assert_foreign_reads_as_missing(client, url, body, field=field, foreign=foreign, missing=missing,
                                    rows=(Patient if url.endswith("files/") else RehabSite).objects,
                                    hidden=("阳谷", "博济桥", "和平区"))


def test_the_missing_region_message_is_in_the_language_of_the_request(client, clerk):
    """The level-bound region field's message is formatted with the level's name: it follows each
    request's language (DRF builds the field again for each serializer)."""
    client.force_login(clerk)
    body = json.dumps({**payload(), "county": "999999"})
    english = client.post("/api/patients/files/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.post("/api/patients/files/", body, content_type="application/json",
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.status_code == chinese.status_code == 400
    assert english.json()["county"] == ['Region code "999999" does not exist, is not a region at the '
                                        "County (city, district) level, or is outside your jurisdiction."]
    assert chinese.json()["county"] == ["区划代码“999999”不存在、不是县（市、区）级区划，或不在您的管辖范围内。"]
