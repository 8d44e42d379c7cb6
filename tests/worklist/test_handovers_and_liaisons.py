"""Hand-over deadlines set by the province, the hand-over status page, and the liaison list."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from insurance import services as insurance_services
from ledger import services as ledger_services
from portal.models import Department, Region, Role
from tests.factories import make_user
from worklist import services
from worklist.models import Liaison
from worklist.selectors import handover_status, work_list

pytestmark = pytest.mark.django_db


def test_only_the_province_sets_the_hand_over_deadline(current_period, today):
    province = Region.objects.get(code="37")
    with pytest.raises(PermissionDenied):
        services.handover_deadline_set(actor=make_user(("3715", Department.HEALTH, Role.ADMIN)),
                                       period=current_period, region=province, deadline=today)
    with pytest.raises(ValidationError):
        services.handover_deadline_set(actor=make_user(("37", Department.HEALTH, Role.ADMIN)), period=current_period,
                                       region=Region.objects.get(code="3715"), deadline=today)
    services.handover_deadline_set(actor=make_user(("37", Department.HEALTH, Role.ADMIN)), period=current_period,
                                   region=province, deadline=today + datetime.timedelta(days=3))


def test_the_status_page_shows_on_time_late_and_not_yet(client, current_period, today):
    admin = make_user(("37", Department.HEALTH, Role.ADMIN))
    services.handover_deadline_set(actor=admin, period=current_period, region=Region.objects.get(code="37"),
                                   deadline=today - datetime.timedelta(days=1))
    clerk = make_user("371502")
    dcf = Region.objects.get(code="371502")
    ledger_services.period_open_county(actor=clerk, period=current_period, county=dcf)
    insurance_services.ledger_handover(actor=clerk, period=current_period, county=dcf)
    rows = {row.county.code: row.state for row in
            handover_status(actor=admin, period=current_period, region=Region.objects.get(code="3715"))}
    assert rows["371502"] == "late" and rows["371521"] == "overdue"
    client.force_login(make_user(("3715", Department.HRSS, Role.VIEWER)))
    body = client.get(reverse("worklist:handovers"), {"period": current_period.code}).content.decode()
    assert "逾期移交" in body and "逾期未移交" in body


def test_a_county_clerk_sees_the_hand_over_due_until_it_is_made(current_period, today):
    services.handover_deadline_set(actor=make_user(("37", Department.HEALTH, Role.ADMIN)), period=current_period,
                                   region=Region.objects.get(code="37"), deadline=today + datetime.timedelta(days=4))
    clerk = make_user("371502")
    [due] = [i for i in work_list(clerk).items if i.kind == "handover_due"]
    assert due.days_left == 4
    dcf = Region.objects.get(code="371502")
    ledger_services.period_open_county(actor=clerk, period=current_period, county=dcf)
    insurance_services.ledger_handover(actor=clerk, period=current_period, county=dcf)
    assert "handover_due" not in [i.kind for i in work_list(clerk).items]


def test_each_department_admin_keeps_its_own_liaisons(client):
    county = Region.objects.get(code="371502")
    hrss_admin = make_user(("371502", Department.HRSS, Role.ADMIN))
    health_admin = make_user(("371502", Department.HEALTH, Role.ADMIN))
    assert [i.kind for i in work_list(hrss_admin).items].count("liaison") == 1
    services.liaison_save(actor=hrss_admin, region=county, department=Department.HRSS,
                          data={"name": "赵敏", "unit": "东昌府区人力资源和社会保障局", "post": "工伤保险股股长",
                                "phone": "0635-8219876"})
    assert "liaison" not in [i.kind for i in work_list(hrss_admin).items]
    with pytest.raises(PermissionDenied):
        services.liaison_save(actor=health_admin, region=county, department=Department.HRSS,
                              data={"name": "某人", "unit": "某单位", "phone": "123456"})
    with pytest.raises(PermissionDenied):
        services.liaison_save(actor=make_user(("371502", Department.HRSS, Role.CLERK)), region=county,
                              department=Department.HRSS, data={"name": "某人", "unit": "某单位", "phone": "123456"})
    with pytest.raises(ValidationError) as excinfo:
        services.liaison_save(actor=health_admin, region=county, department=Department.HEALTH,
                              data={"name": "", "unit": "卫健局", "phone": "电话"})
    assert set(excinfo.value.message_dict) == {"name", "phone"}
    assert Liaison.objects.count() == 1
    client.force_login(health_admin)
    body = client.get(reverse("worklist:liaisons"), {"region": "371502"}).content.decode()
    assert "赵敏" in body and "0635-8219876" in body
    client.force_login(make_user("371521"))
    body = client.get(reverse("worklist:liaisons"), {"region": "371502"}).content.decode()
    assert "赵敏" not in body and "阳谷县" in body


def test_the_hand_over_page_shows_both_departments_liaisons(client, current_period):
    county = Region.objects.get(code="371502")
    clerk = make_user("371502")
    hrss = make_user(("371502", Department.HRSS, Role.CLERK))
    services.liaison_save(actor=make_user(("371502", Department.HEALTH, Role.ADMIN)), region=county,
                          department=Department.HEALTH,
                          data={"name": "孙丽", "unit": "东昌府区卫生健康局", "post": "职业健康科科长",
                                "phone": "0635-8211111"})
    ledger_services.period_open_county(actor=clerk, period=current_period, county=county)
    handover = insurance_services.ledger_handover(actor=clerk, period=current_period, county=county)
    client.force_login(hrss)
    body = client.get(reverse("insurance:handover-detail", args=[handover.pk])).content.decode()
    assert "孙丽" in body and "职业健康科科长" in body
