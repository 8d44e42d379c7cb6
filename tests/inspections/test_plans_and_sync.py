import datetime as dt
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from inspections import selectors, services
from inspections.models import Answer, Finding, InspectionStatus, PlanStatus, SyncReceipt
from portal.models import Department, Region, Role
from tests.factories import make_user, signed_in
from tests.inspections.factories import PNG, SIGNATURE, fill_all, make_world, this_half_period

pytestmark = pytest.mark.django_db


def change(assignment, item, value, base=0, **extra):
    return {"client_uuid": str(uuid.uuid4()), "checklist_version": assignment.checklist_version_id,
            "base_version": base, "item": item.pk, "value": value, "note": "", **extra}


def first_item(assignment, answer_type="yes_no_na"):
    return assignment.checklist_version.items().filter(answer_type=answer_type).first()


def test_only_issuing_admins_create_plans():
    w = make_world()
    city_admin = make_user(("2201", Department.HEALTH, Role.ADMIN))
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=city_admin, region=Region.objects.get(code="22"), name="x",
                             window_start=dt.date(2020, 7, 20), window_end=dt.date(2020, 7, 31),
                             report_deadline=dt.date(2020, 7, 31))
    with pytest.raises(ValidationError) as exc:
        services.plan_create(actor=w.admin, region=Region.objects.get(code="22"), name="x",
                             window_start=dt.date(2020, 7, 20), window_end=dt.date(2020, 7, 1),
                             report_deadline=dt.date(2020, 7, 31))
    assert "window_end" in exc.value.message_dict


def test_team_members_get_object_permissions_on_their_assignments_only():
    w = make_world()
    assert set(selectors.assignment_list_granted(w.member)) == {w.comprehensive, w.unannounced}
    assert w.member.has_perm("inspections.fill_assignment", w.comprehensive)
    assert not w.other_leader.has_perm("inspections.fill_assignment", w.comprehensive)
    assert not selectors.assignment_list(actor=w.other_leader).filter(pk=w.comprehensive.pk).exists() or \
        selectors.may_manage_plan(w.other_leader, w.plan) is False
    # Another team's member answers 404 on the API.
    response = signed_in(w.other_leader, api=True).get(f"/api/inspections/assignments/{w.comprehensive.pk}/offline/")
    assert response.status_code in (403, 404)


def test_grants_expire_with_the_plan_window():
    w = make_world()
    w.plan.window_start = timezone.localdate() - dt.timedelta(days=30)
    w.plan.window_end = w.plan.report_deadline = timezone.localdate() - dt.timedelta(days=1)
    w.plan.save()
    assert not selectors.may_fill(w.member, w.comprehensive)
    with pytest.raises(PermissionDenied, match="检查期"):
        services.answers_sync(actor=w.member, assignment=w.comprehensive,
                              changes=[change(w.comprehensive, first_item(w.comprehensive), "yes")])


def test_unannounced_assignment_hidden_from_the_inspected_region_until_submitted():
    w = make_world()
    visible = set(selectors.assignment_list(actor=w.county_clerk))
    assert w.comprehensive in visible and w.unannounced not in visible
    assert w.unannounced not in set(selectors.assignment_list(actor=w.city_clerk))
    assert w.unannounced in set(selectors.assignment_list(actor=w.admin))
    fill_all(w.unannounced, w.member)
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    assert w.unannounced in set(selectors.assignment_list(actor=w.county_clerk))


def test_sync_is_idempotent_on_client_uuid():
    w = make_world()
    item = first_item(w.comprehensive)
    body = {"answers": [change(w.comprehensive, item, "yes")]}
    client = signed_in(w.member, api=True)
    url = f"/api/inspections/assignments/{w.comprehensive.pk}/sync/"
    first = client.post(url, body, format="json")
    second = client.post(url, body, format="json")
    assert first.status_code == 200 and first.json()["results"][0]["status"] == "applied"
    assert second.status_code == 200 and second.json()["results"][0]["status"] == "duplicate"
    answer = Answer.objects.get(item=item)
    assert answer.version == 1 and SyncReceipt.objects.count() == 1


