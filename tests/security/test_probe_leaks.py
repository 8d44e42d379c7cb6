"""The leaks an outside probe found (issue 11), each reproduced as it was reported."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from inspections import services as inspection_services
from inspections.models import ChecklistKind, ChecklistTemplate, ChecklistVersion
from portal.models import Department, Region, Role
from targets.models import Campaign
from tests.factories import make_user
from tests.inspections.factories import load_checklists, make_world
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


# ---- 1. Checklist templates belong to the level that issued them -----------------------------


@pytest.fixture
def comprehensive():
    load_checklists()
    return ChecklistTemplate.objects.get(kind=ChecklistKind.COMPREHENSIVE)


def test_a_county_admin_cannot_publish_a_new_version_of_the_issuing_levels_checklist(client, comprehensive):
    county_admin = make_user(("220102", Department.HEALTH, Role.ADMIN))
    client.force_login(county_admin)
    response = client.post("/inspections/checklists/", {"template": comprehensive.pk})
    version = ChecklistVersion.objects.filter(template=comprehensive).order_by("-number").first()
    # What the county gets is its own version, not the template's next one.
    assert version.region == Region.objects.get(code="220102"), response
    assert comprehensive.latest_version().number == 1
    client.post(f"/inspections/checklists/versions/{version.pk}/", {"action": "add", "section": "1",
                                                                     "text": "本县自加检查项", "answer_type": "text"})
    client.post(f"/inspections/checklists/versions/{version.pk}/", {"action": "publish"})
    version.refresh_from_db()
    assert version.published
    assert comprehensive.latest_published().number == 1  # every other region still gets the issuer's


def test_a_county_admin_cannot_touch_the_issuing_levels_versions_or_items(client, comprehensive):
    county_admin = make_user(("220102", Department.HEALTH, Role.ADMIN))
    province_admin = make_user(("22", Department.HEALTH, Role.ADMIN))
    draft = inspection_services.checklist_version_create(actor=province_admin, template=comprehensive)
    assert draft.region is None and draft.number == 2
    with pytest.raises(PermissionDenied):
        inspection_services.checklist_version_publish(actor=county_admin, version=draft)
    with pytest.raises(PermissionDenied):
        inspection_services.checklist_item_add(actor=county_admin, version=draft, section_number="1", text="x")
    client.force_login(county_admin)
    client.post(f"/inspections/checklists/versions/{draft.pk}/", {"action": "publish"})
    draft.refresh_from_db()
    assert not draft.published
    own = inspection_services.checklist_version_create(actor=county_admin, template=comprehensive)
    inherited = own.items().filter(inherited=True).first()
    with pytest.raises(PermissionDenied):
        inspection_services.checklist_item_update(actor=county_admin, item=inherited, text="改掉上级条目",
                                                  answer_type="text", required=True, no_is_finding=False,
                                                  default_severity="low")


def test_a_lower_levels_version_serves_its_own_plans_only(comprehensive):
    county_admin = make_user(("220102", Department.HEALTH, Role.ADMIN))
    own = inspection_services.checklist_version_create(actor=county_admin, template=comprehensive)
    inspection_services.checklist_item_add(actor=county_admin, version=own, section_number="1", text="本县检查项")
    inspection_services.checklist_version_publish(actor=county_admin, version=own)
    world = make_world()  # a province plan: its new assignments keep the issuer's version
    assert world.comprehensive.checklist_version.region is None
    today = dt.date.today()
    county_plan = inspection_services.plan_create(
        actor=county_admin, region=Region.objects.get(code="220102"), name="县级检查", window_start=today,
        window_end=today + dt.timedelta(days=5), report_deadline=today + dt.timedelta(days=6))
    inspector = make_user(("220102", Department.HEALTH, Role.INSPECTOR))
    team = inspection_services.team_create(actor=county_admin, plan=county_plan, name="县一组", leader=inspector)
    assignment = inspection_services.assignment_create(actor=county_admin, team=team, kind=ChecklistKind.COMPREHENSIVE,
                                                       region=Region.objects.get(code="220102"))
    assert assignment.checklist_version == own
    with pytest.raises(Exception, match="其他地区"):
        inspection_services.assignment_create(actor=world.admin, team=world.other_team,
                                              kind=ChecklistKind.COMPREHENSIVE,
                                              region=Region.objects.get(code="220103"), checklist_version=own)


def test_another_countys_own_checklist_version_is_not_found(client, comprehensive):
    own = inspection_services.checklist_version_create(actor=make_user(("220102", Department.HEALTH, Role.ADMIN)),
                                                       template=comprehensive)
    client.force_login(make_user(("220103", Department.HEALTH, Role.ADMIN)))
    assert client.get(f"/inspections/checklists/versions/{own.pk}/").status_code == 404
    assert "220102" not in client.get("/inspections/checklists/").content.decode()


# ---- 2. The unannounced team does not leak to the inspected county ---------------------------


def test_the_inspected_county_admin_cannot_open_the_assignment_form_of_the_city_plan(client):
    world = make_world()
    county_admin = make_user(("220102", Department.HEALTH, Role.ADMIN))
    client.force_login(county_admin)
    assert client.get(f"/inspections/plans/{world.plan.pk}/").status_code == 200  # they see the plan
    for url in (f"/inspections/plans/{world.plan.pk}/assignments/new/", f"/inspections/plans/{world.plan.pk}/teams/new/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert world.team.name not in response.content.decode()


def outsiders():
    """People the Jilin plan's team may not take: an inspector of another province, and people of
    the plan's own region whose department × role may not fill checklists (a health clerk, an HRSS
    admin, a civil-affairs viewer)."""
    return [make_user(("37", Department.HEALTH, Role.INSPECTOR), username="sd_inspector"),
            make_user(("220102", Department.HEALTH, Role.CLERK), username="jl_health_clerk"),
            make_user(("22", Department.HRSS, Role.ADMIN), username="jl_hrss_admin"),
            make_user(("2201", Department.CIVIL_AFFAIRS, Role.VIEWER), username="cc_civil_viewer")]


def test_the_team_form_offers_and_accepts_only_the_plans_own_inspectors(client):
    world = make_world()
    others = outsiders()
    # Inspectors of every department inside the plan's region are offered (joint teams).
    joint = make_user(("220102", Department.EMERGENCY, Role.INSPECTOR), username="nanguan_emergency_inspector")
    client.force_login(world.admin)
    url = f"/inspections/plans/{world.plan.pk}/teams/new/"
    page = client.get(url).content.decode()
    assert "member1" in page and "leader1" in page and joint.username in page
    for other in others:
        assert other.username not in page
        for field in ("leader", "members", "liaison"):
            data = {"name": "第三组", "leader": world.member.pk, "liaison_phone": "13000000000", field: other.pk}
            response = client.post(url, data)
            assert response.status_code == 200, (other.username, field)  # the form again, with its error
            assert response.context["form"].errors.get(field), (other.username, field)
    assert not world.plan.teams.filter(name="第三组").exists()


@pytest.mark.parametrize("field", ["leader", "members", "liaison"])
def test_the_team_services_refuse_anyone_the_picker_does_not_offer(field):
    """The form is one way in; the services refuse the same people for any other (an API, a script)."""
    world = make_world()
    for other in outsiders():
        people = {"leader": world.member, "members": [], "liaison": None, "liaison_phone": "13000000000"}
        people[field] = [other] if field == "members" else other
        with pytest.raises(ValidationError) as refused:
            inspection_services.team_create(actor=world.admin, plan=world.plan, name="第三组", **people)
        assert set(refused.value.message_dict) == {field}
        assert other.display_name not in str(refused.value)
    assert list(world.team.members.all()) == [world.member]


def test_an_unannounced_target_outside_the_plan_is_only_said_to_be_registered_elsewhere(client):
    world = make_world()
    make_employer(county="371502", name="聊城某陶瓷厂", uscc="91371502MA3C4RPX2Q")
    client.force_login(world.admin)
    response = client.post(f"/inspections/plans/{world.plan.pk}/assignments/new/", {
        "team": world.team.pk, "kind": ChecklistKind.UNANNOUNCED, "employer_uscc": "91371502MA3C4RPX2Q"})
    page = response.content.decode()
    assert "已在其他地区登记" in page
    assert "聊城" not in page and "东昌府" not in page


# ---- 3. Plans of other regions do not leak ---------------------------------------------------


def test_the_campaign_dropdown_lists_only_plans_binding_the_admins_region(client):
    county_admin = make_user(("371502", Department.HEALTH, Role.ADMIN))
    neighbour_draft = Campaign.objects.create(region=Region.objects.get(code="371521"), name="阳谷县方案草稿",
                                              authority="阳谷县", first_year=2020, last_year=2020)
    province = Campaign.objects.create(region=Region.objects.get(code="37"), name="山东省实施方案",
                                       authority="山东省", first_year=2020, last_year=2020)
    client.force_login(county_admin)
    page = client.get("/dashboard/targets/").content.decode()
    assert province.name in page
    assert neighbour_draft.name not in page
    assert "辽宁省尘肺病防治攻坚行动实施方案" not in page


def test_the_targets_api_treats_another_regions_campaign_as_nonexistent(client):
    county_admin = make_user(("371502", Department.HEALTH, Role.ADMIN))
    liaoning = Campaign.objects.get(document_number="辽卫发〔2019〕68号")
    client.force_login(county_admin)
    response = client.post("/api/targets/targets/", {"campaign": liaoning.pk, "region": "371502",
                                                      "indicator": "declaration", "due_on": "2020-12-31",
                                                      "value": "90"}, content_type="application/json")
    assert response.status_code == 400
    assert "campaign" in response.json()
