"""No oracles: a USCC held outside the user's scope is "registered elsewhere", never named or placed;
the API answers the same status for "not yours" and "does not exist"; pickers stay inside the
admin's subtree and department."""

import datetime as dt

import pytest

from insurance.models import TrainingKind
from portal.models import Department, Region, Role
from tests.factories import make_period, make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign():
    return make_employer(county="371521", name="阳谷某耐火材料厂")


@pytest.fixture
def period():
    return make_period("2020H1", deadline=dt.date(2030, 7, 15))  # still open for reports


def test_the_coverage_api_answers_alike_for_not_yours_and_missing(client, foreign, period):
    client.force_login(make_user(("371502", Department.HRSS, Role.CLERK)))
    body = {"period": "2020H1", "insured_workers": 0, "as_of": "2020-06-30"}
    theirs = client.post("/api/insurance/coverage/", {**body, "uscc": foreign.uscc}, content_type="application/json")
    missing = client.post("/api/insurance/coverage/", {**body, "uscc": "91371502MA00000000"},
                          content_type="application/json")
    assert theirs.status_code == missing.status_code == 400
    text = theirs.content.decode()
    assert "已在其他地区登记" in text and "阳谷" not in text


def test_the_follow_up_api_answers_alike_for_another_countys_employer_and_a_missing_one(client, foreign, period):
    client.force_login(make_user(("371502", Department.HRSS, Role.CLERK)))
    body = {"period": "2020H1", "action": "contacted", "acted_on": "2020-06-30", "note": ""}
    theirs = client.post("/api/insurance/follow-ups/", {**body, "employer": foreign.pk},
                         content_type="application/json")
    missing = client.post("/api/insurance/follow-ups/", {**body, "employer": foreign.pk + 10_000_000},
                          content_type="application/json")
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["employer"] == [missing.json()["employer"][0].replace(str(foreign.pk + 10_000_000),
                                                                               str(foreign.pk))]
    assert "阳谷" not in theirs.content.decode()


def test_the_coverage_form_does_not_name_another_countys_employer(client, foreign, period):
    client.force_login(make_user(("371502", Department.HRSS, Role.CLERK)))
    page = client.post("/insurance/coverage/", {"uscc": foreign.uscc, "period": period.pk, "insured_workers": 0,
                                                "as_of": "2020-06-30"}).content.decode()
    assert "已在其他地区登记" in page and "阳谷某耐火材料厂" not in page


def test_training_events_do_not_name_another_countys_employer(client, foreign):
    client.force_login(make_user(("371502", Department.HRSS, Role.CLERK)))
    page = client.post("/insurance/training/", {
        "region": Region.objects.get(code="371502").pk, "kind": TrainingKind.values[0], "title": "职业健康培训", "held_on": "2020-05-01",
        "participants": 10, "employers": foreign.uscc}).content.decode()
    assert "已在其他地区登记" in page and "阳谷某耐火材料厂" not in page


def test_user_admins_list_and_open_accounts_of_their_own_department_only(client):
    admin = make_user(("371502", Department.HEALTH, Role.ADMIN))
    make_user(("371502", Department.HRSS, Role.CLERK), username="hrss_neighbour_desk")
    make_user(("371502", Department.HEALTH, Role.CLERK), username="health_desk")
    client.force_login(admin)
    page = client.get("/users/").content.decode()
    assert "health_desk" in page and "hrss_neighbour_desk" not in page
    form = client.get("/users/new/").content.decode()
    assert 'value="health"' in form and 'value="hrss"' not in form
