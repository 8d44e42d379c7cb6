"""The API as a contract: no server error from any body or parameter, refusals in the right order
(permission, then the lock, then the content), and a schema that tells the truth."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from inspections import services as inspection_services
from inspections.models import Finding
from ledger import services
from ledger.models import EmployerRecord
from portal.models import Department
from tests.factories import make_user, signed_in
from tests.inspections.factories import PNG, fill_all, make_world
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

COUNTY = "371502"


@pytest.fixture
def record(clerk, open_submission):
    employer = make_employer(county=COUNTY)
    return EmployerRecord.objects.create(
        employer=employer, period=open_submission.period, province_id=employer.province_id,
        city_id=employer.city_id, county_id=employer.county_id, total_workers=50, exposed_workers=20)


# ---- No 500 from a body ----------------------------------------------------------------------------------


@pytest.mark.parametrize("exposure", [{"exposed_workers": 3}, {"dust_type": "矽尘"}, {}])
def test_an_exposure_missing_a_key_is_a_400_naming_it_not_a_server_error(clerk, record, exposure):
    response = signed_in(clerk, api=True).patch(f"/api/ledger/records/{record.pk}/",
                                {"version": record.version, "exposures": [exposure]}, format="json")
    assert response.status_code == 400
    missing = {"dust_type", "exposed_workers"} - set(exposure)
    # DRF reports a partial update's list errors by position: {"exposures": {"0": {field: [...]}}}.
    assert set(response.json()["exposures"]["0"]) == missing


def test_a_locked_record_answers_with_its_lock_whatever_the_body_holds(clerk, record, open_submission):
    services.submission_submit(actor=clerk, submission=open_submission)
    response = signed_in(clerk, api=True).patch(f"/api/ledger/records/{record.pk}/",
                                {"exposures": [{"exposed_workers": "many"}], "total_workers": -1}, format="json")
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str) and "数据已锁定" in response.json()["detail"]


def test_a_photo_with_a_non_integer_item_is_a_400_not_a_server_error():
    w = make_world()
    response = signed_in(w.member, api=True).post(f"/api/inspections/assignments/{w.unannounced.pk}/photos/", {
        "client_uuid": str(uuid.uuid4()), "item": "1.1",
        "file": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
    assert response.status_code == 400
    assert response.json() == {"item": ["检查项编号应为整数。"]}


def test_coverage_with_a_date_before_1950_is_refused_and_nothing_stored(period_2020h1):
    hrss = make_user(COUNTY, department=Department.HRSS)
    employer = make_employer(county=COUNTY)
    response = signed_in(hrss, api=True).post("/api/insurance/coverage/", {
        "uscc": employer.uscc, "period": period_2020h1.code, "insured_workers": 2147483647, "as_of": "0001-01-01"},
        format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["as_of"] == ["日期不能早于1950-01-01"]
    from insurance.models import InsuranceCoverage

    assert not InsuranceCoverage.objects.exists()


# ---- Permission before parsing ------------------------------------------------------------------------------


def test_a_user_who_may_not_review_gets_403_even_for_a_malformed_body():
    w = make_world()
    fill_all(w.unannounced, w.member, value_for={"1.5": "no"})
    inspection_services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    finding = Finding.objects.get()
    response = signed_in(w.county_clerk, api=True).post(f"/api/inspections/findings/{finding.pk}/review/",
                                        {"outcome": ["not", "a", "choice"]}, format="json")
    assert response.status_code == 403


def test_a_team_outsider_syncing_a_malformed_body_gets_403_or_404_never_400():
    w = make_world()
    response = signed_in(w.county_clerk, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/sync/",
                                        {"answers": "not a list"}, format="json")
    assert response.status_code in (403, 404)


def test_an_anonymous_request_answers_401_asking_for_the_session():
    response = signed_in(api=True).get("/api/ledger/records/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Session realm="api"'
    assert "detail" in response.json()


# ---- The schema ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_operation_documents_401_403_and_its_error_body(schema):
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 56
    for path, method, op in operations:
        for code in ("401", "403"):
            assert code in op["responses"], (path, method, code)
            assert op["responses"][code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, (path, method, code)
        if "{" in path:
            assert "404" in op["responses"], (path, method)
        if method in ("post", "put", "patch") or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "400" in op["responses"], (path, method)
        if method in ("post", "put", "patch", "delete"):
            assert {"cookieAuth": [], "csrfToken": []} in op["security"], (path, method)
    assert schema["components"]["securitySchemes"]["csrfToken"]["name"] == "X-CSRFToken"


def test_fields_that_can_be_null_or_blank_say_so(schema):
    schemas = schema["components"]["schemas"]
    for name in ("submitted_by", "reviewed_by", "accepted_by"):
        assert schemas["Submission"]["properties"][name]["nullable"] is True
    assert schemas["Record"]["properties"]["updated_by"]["nullable"] is True
    assert schemas["WorkListRow"]["properties"]["uscc"]["nullable"] is True
    assert schemas["Coverage"]["properties"]["uscc"]["nullable"] is True
    key_group = schemas["Employer"]["properties"]["key_group"]
    enums = [_resolve(schema, choice).get("enum", []) for choice in key_group["oneOf"]]
    assert [""] in enums and any("coal" in enum for enum in enums)


def test_bounds_are_in_the_schema(schema):
    record = schema["components"]["schemas"]["PatchedRecordRequest"]["properties"]
    assert record["total_workers"]["minimum"] == 0 and record["total_workers"]["maximum"] == 2147483647
    assert record["test_lab"]["maxLength"] == 200
    assert record["declared_on"]["format"] == "date" and "1950-01-01" in record["declared_on"]["description"]
    employer = schema["components"]["schemas"]["EmployerRequest"]["properties"]
    assert employer["name"]["maxLength"] == 200


def test_only_parameters_that_work_are_documented(schema):
    submissions = schema["paths"]["/api/ledger/submissions/"]["get"]
    assert "search" not in {p["name"] for p in submissions["parameters"]}
    employers = schema["paths"]["/api/ledger/employers/"]["get"]
    assert "search" in {p["name"] for p in employers["parameters"]}
