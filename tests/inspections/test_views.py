import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from inspections import services
from inspections.models import Finding, FindingStatus, InspectionStatus
from tests.factories import make_user, signed_in
from tests.inspections.factories import SIGNATURE, fill_all, make_world

pytestmark = pytest.mark.django_db


def test_team_member_opens_the_tablet_page_other_team_gets_404():
    w = make_world()
    url = reverse("inspections:fill", args=[w.unannounced.pk])
    page = signed_in(w.member).get(url)
    assert page.status_code == 200 and "长春某水泥有限公司" in page.content.decode()
    assert 'data-can-fill="1"' in page.content.decode()
    assert signed_in(w.other_leader).get(url).status_code == 404
    assert signed_in(w.county_clerk).get(url).status_code == 404  # unannounced: hidden until submitted
    comprehensive = signed_in(w.county_clerk).get(reverse("inspections:fill", args=[w.comprehensive.pk]))
    assert comprehensive.status_code == 200 and 'data-can-fill="0"' in comprehensive.content.decode()


def test_index_lists_my_assignments_and_plans():
    w = make_world()
    body = signed_in(w.member).get(reverse("inspections:index")).content.decode()
    assert "本组检查任务" in body and "长春某水泥有限公司" in body
    assert signed_in(make_user("220102", role="viewer")).get(reverse("inspections:index")).status_code == 200


def test_service_worker_and_manifest_are_served_under_inspections():
    response = Client().get("/inspections/sw.js")
    assert response.status_code == 200 and response["Service-Worker-Allowed"] == "/inspections/"
    assert "javascript" in response["Content-Type"]
    manifest = Client().get("/inspections/manifest.webmanifest").json()
    assert manifest["scope"] == "/inspections/" and manifest["display"] == "standalone"


def test_admin_creates_plan_team_and_assignment_in_the_browser_forms():
    w = make_world()
    c = signed_in(w.admin)
    from portal.models import Region

    r = c.post(reverse("inspections:plan-create"), {
        "region": Region.objects.get(code="22").pk, "name": "第二轮督导", "document_number": "吉尘防办发〔2020〕3号",
        "window_start": "2020-07-20", "window_end": "2020-07-10", "report_deadline": "2020-07-31"})
    assert "检查结束日期不能早于开始日期" in r.content.decode()
    r = c.post(reverse("inspections:team-create", args=[w.plan.pk]), {
        "name": "第三组", "leader": w.member.pk, "members": [w.other_leader.pk], "liaison": w.other_leader.pk,
        "liaison_phone": ""})
    assert "请填写联络员电话" in r.content.decode()
    r = c.post(reverse("inspections:assignment-create", args=[w.plan.pk]), {
        "team": w.other_team.pk, "kind": "unannounced", "employer_uscc": "NOPE"})
    assert "未找到" in r.content.decode()
    r = c.post(reverse("inspections:assignment-create", args=[w.plan.pk]), {
        "team": w.other_team.pk, "kind": "comprehensive", "region": Region.objects.get(code="2202").pk})
    assert r.status_code == 302
    assert signed_in(w.member).get(reverse("inspections:plan-create")).status_code == 403


