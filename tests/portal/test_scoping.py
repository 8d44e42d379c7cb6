"""Scoping: a county user sees their county, a city user its counties, a province user the
province, two memberships the union, and nobody a sibling's data — in selectors, HTML and API."""

import pytest
from django.urls import reverse

from ledger.models import Employer
from portal.models import Department, Region, Role
from portal.scoping import Capability, Scope, scope_for
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

LIAOCHENG, DONGCHANGFU, YANGGU = "3715", "371502", "371521"
JINAN_LIXIA = "370102"


@pytest.fixture
def employers():
    return {
        code: make_employer(county=code, name=f"{code}单位")
        for code in (DONGCHANGFU, YANGGU, JINAN_LIXIA, "210102")
    }


def visible_employer_counties(user) -> set[str]:
    return set(
        scope_for(user, Capability.LEDGER_VIEW).filter(Employer.objects.all()).values_list("county__code", flat=True)
    )


def test_county_user_sees_only_their_county(employers):
    assert visible_employer_counties(make_user(DONGCHANGFU)) == {DONGCHANGFU}


def test_city_user_sees_their_counties(employers):
    assert visible_employer_counties(make_user(LIAOCHENG)) == {DONGCHANGFU, YANGGU}


def test_province_user_sees_the_province(employers):
    assert visible_employer_counties(make_user("37")) == {DONGCHANGFU, YANGGU, JINAN_LIXIA}


def test_a_national_user_sees_every_province_through_their_ids_not_a_subquery(employers):
    """PostgreSQL misjudged a subquery of regions as a few hundred rows and sorted every employer
    of the country for a national viewer's first page (2 s under load)."""
    user = make_user(Region.objects.get(level=0).code)
    assert visible_employer_counties(user) == {DONGCHANGFU, YANGGU, JINAN_LIXIA, "210102"}
    sql = str(scope_for(user, Capability.LEDGER_VIEW).filter(Employer.objects.all()).query)
    assert "portal_region" not in sql.split("WHERE", 1)[1]


def test_two_memberships_see_the_union(employers):
    user = make_user(DONGCHANGFU, JINAN_LIXIA)
    assert visible_employer_counties(user) == {DONGCHANGFU, JINAN_LIXIA}


def test_no_membership_sees_nothing(employers):
    assert visible_employer_counties(make_user()) == set()


def test_capability_comes_from_the_table_not_from_the_membership_alone(employers):
    """A health viewer may read the ledger but not edit it; an HRSS clerk may not edit it."""
    viewer = make_user(DONGCHANGFU, role=Role.VIEWER)
    hrss_clerk = make_user(DONGCHANGFU, department=Department.HRSS, role=Role.CLERK)
    assert not scope_for(viewer, Capability.LEDGER_EDIT)
    assert not scope_for(hrss_clerk, Capability.LEDGER_EDIT)
    assert scope_for(hrss_clerk, Capability.INSURANCE_EDIT).contains(Region.objects.get(code=DONGCHANGFU))


def test_nested_memberships_collapse_to_the_outer_region():
    user = make_user(LIAOCHENG, DONGCHANGFU)
    scope = scope_for(user, Capability.LEDGER_VIEW)
    assert [r.path for r in scope.regions] == ["100000/37/3715/"]


def test_township_membership_sees_only_employers_of_its_township():
    township = Region.objects.filter(parent__code=DONGCHANGFU, level=4).order_by("code")[0]
    inside = make_employer(county=DONGCHANGFU, township=township.code)
    make_employer(county=DONGCHANGFU)
    user = make_user(township.code)
    assert list(scope_for(user, Capability.LEDGER_VIEW).filter(Employer.objects.all())) == [inside]


def test_empty_scope_filters_everything_out(employers):
    assert not Scope().filter(Employer.objects.all()).exists()


# ---- API ------------------------------------------------------------------------------------