def test_stale_base_version_answers_409_with_the_servers_copy():
    w = make_world()
    item = first_item(w.comprehensive)
    services.answers_sync(actor=w.member, assignment=w.comprehensive, changes=[change(w.comprehensive, item, "yes")])
    response = signed_in(w.leader, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/sync/",
                                  {"answers": [change(w.comprehensive, item, "no", base=0)]}, format="json")
    assert response.status_code == 409
    result = response.json()["results"][0]
    assert result["status"] == "conflict" and result["answer"]["value"] == "yes" and result["answer"]["version"] == 1
    assert Answer.objects.get(item=item).value == "yes"
    ok = signed_in(w.leader, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/sync/",
                            {"answers": [change(w.comprehensive, item, "no", base=1)]}, format="json")
    assert ok.status_code == 200 and Answer.objects.get(item=item).version == 2


def test_wrong_answer_type_is_400_in_chinese_and_valid_ones_are_kept():
    w = make_world()
    rate = first_item(w.comprehensive, "rate")
    yes_no = first_item(w.comprehensive)
    response = signed_in(w.member, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/sync/", {"answers": [
        change(w.comprehensive, rate, "很多"), change(w.comprehensive, yes_no, "yes")]}, format="json")
    assert response.status_code == 400
    results = response.json()["results"]
    assert results[0]["status"] == "error" and "应填写数字" in results[0]["detail"]
    assert results[1]["status"] == "applied"
    for bad, message in ((150, "0 到 100"), (-1, "负数")):
        r = services.answers_sync(actor=w.member, assignment=w.comprehensive,
                                  changes=[change(w.comprehensive, rate, bad)])
        assert message in r.results[0].detail


def test_stale_checklist_version_is_refused_clearly():
    w = make_world()
    item = first_item(w.comprehensive)
    outcome = services.answers_sync(actor=w.member, assignment=w.comprehensive,
                                    changes=[change(w.comprehensive, item, "yes", checklist_version=999999)])
    assert outcome.http_status == 400 and "检查表版本已变化" in outcome.results[0].detail


def test_closed_plan_and_reassigned_assignment_refuse_writes():
    w = make_world()
    item = first_item(w.comprehensive)
    new = services.assignment_reassign(actor=w.admin, assignment=w.comprehensive, team=w.other_team)
    response = signed_in(w.member, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/sync/",
                                  {"answers": [change(w.comprehensive, item, "yes")]}, format="json")
    assert response.status_code == 400 and "改派" in response.json()["detail"]
    assert selectors.may_fill(w.other_leader, new)
    services.plan_close(actor=w.admin, plan=w.plan)
    assert w.plan.status == PlanStatus.CLOSED
    response = signed_in(w.other_leader, api=True).post(f"/api/inspections/assignments/{new.pk}/sync/",
                                        {"answers": [change(new, item, "yes")]}, format="json")
    assert response.status_code == 400 and "已结束" in response.json()["detail"]


def test_a_region_user_who_sees_the_assignment_may_not_fill_it():
    w = make_world()
    inspector = make_user(("220102", Department.HEALTH, Role.INSPECTOR))
    response = signed_in(inspector, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/sync/",
                                   {"answers": [change(w.comprehensive, first_item(w.comprehensive), "yes")]},
                                   format="json")
    assert response.status_code == 403 and "检查组成员" in response.json()["detail"]