def test_submit_form_lists_blank_items_and_leader_signs_report():
    w = make_world()
    fill_all(w.unannounced, w.member, skip={"1.3"})
    c = signed_in(w.member)
    r = c.post(reverse("inspections:submit", args=[w.unannounced.pk]), follow=True)
    assert "不得空项" in r.content.decode() and "1.3 如实申报粉尘危害项目" in r.content.decode()
    fill_all(w.unannounced, w.member, value_for={"1.3": "no"},
             skip={i.number for i in w.unannounced.checklist_version.items() if i.number != "1.3"})
    r = c.post(reverse("inspections:submit", args=[w.unannounced.pk]))
    assert r.status_code == 302
    inspection = w.unannounced.inspection
    report = signed_in(w.leader).get(reverse("inspections:report", args=[inspection.pk])).content.decode()
    assert "组长审阅签字" in report
    r = signed_in(w.leader).post(reverse("inspections:sign", args=[inspection.pk]),
                                  {"signature": SIGNATURE, "highlights": "台帐规范", "problems": "未申报"})
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SIGNED and inspection.highlights == "台帐规范"
    xlsx = signed_in(w.leader).get(reverse("inspections:report-xlsx", args=[inspection.pk]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    plan_xlsx = signed_in(w.admin).get(reverse("inspections:plan-report-xlsx", args=[w.plan.pk]))
    assert plan_xlsx.status_code == 200
    assert "已签字 1" in signed_in(w.admin).get(reverse("inspections:plan-report", args=[w.plan.pk])).content.decode() \
        or "组长已签字 1" in signed_in(w.admin).get(reverse("inspections:plan-report", args=[w.plan.pk])).content.decode()


def test_findings_county_rectifies_team_verifies_or_reopens():
    w = make_world()
    fill_all(w.unannounced, w.member, value_for={"1.5": "no", "1.6": "no"})
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    findings = list(Finding.objects.order_by("item__order"))
    assert len(findings) == 2 and all(f.employer == w.employer for f in findings)
    snippet = signed_in(w.county_clerk).get(reverse("inspections:employer-findings", args=[w.employer.pk]))
    assert "防尘设施正常运行" in snippet.content.decode()
    assert signed_in(make_user("220103")).get(
        reverse("inspections:finding", args=[findings[0].pk])).status_code == 404
    c = signed_in(w.county_clerk)
    r = c.post(reverse("inspections:finding", args=[findings[0].pk]), {"action": "rectify", "note": ""})
    assert "This field" in r.content.decode() or "必填" in r.content.decode() or "整改" in r.content.decode()
    c.post(reverse("inspections:finding", args=[findings[0].pk]), {"action": "rectify", "note": "已维修除尘器"})
    findings[0].refresh_from_db()
    assert findings[0].status == FindingStatus.RECTIFIED
    with pytest.raises(PermissionDenied):
        services.finding_review(actor=w.county_clerk, finding=findings[0], outcome="verified")
    services.finding_review(actor=w.leader, finding=findings[0], outcome="reopened", comment="仍未运行")
    findings[0].refresh_from_db()
    assert findings[0].status == FindingStatus.REOPENED
    services.finding_rectify(actor=w.county_clerk, finding=findings[0], note="更换风机")
    services.finding_review(actor=w.admin, finding=findings[0], outcome="verified")
    findings[0].refresh_from_db()
    assert findings[0].status == FindingStatus.VERIFIED
    Finding.objects.filter(pk=findings[1].pk).update(deadline="2020-01-01")
    page = signed_in(w.city_clerk).get(reverse("inspections:findings") + "?level=3").content.decode()
    assert "逾期" in page and "南关区" in page
    from inspections import selectors

    assert selectors.overdue_by_region(actor=w.city_clerk, level=3) == [{"code": "220102", "name": "南关区", "count": 1}]


def test_checklist_version_editing_in_the_browser():
    w = make_world()
    from inspections.models import ChecklistTemplate

    c = signed_in(w.admin)
    template = ChecklistTemplate.objects.get(kind="unannounced")
    r = c.post(reverse("inspections:checklists"), {"template": template.pk})
    version = template.latest_version()
    assert r.status_code == 302 and version.number == 2
    item = version.items().first()
    r = c.post(reverse("inspections:checklist-item", args=[item.pk]), {
        "text": "设置职业健康管理机构", "answer_type": "single_choice", "choices": "", "required": "on",
        "default_severity": "low"})
    assert "单选题至少需要一个选项" in r.content.decode()
    c.post(reverse("inspections:checklist-item", args=[item.pk]), {
        "text": "设置职业健康管理机构", "answer_type": "yes_no_na", "required": "on", "no_is_finding": "on",
        "default_severity": "low"})
    c.post(reverse("inspections:checklist-version", args=[version.pk]), {"action": "publish"})
    version.refresh_from_db()
    assert version.published and version.items().first().text == "设置职业健康管理机构"
    # The running assignment keeps the version it started with.
    assert w.unannounced.checklist_version.number == 1


def test_reassigned_or_closed_assignment_page_is_read_only_and_grants_use_the_direct_fk_table():
    from inspections.models import AssignmentUserObjectPermission

    w = make_world()
    assert AssignmentUserObjectPermission.objects.filter(content_object=w.comprehensive).count() == 2  # leader, member
    services.assignment_reassign(actor=w.admin, assignment=w.comprehensive, team=w.other_team)
    body = signed_in(w.member).get(reverse("inspections:fill", args=[w.comprehensive.pk])).content.decode()
    assert 'data-can-fill="0"' in body and "已改派给其他检查组" in body
    services.plan_close(actor=w.admin, plan=w.plan)
    body = signed_in(w.member).get(reverse("inspections:fill", args=[w.unannounced.pk])).content.decode()
    assert 'data-can-fill="0"' in body


def test_the_plan_admin_reassigns_an_assignment_on_its_page_and_the_old_team_is_told():
    from inspections.models import Assignment, AssignmentStatus

    w = make_world()
    admin = signed_in(w.admin)
    plan_page = admin.get(reverse("inspections:plan", args=[w.plan.pk])).content.decode()
    url = reverse("inspections:assignment-reassign", args=[w.comprehensive.pk])
    assert f'href="{url}"' in plan_page
    form = admin.get(url).content.decode()
    assert w.other_team.name in form and f'value="{w.team.pk}"' not in form  # not to the team it has

    response = admin.post(url, {"team": w.other_team.pk}, follow=True)
    assert "检查任务已改派。" in response.content.decode()
    w.comprehensive.refresh_from_db()
    assert w.comprehensive.status == AssignmentStatus.REASSIGNED
    moved = Assignment.objects.get(plan=w.plan, team=w.other_team, region=w.comprehensive.region)
    assert moved.status == AssignmentStatus.ACTIVE and moved.kind == w.comprehensive.kind
    assert f'href="{url}"' not in admin.get(reverse("inspections:plan", args=[w.plan.pk])).content.decode()
    body = signed_in(w.member).get(reverse("inspections:fill", args=[w.comprehensive.pk])).content.decode()
    assert "已改派给其他检查组" in body

    again = admin.post(url, {"team": w.other_team.pk})  # the same form sent twice
    assert again.status_code == 200 and "该任务已改派过。" in again.content.decode()
    assert Assignment.objects.filter(plan=w.plan).count() == 3


def test_only_the_issuing_admin_may_reassign():
    w = make_world()
    url = reverse("inspections:assignment-reassign", args=[w.comprehensive.pk])
    assert signed_in(w.leader).post(url, {"team": w.other_team.pk}).status_code in (403, 404)
    assert signed_in(w.county_clerk).get(url).status_code in (403, 404)
    w.comprehensive.refresh_from_db()
    assert w.comprehensive.status == "active"
