"""The targets API: a target binds a region and a plan, both cut to the admin's scope."""

import pytest

from portal.models import Department, Region, Role
from targets import services
from targets.models import Campaign, Target
from tests.factories import assert_foreign_reads_as_missing, make_user

pytestmark = pytest.mark.django_db

URL = "/api/targets/targets/"
BODY = {"indicator": "declaration", "due_on": "2020-12-31", "value": "96"}


@pytest.fixture
def county_admin():
    return make_user(("371502", Department.HEALTH, Role.ADMIN))


def own_campaign(admin, region="371502") -> Campaign:
    return services.campaign_create(actor=admin, region=Region.objects.get(code=region), name="实施方案",
                                    authority="卫生健康局", document_number="", first_year=2019, last_year=2020)


def test_a_county_admin_sets_a_target_of_its_county_in_its_own_plan(client, county_admin):
    client.force_login(county_admin)
    created = client.post(URL, {**BODY, "campaign": own_campaign(county_admin).pk, "region": "371502"},
                          content_type="application/json")
    assert created.status_code == 201, created.content.decode()
    assert Target.objects.get(pk=created.json()["id"]).region.code == "371502"


@pytest.mark.parametrize("foreign", ["371521", "3715", "21"])
def test_a_target_for_a_region_outside_the_admins_subtree_reads_as_a_missing_region(client, county_admin, foreign):
    client.force_login(county_admin)
    assert_foreign_reads_as_missing(client, URL, {**BODY, "campaign": own_campaign(county_admin).pk}, field="region",
                                    foreign=foreign, missing="999999", rows=Target.objects,
                                    hidden=(Region.objects.get(code=foreign).name,))


@pytest.mark.parametrize("issuer", ["sibling county", "another province"])
def test_a_plan_that_does_not_bind_the_admins_region_reads_as_a_missing_plan(client, county_admin, issuer):
    """A plan binds the region that issued it, those below it and those above it (the HTML form's
    rule, targets.selectors.campaign_list); a sibling's draft or another province's plan answers
    the 400 of an id that does not exist, without its name or its issuer."""
    if issuer == "sibling county":
        campaign = own_campaign(make_user(("371521", Department.HEALTH, Role.ADMIN)), region="371521")
    else:
        campaign = Campaign.objects.get(document_number="辽卫发〔2019〕68号")
    client.force_login(county_admin)
    missing = Campaign.objects.order_by("-pk").first().pk + 1000
    assert_foreign_reads_as_missing(client, URL, {**BODY, "region": "371502"}, field="campaign", foreign=campaign.pk,
                                    missing=missing, rows=Target.objects,
                                    hidden=(campaign.name, campaign.region.name))
