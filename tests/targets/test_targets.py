import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from portal.models import Region, Role
from targets import selectors, services
from targets.models import Campaign, Target
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def liaoning_admin():
    return make_user("21", role=Role.ADMIN)


@pytest.fixture
def liaoning():
    return Campaign.objects.get(document_number="辽卫发〔2019〕68号")


@pytest.fixture
def shenyang():
    """A city's own plan under Liaoning's."""
    return Campaign.objects.create(region=Region.objects.get(code="2101"), name="沈阳市尘肺病防治攻坚行动实施方案",
                                   authority="沈阳市卫生健康委员会", first_year=2019, last_year=2020)


def test_seed_campaigns_are_loaded():
    rongchang = Target.objects.filter(region__code="500153", indicator="declaration").order_by("due_on")
    assert [(t.due_on, t.value) for t in rongchang] == [
        (datetime.date(2019, 12, 31), Decimal("80.00")), (datetime.date(2020, 9, 30), Decimal("95.00"))]
    zhongmou = Target.objects.get(region__code="410122", indicator="injury_insurance")
    assert zhongmou.value == Decimal("85.00") and zhongmou.due_on == datetime.date(2025, 12, 31)


def test_a_child_inherits_the_parents_target(liaoning):
    shenyang_heping = Region.objects.get(code="210102")
    targets = list(Target.objects.select_related("region"))
    effective = selectors.effective_targets(targets, shenyang_heping, datetime.date(2020, 6, 30))
    assert effective["declaration"].value == Decimal("80") and effective["declaration"].region_name == "辽宁省"
    later = selectors.effective_targets(targets, shenyang_heping, datetime.date(2020, 12, 31))
    assert later["declaration"].value == Decimal("95")


def test_a_stricter_child_target_wins(liaoning_admin, liaoning):
    city = Region.objects.get(code="2101")
    services.target_set(actor=liaoning_admin, campaign=liaoning, region=city, indicator="declaration",
                        due_on=datetime.date(2019, 12, 31), value=Decimal("90"))
    targets = list(Target.objects.select_related("region"))
    effective = selectors.effective_targets(targets, Region.objects.get(code="210102"), datetime.date(2020, 6, 30))
    assert effective["declaration"].value == Decimal("90") and effective["declaration"].region_name == "沈阳市"


def test_an_earlier_child_target_is_allowed(liaoning_admin, liaoning):
    """The city reaches the province's 95% a quarter earlier: accepted and stored as set."""
    services.target_set(actor=liaoning_admin, campaign=liaoning, region=Region.objects.get(code="2101"),
                        indicator="declaration", due_on=datetime.date(2020, 9, 30), value=Decimal("95"))
    stored = Target.objects.get(campaign=liaoning, region__code="2101", indicator="declaration")
    assert (stored.due_on, stored.value) == (datetime.date(2020, 9, 30), Decimal("95"))


def test_a_looser_child_target_is_refused_naming_the_parent(liaoning_admin, liaoning):
    with pytest.raises(ValidationError) as exc:
        services.target_set(actor=liaoning_admin, campaign=liaoning, region=Region.objects.get(code="2101"),
                            indicator="declaration", due_on=datetime.date(2020, 12, 31), value=Decimal("90"))
    message = exc.value.message_dict["value"][0]
    assert "辽宁省" in message and "95" in message and "2020-12-31" in message
    assert not Target.objects.filter(region__code="2101").exists()


@pytest.mark.parametrize("value, due_on, field", [
    (Decimal("101"), datetime.date(2020, 6, 30), "value"),
    (Decimal("-1"), datetime.date(2020, 6, 30), "value"),
    (Decimal("99"), datetime.date(2022, 1, 1), "due_on"),
])
def test_bad_targets_are_refused(liaoning_admin, liaoning, value, due_on, field):
    with pytest.raises(ValidationError) as exc:
        services.target_set(actor=liaoning_admin, campaign=liaoning, region=Region.objects.get(code="2101"),
                            indicator="declaration", due_on=due_on, value=value)
    assert field in exc.value.message_dict
    assert not Target.objects.filter(region__code="2101").exists()


def test_a_target_outside_the_subtree_is_refused(liaoning):
    city_admin = make_user("2101", role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        services.target_set(actor=city_admin, campaign=liaoning, region=Region.objects.get(code="2102"),
                            indicator="declaration", due_on=datetime.date(2019, 12, 31), value=Decimal("99"))


def test_the_targets_page_refuses_a_looser_target_with_the_message(client, shenyang):
    client.force_login(make_user("2101", role=Role.ADMIN))
    response = client.post(reverse("targets:targets"), {
        "campaign": shenyang.pk, "region": Region.objects.get(code="2101").pk, "indicator": "supervision",
        "due_on": "2020-12-31", "value": "50"})
    assert "目标不能宽于上级" in response.content.decode()


def test_the_api_refuses_a_looser_target(client, shenyang):
    client.force_login(make_user("2101", role=Role.ADMIN))
    response = client.post(reverse("target-list"), {
        "campaign": shenyang.pk, "region": "2101", "indicator": "supervision", "due_on": "2020-12-31",
        "value": "50"}, content_type="application/json")
    assert response.status_code == 400 and "辽宁省" in str(response.json())


def test_an_admin_adds_a_campaign_in_the_browser(client):
    client.force_login(make_user("2101", role=Role.ADMIN))
    response = client.post(reverse("targets:targets"), {
        "form": "campaign", "region": Region.objects.get(code="2101").pk, "name": "沈阳市尘肺病防治攻坚行动实施方案",
        "authority": "沈阳市卫生健康委员会", "document_number": "沈卫发〔2019〕1号", "first_year": "2019",
        "last_year": "2020"})
    assert response.status_code == 302
    assert Campaign.objects.filter(region__code="2101", document_number="沈卫发〔2019〕1号").exists()


def test_a_campaign_ending_before_it_starts_is_refused(client):
    client.force_login(make_user("2101", role=Role.ADMIN))
    response = client.post(reverse("targets:targets"), {
        "form": "campaign", "region": Region.objects.get(code="2101").pk, "name": "方案", "authority": "机关",
        "first_year": "2020", "last_year": "2019"})
    assert "终止年度不能早于起始年度" in response.content.decode()
    assert not Campaign.objects.filter(region__code="2101").exists()