def api_region_codes(client, user, **params) -> set[str]:
    client.force_login(user)
    codes, url = set(), reverse("region-list")
    response = client.get(url, {"page_size": 1000, **params})
    assert response.status_code == 200
    data = response.json()
    codes.update(r["code"] for r in data["results"])
    while data["next"]:
        data = client.get(data["next"]).json()
        codes.update(r["code"] for r in data["results"])
    return codes


def test_api_regions_county_user(client):
    codes = api_region_codes(client, make_user(DONGCHANGFU), level=3)
    assert codes == {DONGCHANGFU}


def test_api_regions_city_user_sees_its_counties_not_siblings(client):
    codes = api_region_codes(client, make_user(LIAOCHENG), level=3)
    assert DONGCHANGFU in codes and YANGGU in codes
    assert JINAN_LIXIA not in codes
    assert all(code.startswith("3715") for code in codes)


def test_api_regions_province_user(client):
    codes = api_region_codes(client, make_user("37"), level=2)
    assert codes == set(Region.objects.filter(level=2, code__startswith="37").values_list("code", flat=True))


def test_api_regions_union_of_two_memberships(client):
    codes = api_region_codes(client, make_user(DONGCHANGFU, "210102"), level=3)
    assert codes == {DONGCHANGFU, "210102"}


def test_api_detail_of_a_sibling_region_is_not_found(client):
    client.force_login(make_user(DONGCHANGFU))
    sibling = Region.objects.get(code=YANGGU)
    assert client.get(reverse("region-detail", args=[sibling.pk])).status_code == 404


def test_api_refuses_a_user_without_membership(client):
    client.force_login(make_user())
    assert client.get(reverse("region-list")).status_code == 403


def test_api_requires_login(client):
    assert client.get(reverse("region-list")).status_code in (401, 403)


# ---- HTML -----------------------------------------------------------------------------------


def test_html_regions_page_county_admin_sees_only_their_county(client):
    client.force_login(make_user(DONGCHANGFU, role=Role.ADMIN))
    body = client.get(reverse("regions")).content.decode()
    assert "东昌府区" in body and "阳谷县" not in body
    assert client.get(reverse("regions"), {"parent": YANGGU}).status_code == 404


def test_html_regions_page_city_admin_sees_its_counties(client):
    client.force_login(make_user(LIAOCHENG, role=Role.ADMIN))
    body = client.get(reverse("regions"), {"parent": LIAOCHENG}).content.decode()
    assert "东昌府区" in body and "阳谷县" in body and "历下区" not in body
    assert client.get(reverse("regions"), {"parent": "3701"}).status_code == 404


def test_html_users_page_shows_only_users_in_the_admins_subtree(client):
    admin = make_user(DONGCHANGFU, role=Role.ADMIN, username="dcf_admin")
    make_user(DONGCHANGFU, username="dcf_clerk")
    make_user(YANGGU, username="yg_clerk")
    make_user(LIAOCHENG, username="lc_clerk")
    client.force_login(admin)
    body = client.get(reverse("users")).content.decode()
    assert "dcf_clerk" in body
    assert "yg_clerk" not in body and "lc_clerk" not in body


def test_html_page_refused_without_the_capability(client):
    client.force_login(make_user(DONGCHANGFU, role=Role.CLERK))
    response = client.get(reverse("users"))
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


def test_a_national_member_sees_every_province_and_a_province_member_only_its_own():
    for county in ("371502", "210102", "500153"):
        make_employer(county=county)
    national = make_user("100000", role="viewer")
    shandong = make_user("37", role="viewer")
    seen = scope_for(national, Capability.LEDGER_VIEW).filter(Employer.objects.all())
    assert set(seen.values_list("province__code", flat=True)) == {"37", "21", "50"}
    seen = scope_for(shandong, Capability.LEDGER_VIEW).filter(Employer.objects.all())
    assert set(seen.values_list("province__code", flat=True)) == {"37"}