def test_photo_upload_checks_size_and_real_image():
    w = make_world()
    item = first_item(w.unannounced, "photo")
    url = f"/api/inspections/assignments/{w.unannounced.pk}/photos/"
    client = signed_in(w.member, api=True)
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    r = client.post(url, {"client_uuid": str(uuid.uuid4()), "item": item.pk, "file": fake})
    assert r.status_code == 400 and "有效的图片" in str(r.json())
    with override_settings(INSPECTION_PHOTO_MAX_BYTES=10):
        r = client.post(url, {"client_uuid": str(uuid.uuid4()), "item": item.pk,
                              "file": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
        assert r.status_code == 400 and "过大" in str(r.json())
    photo_uuid = str(uuid.uuid4())
    for _ in range(2):
        r = client.post(url, {"client_uuid": photo_uuid, "item": item.pk,
                              "file": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
        assert r.status_code == 201
    assert w.unannounced.inspection.photos.count() == 1


def test_submission_lists_blank_required_items_then_leader_signs_and_locks():
    w = make_world()
    fill_all(w.comprehensive, w.member, skip={"2.3", "4.5"})
    with pytest.raises(ValidationError) as exc:
        services.inspection_submit(actor=w.member, inspection=w.comprehensive.inspection)
    message = " ".join(exc.value.messages)
    assert "不得空项" in message and "2.3" in message and "4.5" in message and "杜绝" in message
    response = signed_in(w.member, api=True).post(f"/api/inspections/assignments/{w.comprehensive.pk}/submit/", {}, format="json")
    assert response.status_code == 400 and "2.3" in response.json()["detail"]
    fill_all(w.comprehensive, w.member, value_for={"4.5": "no"},
             skip={i.number for i in w.comprehensive.checklist_version.items() if i.number not in ("2.3", "4.5")})
    inspection = services.inspection_submit(actor=w.member, inspection=w.comprehensive.inspection,
                                            highlights="建立了基础数据库", problems="存在零处罚")
    assert inspection.status == InspectionStatus.SUBMITTED
    finding = Finding.objects.get(inspection=inspection)
    assert finding.item.number == "4.5" and finding.severity == "high"
    with pytest.raises(PermissionDenied):
        services.inspection_sign(actor=w.member, inspection=inspection, signature=SIGNATURE)
    with pytest.raises(ValidationError):
        services.inspection_sign(actor=w.leader, inspection=inspection, signature="data:text/plain,hi")
    services.inspection_sign(actor=w.leader, inspection=inspection, signature=SIGNATURE)
    inspection.refresh_from_db()
    assert inspection.is_locked and inspection.signed_by == w.leader
    with pytest.raises(ValidationError, match="已提交"):
        services.answers_sync(actor=w.member, assignment=w.comprehensive,
                              changes=[change(w.comprehensive, first_item(w.comprehensive), "no", base=1)])
    assert set(selectors.zero_penalty_counties()) == {Region.objects.get(code="220102")}


def test_inspection_of_a_submitted_county_leaves_its_locked_records_unchanged_and_counts_in_supervision():
    from ledger.models import CountySubmission, Employer, EmployerRecord, SubmissionStatus
    from ledger.selectors import falls_short
    from targets.indicators import BY_CODE
    from targets.models import RegionRollup
    from targets.services import rollup_recompute_full

    w = make_world()
    period = this_half_period()
    county = w.employer.county
    CountySubmission.objects.create(period=period, province=w.employer.province, city=w.employer.city, county=county,
                                    status=SubmissionStatus.SUBMITTED, submitted_at=timezone.now())
    record = EmployerRecord.objects.create(employer=w.employer, period=period, province=w.employer.province,
                                           city=w.employer.city, county=county, total_workers=10)
    before = EmployerRecord.objects.filter(pk=record.pk).values().get()
    events_before = EmployerRecord.pgh_event_model.objects.filter(pgh_obj_id=record.pk).count()
    rollup_recompute_full(period=period)
    assert RegionRollup.objects.get(period=period, region=county).figures["supervision"] == [0, 1]
    supervision_short = Employer.objects.filter(pk=w.employer.pk).filter(falls_short(BY_CODE["supervision"], period))
    assert supervision_short.exists()

    fill_all(w.unannounced, w.member)
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)

    # The locked record is exactly as the county submitted it: no field, no version, no history event.
    assert EmployerRecord.objects.filter(pk=record.pk).values().get() == before
    assert EmployerRecord.pgh_event_model.objects.filter(pgh_obj_id=record.pk).count() == events_before
    # The supervision indicator counts the inspection all the same, and the ledger's
    # "未落实：监督检查" list no longer names the employer.
    rollup_recompute_full(period=period)
    assert RegionRollup.objects.get(period=period, region=county).figures["supervision"] == [1, 1]
    assert not supervision_short.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("existing", [False, True])
def test_two_identical_syncs_at_the_same_moment_both_answer_success(reference_data, existing):
    """A tablet's retry racing its first request: both succeed (applied and duplicate), never a
    409 for the tablet's own change, whether the answer is new or an update."""
    import threading

    from django.db import connection

    w = make_world()
    item = first_item(w.comprehensive)
    base = 0
    if existing:
        services.answers_sync(actor=w.member, assignment=w.comprehensive,
                              changes=[change(w.comprehensive, item, "no")])
        base = 1
    same: dict = {}
    barrier, statuses = threading.Barrier(2), []

    def sync():
        try:
            barrier.wait()
            outcome = services.answers_sync(actor=w.member, assignment=w.comprehensive, changes=[dict(same)])
            statuses.append((outcome.http_status, outcome.results[0].status))
        finally:
            connection.close()

    for _ in range(3):  # the race is timing-dependent: run it a few times
        statuses.clear()
        same = change(w.comprehensive, item, "yes" if base % 2 == 0 else "no", base=base)
        threads = [threading.Thread(target=sync) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [(200, "applied"), (200, "duplicate")], statuses
        base += 1
    assert Answer.objects.get(item=item).version == base
