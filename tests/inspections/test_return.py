"""The leader returns a submitted checklist to the team for correction (退回修改)."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from inspections import services
from inspections.models import Answer, Finding, FindingStatus, InspectionStatus, PlanStatus
from tests.factories import signed_in
from tests.inspections.factories import PNG, SIGNATURE, fill_all, make_world, this_half_period

pytestmark = pytest.mark.django_db


def finding_items(assignment, count):
    return list(assignment.checklist_version.items().filter(no_is_finding=True)[:count])


def submit(w, *, no=()):
    fill_all(w.unannounced, w.member, value_for={item.number: "no" for item in no})
    return services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)


def answer(w, item, value):
    """Changes one answer on top of the server's copy, as a tablet would."""
    current = Answer.objects.get(inspection=w.unannounced.inspection, item=item)
    return services.answers_sync(actor=w.member, assignment=w.unannounced, changes=[{
        "client_uuid": str(uuid.uuid4()), "checklist_version": w.unannounced.checklist_version_id,
        "base_version": current.version, "item": item.pk, "value": value, "note": ""}])


def test_only_the_leader_returns_a_submitted_checklist_with_a_reason():
    w = make_world()
    fill_all(w.unannounced, w.member)
    draft = w.unannounced.inspection
    with pytest.raises(ValidationError, match="尚未提交"):
        services.inspection_return(actor=w.leader, inspection=draft, reason="1.5 答错")
    inspection = services.inspection_submit(actor=w.member, inspection=draft)
    for outsider in (w.member, w.other_leader, w.admin):
        with pytest.raises(PermissionDenied, match="只有检查组组长可以退回修改"):
            services.inspection_return(actor=outsider, inspection=inspection, reason="1.5 答错")
    for blank in ("", "   \n"):
        with pytest.raises(ValidationError) as exc:
            services.inspection_return(actor=w.leader, inspection=inspection, reason=blank)
        assert exc.value.message_dict == {"reason": ["请填写退回原因。"]}
    with pytest.raises(ValidationError, match="退回原因过长（最多 1000 字，现有 1001 字）"):
        services.inspection_return(actor=w.leader, inspection=inspection, reason="错" * 1001)
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SUBMITTED and inspection.returned_at is None

    services.inspection_return(actor=w.leader, inspection=inspection, reason="  1.5 现场风机未运行，应答“否”  ")
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.DRAFT and inspection.is_returned
    assert inspection.returned_by == w.leader and inspection.returned_at is not None
    assert inspection.return_reason == "1.5 现场风机未运行，应答“否”"
    event = inspection.events.order_by("pgh_id").last()
    assert event.status == InspectionStatus.DRAFT and event.return_reason == inspection.return_reason
    assert event.pgh_context.metadata["action"] == "inspection_return"
    assert event.pgh_context.metadata["user"] == w.leader.pk
    assert event.pgh_context.metadata["inspection"] == inspection.pk


def test_a_signed_checklist_stays_locked():
    w = make_world()
    inspection = submit(w)
    services.inspection_sign(actor=w.leader, inspection=inspection, signature=SIGNATURE)
    with pytest.raises(ValidationError, match="已签字锁定，不能退回修改"):
        services.inspection_return(actor=w.leader, inspection=inspection, reason="1.5 答错")
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SIGNED and inspection.returned_at is None


def test_no_return_when_the_team_could_no_longer_correct_it():
    w = make_world()
    inspection = submit(w)
    w.plan.status = PlanStatus.CLOSED
    w.plan.save()
    with pytest.raises(ValidationError, match="检查计划已结束"):
        services.inspection_return(actor=w.leader, inspection=inspection, reason="1.5 答错")
    w.plan.status = PlanStatus.OPEN
    w.plan.window_end = w.plan.report_deadline = timezone.localdate() - dt.timedelta(days=1)
    w.plan.save()  # open until tonight's job closes it, but the team's access has ended
    with pytest.raises(ValidationError, match="已过报告报送截止日期"):
        services.inspection_return(actor=w.leader, inspection=inspection, reason="1.5 答错")
    w.plan.window_end = w.plan.report_deadline = timezone.localdate()
    w.plan.save()
    services.assignment_reassign(actor=w.admin, assignment=w.unannounced, team=w.other_team)
    with pytest.raises(ValidationError, match="已改派"):
        services.inspection_return(actor=w.leader, inspection=inspection, reason="1.5 答错")
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SUBMITTED


