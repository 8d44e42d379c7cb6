import pytest

from patients import services
from patients.models import AccessKind, PatientAccess
from portal.models import Department, Role
from tests.factories import make_user
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
            "/api/patients/relief-actions/", "/api/patients/rehab-sites/"} <= set(paths)


def test_sibling_county_sees_none_of_them(client, clerk, sibling_clerk):
    services.patient_create(actor=clerk, data=patient_data())
    client.force_login(sibling_clerk)
    assert client.get("/api/patients/files/").json()["results"] == []
    assert SIBLING
