"""The audit search and change history in Chinese."""

import datetime

import pytest
from django.urls import reverse

from ledger import services as ledger_services
from ledger.models import EmployerRecord, Industry
from portal.models import Department, Region, Role
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import make_user
from worklist import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed(current_period):
    clerk = make_user("371502", display_name="李娜")
    employer = ledger_services.employer_create(actor=clerk, data={
        "uscc": "91370102000000019K", "name": "聊城某铸造厂", "county": Region.objects.get(code="371502"),
        "workplace_address": "工业园1号", "industry": Industry.objects.get(code="3391"), "size": "small",
        "ownership": "private", "legal_representative": "张三", "status": "operating"})
    ledger_services.period_open_county(actor=clerk, period=current_period, county=Region.objects.get(code="371502"))
    record = EmployerRecord.objects.get(employer=employer, period=current_period)
    ledger_services.record_update(actor=clerk, record=record, data={
        "total_workers": 40, "exposed_workers": 10, "hazard_declared": True,
        "declared_on": datetime.date(2020, 3, 1)}, expected_version=record.version)
    return clerk, employer


def test_change_history_reads_in_chinese(client, changed):
    _clerk, employer = changed
    client.force_login(make_user("3715", role=Role.VIEWER))
    body = client.get(reverse("ledger:employer-detail", args=[employer.pk])).content.decode()
    assert "申报日期: 空 → 2020-03-01" in body
    assert "是否申报: 否 → 是" in body
    assert "hazard_declared" not in body and "declared_on" not in body


def test_an_admin_finds_who_changed_what_and_from_where(client, changed):
    clerk, employer = changed
    admin = make_user(("3715", Department.HEALTH, Role.ADMIN))
    client.force_login(admin)
    response = client.get(reverse("worklist:audit"), {"person": "李娜", "employer": "聊城某铸造厂",
                                                      "what": "ledger.EmployerRecordEvent", "operation": "update"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "申报日期: 空 → 2020-03-01" in body and "李娜" in body
    sheet = inline_workbook(client, reverse("worklist:audit") + "?person=李娜&format=xlsx").active
    rows = list(sheet.values)
    assert rows[0][:3] == ("时间", "操作人", "来源地址")
    assert any("是否申报: 否 → 是" in (row[7] or "") for row in rows[1:])


def test_the_request_address_is_recorded(client, current_period):
    admin = make_user(("371502", Department.HRSS, Role.ADMIN))
    client.force_login(admin)
    client.post(reverse("worklist:liaisons") + "?region=371502", {
        "region": "371502", "department": "hrss", "name": "赵敏", "unit": "人社局", "phone": "0635-8219876"},
        REMOTE_ADDR="10.37.15.8")
    body = client.get(reverse("worklist:audit"), {"what": "worklist.LiaisonEvent"}).content.decode()
    assert "10.37.15.8" in body and "赵敏" in body


def test_a_county_admin_searching_another_county_gets_nothing_of_it(client, changed):
    client.force_login(make_user(("371521", Department.HEALTH, Role.ADMIN)))
    response = client.get(reverse("worklist:audit"), {"region": "371502"})
    assert response.status_code == 200
    assert "聊城某铸造厂" not in response.content.decode()
    response = client.get(reverse("worklist:audit"), {"q": "1"})
    assert "聊城某铸造厂" not in response.content.decode()


def test_another_departments_admin_does_not_see_health_changes(client, changed):
    client.force_login(make_user(("3715", Department.HRSS, Role.ADMIN)))
    body = client.get(reverse("worklist:audit"), {"q": "1"}).content.decode()
    assert "聊城某铸造厂" not in body
    services.liaison_save(actor=make_user(("3715", Department.HRSS, Role.ADMIN)), region=Region.objects.get(code="3715"),
                          department="hrss", data={"name": "钱多", "unit": "聊城市人社局", "phone": "0635-1234567"})
    body = client.get(reverse("worklist:audit"), {"q": "1"}).content.decode()
    assert "钱多" in body


def test_inspection_entries_stored_under_their_old_chinese_names_read_as_new_ones():
    """The migration rewrites the names the inspections app stored before AuditAction existed, so
    old and new entries are one action, shown with the same Chinese label."""
    import importlib
    import uuid

    from django.db import connection
    from pghistory.models import Context

    from portal.audit import AuditAction, action_label

    migration = importlib.import_module("portal.migrations.0003_audit_action_names")
    old = Context.objects.create(id=uuid.uuid4(), metadata={"action": "检查表提交", "user": 1})
    other = Context.objects.create(id=uuid.uuid4(), metadata={"action": "employer_create"})
    migration.rename(migration.RENAMED)(None, type("Editor", (), {"connection": connection})())
    old.refresh_from_db()
    other.refresh_from_db()
    assert old.metadata == {"action": AuditAction.INSPECTION_SUBMIT.value, "user": 1}
    assert other.metadata == {"action": "employer_create"}
    assert action_label(old.metadata["action"]) == "检查表提交"
    assert set(migration.RENAMED.values()) <= set(AuditAction.values)


@pytest.mark.django_db(transaction=True)
def test_a_large_audit_export_is_written_by_the_worker_and_only_for_its_requester(
        worker_media, reference_data, client, changed, settings):
    admin = make_user(("3715", Department.HEALTH, Role.ADMIN))
    client.force_login(admin)
    url = reverse("worklist:audit") + "?person=李娜&format=xlsx"
    inline = inline_workbook(client, url)
    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
    background, token = export_in_background(client, url)
    assert sheet_values(background) == sheet_values(inline) and len(sheet_values(inline)[0]) > 2
    assert_only_the_requester_may_fetch(client, token, [make_user(("3715", Department.HEALTH, Role.VIEWER)),
                                                        make_user(("371521", Department.HEALTH, Role.ADMIN))])
