import pytest

from insurance.models import ExpansionPlan, InsuranceCoverage
from portal.models import Region
from tests.factories import assert_foreign_reads_as_missing
from tests.insurance.conftest import OTHER_COUNTY

pytestmark = pytest.mark.django_db


def test_coverage_api_write_and_scope(client, ledger, hrss_clerk, health_clerk, hrss_other_county, period_2020h1):
    payload = {"uscc": ledger["cement"].uscc, "period": "2020H1", "insured_workers": 80, "as_of": "2020-06-30"}
    client.force_login(health_clerk)
    response = client.post("/api/insurance/coverage/", payload, content_type="application/json")
    assert response.status_code == 403
    client.force_login(hrss_clerk)
    response = client.post("/api/insurance/coverage/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    response = client.post("/api/insurance/coverage/", {**payload, "insured_workers": 101},
                           content_type="application/json")
    assert response.status_code == 400 and "职工总人数" in response.json()["insured_workers"][0]
    assert client.get("/api/insurance/coverage/").json()["count"] == 1
    client.force_login(hrss_other_county)
    assert client.get("/api/insurance/coverage/").json()["count"] == 0
    response = client.post("/api/insurance/coverage/", payload, content_type="application/json")
    # Another county's employer is answered like a missing one: no status or text tells them apart.
    missing = client.post("/api/insurance/coverage/", {**payload, "uscc": "91371500000000000X"},
                          content_type="application/json")
    assert response.status_code == missing.status_code == 400
    assert "东昌府" not in response.content.decode() and ledger["cement"].name not in response.content.decode()
    assert InsuranceCoverage.objects.get().insured_workers == 80


def test_work_list_follow_up_and_plan_api(client, ledger, hrss_clerk, hrss_other_county, period_2020h1, county):
    client.force_login(hrss_clerk)
    rows = client.get("/api/insurance/work-list/", {"period": "2020H1"}).json()["results"]
    assert [(r["employer_name"], r["uninsured"]) for r in rows] == [("鑫达水泥有限公司", 40)]
    response = client.post("/api/insurance/follow-ups/", {
        "employer": ledger["cement"].pk, "period": "2020H1", "action": "enrolled", "acted_on": "2020-07-01",
        "enrolled": 40}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert client.get("/api/insurance/work-list/", {"period": "2020H1"}).json()["results"] == []
    response = client.post("/api/insurance/plans/", {
        "region": county.code, "title": "三年计划", "start_year": 2020,
        "years": [{"insured_workers": 100, "coverage_rate": "70"}] * 3}, content_type="application/json")
    assert response.status_code == 201, response.content
    client.force_login(hrss_other_county)
    assert client.get("/api/insurance/plans/").json()["count"] == 0
    assert client.get("/api/insurance/follow-ups/").json()["count"] == 0
    assert client.get("/api/insurance/work-list/", {"period": "2020H1"}).json()["count"] == 0


@pytest.mark.parametrize("foreign", [OTHER_COUNTY, "3715", "21"])
def test_an_expansion_plan_outside_the_clerks_county_reads_as_a_missing_region(client, hrss_clerk, foreign):
    """A sibling county, the city above and another province answer the 400 of a code that does
    not exist (they answered the service's 403 naming the region), and no plan is written."""
    client.force_login(hrss_clerk)
    body = {"title": "三年计划", "start_year": 2020, "years": [{"insured_workers": 100, "coverage_rate": "70"}] * 3}
    assert_foreign_reads_as_missing(client, "/api/insurance/plans/", body, field="region", foreign=foreign,
                                    missing="999999", rows=ExpansionPlan.objects,
                                    hidden=(Region.objects.get(code=foreign).name,))