def test_answers_and_photos_are_accepted_again_after_a_return_and_refused_after_resubmission():
    w = make_world()
    inspection = submit(w)
    item = finding_items(w.unannounced, 1)[0]
    photo_item = w.unannounced.checklist_version.items().filter(answer_type="photo").first()
    with pytest.raises(ValidationError, match="已提交"):
        answer(w, item, "no")
    services.inspection_return(actor=w.leader, inspection=inspection, reason=f"{item.number} 应答“否”")

    assert answer(w, item, "no").http_status == 200
    assert Answer.objects.get(inspection=inspection, item=item).value == "no"
    services.photo_upload(actor=w.member, assignment=w.unannounced, item_id=photo_item.pk,
                          client_uuid=str(uuid.uuid4()),
                          upload=SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    resubmitted = services.inspection_submit(actor=w.member, inspection=inspection)
    assert resubmitted.status == InspectionStatus.SUBMITTED and not resubmitted.is_returned
    assert resubmitted.return_reason == f"{item.number} 应答“否”"  # kept as the record of the return
    assert Finding.objects.get(inspection=inspection).item == item
    with pytest.raises(ValidationError, match="已提交"):
        answer(w, item, "yes")
    services.inspection_sign(actor=w.leader, inspection=resubmitted, signature=SIGNATURE)


def test_resubmission_drops_only_the_untouched_findings_whose_answer_changed():
    w = make_world()
    stale, rectified, reopened, still_no, new_no = finding_items(w.unannounced, 5)
    inspection = submit(w, no=(stale, rectified, reopened, still_no))
    first = {f.item_id: f for f in Finding.objects.filter(inspection=inspection)}
    assert len(first) == 4
    services.finding_rectify(actor=w.county_clerk, finding=first[rectified.pk], note="已维修除尘器")
    services.finding_rectify(actor=w.county_clerk, finding=first[reopened.pk], note="已张贴告知卡")
    services.finding_review(actor=w.leader, finding=first[reopened.pk], outcome=FindingStatus.REOPENED,
                            comment="告知卡内容不全")

    services.inspection_return(actor=w.leader, inspection=inspection, reason="几项答案有误")
    for item in (stale, rectified, reopened):
        answer(w, item, "yes")
    answer(w, new_no, "no")
    services.inspection_submit(actor=w.member, inspection=inspection)

    after = {f.item_id: f for f in Finding.objects.filter(inspection=inspection)}
    assert set(after) == {rectified.pk, reopened.pk, still_no.pk, new_no.pk}
    assert after[rectified.pk].status == FindingStatus.RECTIFIED and after[rectified.pk].evidence.count() == 1
    assert after[reopened.pk].status == FindingStatus.REOPENED
    assert after[still_no.pk].pk == first[still_no.pk].pk  # the same finding, not a second one
    assert after[still_no.pk].deadline == first[still_no.pk].deadline
    deleted = first[stale.pk].events.get(pgh_label="delete")
    assert deleted.pgh_context.metadata["action"] == "inspection_submit"


def test_the_tablet_api_carries_the_return_reason_while_the_team_corrects():
    w = make_world()
    inspection = submit(w)
    api = signed_in(w.member, api=True)
    offline_url = f"/api/inspections/assignments/{w.unannounced.pk}/offline/"
    assert api.get(offline_url).json()["inspection"]["return_reason"] is None
    services.inspection_return(actor=w.leader, inspection=inspection, reason="1.5 应答“否”")
    assert api.get(offline_url).json()["inspection"] == {
        "id": inspection.pk, "status": "draft", "version": inspection.version_id, "return_reason": "1.5 应答“否”"}
    listed = api.get(f"/api/inspections/assignments/{w.unannounced.pk}/").json()
    assert listed["inspection_status"] == "draft" and listed["inspection_return_reason"] == "1.5 应答“否”"
    services.inspection_submit(actor=w.member, inspection=inspection)
    assert api.get(offline_url).json()["inspection"]["return_reason"] is None


def test_report_page_return_form_refusals_and_the_notice_on_both_pages():
    w = make_world()
    inspection = submit(w)
    report_url = reverse("inspections:report", args=[inspection.pk])
    return_url = reverse("inspections:return", args=[inspection.pk])
    fill_url = reverse("inspections:fill", args=[w.unannounced.pk])
    assert 'data-testid="return-form"' in signed_in(w.leader).get(report_url).content.decode()
    assert 'data-testid="return-form"' not in signed_in(w.member).get(report_url).content.decode()

    assert signed_in(w.member).post(return_url, {"reason": "1.5 答错"}).status_code == 403
    assert signed_in(w.leader).get(return_url).status_code == 405
    leader = signed_in(w.leader)
    page = leader.post(return_url, {"reason": "  "})
    assert page.status_code == 200
    assert '<div class="text-danger small" data-testid="return-reason-error">请填写退回原因。</div>' in \
        page.content.decode()
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SUBMITTED

    page = leader.post(return_url, {"reason": "1.5 现场风机未运行<b>"}, follow=True)
    assert "检查表已退回检查组修改。" in page.content.decode()
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.DRAFT
    notice = "组长已退回修改：1.5 现场风机未运行&lt;b&gt;"
    fill_page = signed_in(w.member).get(fill_url).content.decode()
    assert notice in fill_page and 'data-can-fill="1"' in fill_page
    assert notice in signed_in(w.member).get(report_url).content.decode()

    page = leader.post(return_url, {"reason": "再退一次"})
    assert '<div class="alert alert-danger d-print-none" data-testid="return-errors">检查表尚未提交，无需退回。</div>' \
        in page.content.decode()
    services.inspection_submit(actor=w.member, inspection=inspection)
    assert "组长已退回修改" not in signed_in(w.member).get(fill_url).content.decode()


def test_a_returned_unannounced_inspection_stays_visible_to_the_county_and_counted():
    """The county has seen it (and its findings) and the visit took place: a return for
    correction hides neither."""
    from inspections import selectors
    from ledger.models import EmployerRecord
    from targets.models import RegionRollup
    from targets.services import rollup_recompute_full

    w = make_world()
    period = this_half_period()
    county = w.employer.county
    EmployerRecord.objects.create(employer=w.employer, period=period, province=w.employer.province,
                                  city=w.employer.city, county=county, total_workers=10)

    def supervision():
        rollup_recompute_full(period=period)
        return RegionRollup.objects.get(period=period, region=county).figures["supervision"]

    assert w.unannounced not in set(selectors.assignment_list(actor=w.county_clerk))  # before the first submit
    assert supervision() == [0, 1]
    inspection = submit(w)
    assert supervision() == [1, 1]
    services.inspection_return(actor=w.leader, inspection=inspection, reason="1.5 答错")
    assert w.unannounced in set(selectors.assignment_list(actor=w.county_clerk))
    assert supervision() == [1, 1]
