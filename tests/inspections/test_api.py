import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspections import services
from inspections.models import Finding, InspectionPlan, PlanStatus
from portal.models import Region
from tests.factories import assert_foreign_reads_as_missing, signed_in
from tests.inspections.factories import PNG, fill_all, make_world

pytestmark = pytest.mark.django_db


def test_assignments_list_is_scoped_and_guarded():
    w = make_world()
    ids = lambda user: {a["id"] for a in signed_in(user, api=True).get("/api/inspections/assignments/").json()["results"]}  # noqa: E731
    assert ids(w.member) == {w.comprehensive.pk, w.unannounced.pk}
    assert ids(w.other_leader) == set()
    assert ids(w.county_clerk) == {w.comprehensive.pk}
    assert ids(w.admin) == {w.comprehensive.pk, w.unannounced.pk}
    assert signed_in(w.other_leader, api=True).post(f"/api/inspections/assignments/{w.unannounced.pk}/sync/", {"answers": [{
        "client_uuid": str(uuid.uuid4()), "checklist_version": 1, "base_version": 0, "item": 1, "value": "yes"}]},
        format="json").status_code == 404


def test_offline_payload_carries_checklist_answers_and_ledger_facts():
    w = make_world()
    client = signed_in(w.member, api=True)
    version = client.get(f"/api/inspections/checklist-versions/{w.unannounced.checklist_version_id}/").json()
    assert version["sections"][0]["items"][0]["number"] == "1.1"
    payload = client.get(f"/api/inspections/assignments/{w.unannounced.pk}/offline/").json()
    assert payload["employer"]["name"] == "长春某水泥有限公司" and payload["checklist_version"] == version["id"]


def test_plan_create_through_the_api_needs_manage():
    w = make_world()
    body = {"region": "22", "name": "复查", "window_start": "2020-08-01", "window_end": "2020-08-10",
            "report_deadline": "2020-08-15"}
    assert signed_in(w.member, api=True).post("/api/inspections/plans/", body, format="json").status_code == 403
    r = signed_in(w.admin, api=True).post("/api/inspections/plans/", body, format="json")
    assert r.status_code == 201 and InspectionPlan.objects.filter(name="复查").exists()
    bad = signed_in(w.admin, api=True).post("/api/inspections/plans/", {**body, "window_end": "2020-07-01"}, format="json")
    assert bad.status_code == 400 and "window_end" in bad.json()


def test_findings_rectify_and_review_over_the_api():
    w = make_world()
    fill_all(w.unannounced, w.member, value_for={"1.5": "no"})
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    finding = Finding.objects.get()
    listed = signed_in(w.county_clerk, api=True).get("/api/inspections/findings/?open=1").json()["results"]
    assert [f["id"] for f in listed] == [finding.pk]
    r = signed_in(w.county_clerk, api=True).post(f"/api/inspections/findings/{finding.pk}/rectify/",
                                 {"note": "已整改", "file": SimpleUploadedFile("e.png", PNG, content_type="image/png")})
    assert r.status_code == 200 and r.json()["status"] == "rectified"
    r = signed_in(w.county_clerk, api=True).post(f"/api/inspections/findings/{finding.pk}/review/", {"outcome": "verified"},
                                 format="json")
    assert r.status_code == 403
    r = signed_in(w.member, api=True).post(f"/api/inspections/findings/{finding.pk}/review/", {"outcome": "reopened"}, format="json")
    assert r.status_code == 400 and "原因" in str(r.json())
    r = signed_in(w.member, api=True).post(f"/api/inspections/findings/{finding.pk}/review/", {"outcome": "verified"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "verified"


def test_expired_plans_close_idempotently():
    w = make_world()
    later = w.plan.report_deadline + dt.timedelta(days=1)
    assert services.plans_close_expired(today=later) == 1
    assert services.plans_close_expired(today=later) == 0
    w.plan.refresh_from_db()
    assert w.plan.status == PlanStatus.CLOSED


@pytest.mark.parametrize("foreign", ["37", "21"])
def test_a_plan_for_a_region_outside_the_admins_subtree_reads_as_a_missing_region(foreign):
    """The province's inspection admin issues plans for its subtree only: another province's code
    answers the 400 of a code that does not exist (it answered the service's 403 naming it)."""
    w = make_world()
    body = {"name": "复查", "window_start": "2020-08-01", "window_end": "2020-08-10", "report_deadline": "2020-08-15"}
    assert_foreign_reads_as_missing(signed_in(w.admin, api=True), "/api/inspections/plans/", body, field="region",
                                    foreign=foreign, missing="990000", rows=InspectionPlan.objects,
                                    hidden=(Region.objects.get(code=foreign).name,))
