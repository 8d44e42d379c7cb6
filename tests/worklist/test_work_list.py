"""Each source of the work list (我的待办), read as the user it concerns."""

import datetime

import pytest
from django.urls import reverse

from inspections import services as inspection_services
from inspections.models import Finding, FindingStatus, Severity
from insurance import services as insurance_services
from insurance.models import InsuranceCoverage
from ledger import services as ledger_services
from ledger.models import CountySubmission, EmployerRecord, PeriodDeadline, SubmissionStatus
from portal.models import Department, Region, Role
from targets.models import Campaign, RegionRollup, Target
from tests.factories import make_user
from tests.inspections.factories import make_world
from tests.ledger.factories import make_employer
from worklist.selectors import work_list

pytestmark = pytest.mark.django_db


def kinds(user):
    return [item.kind for item in work_list(user).items]


def items_of(user, kind):
    return [item for item in work_list(user).items if item.kind == kind]


def test_a_county_clerk_sees_the_period_to_fill_with_days_left(current_period, today):
    clerk = make_user("371502")
    [item] = items_of(clerk, "fill")
    assert item.deadline == today + datetime.timedelta(days=10)
    assert item.days_left == 10 and not item.overdue
    assert "东昌府区" in item.title and "开始填报" in item.title
    assert item.url == f"{reverse('ledger:periods')}?period=2026H1"


def test_the_deadline_is_the_one_the_city_set_and_red_once_passed(current_period, today):
    PeriodDeadline.objects.create(period=current_period, region=Region.objects.get(code="3715"),
                                  deadline=today - datetime.timedelta(days=2))
    [item] = items_of(make_user("371502"), "fill")
    assert item.deadline == today - datetime.timedelta(days=2)
    assert item.overdue


def test_a_submitted_period_leaves_the_clerks_list(current_period):
    clerk = make_user("371502")
    submission = ledger_services.period_open_county(actor=clerk, period=current_period,
                                                    county=Region.objects.get(code="371502"))
    assert "填报并报送" in items_of(clerk, "fill")[0].title
    ledger_services.submission_submit(actor=clerk, submission=submission)
    assert "fill" not in kinds(clerk)


def test_a_returned_submission_shows_the_reason(current_period):
    clerk, reviewer = make_user("371502"), make_user("3715", role=Role.REVIEWER)
    submission = ledger_services.period_open_county(actor=clerk, period=current_period,
                                                    county=Region.objects.get(code="371502"))
    ledger_services.submission_submit(actor=clerk, submission=submission)
    ledger_services.submission_return(actor=reviewer, submission=submission, reason="接尘人数与上期差异过大")
    [item] = items_of(clerk, "returned")
    assert "接尘人数与上期差异过大" in item.detail


def test_a_city_clerk_gets_one_line_per_period_not_one_per_county(current_period):
    [item] = items_of(make_user("3715"), "fill")
    assert item.count == Region.objects.filter(parent__code="3715").count()


def _submitted(period, county_code, status=SubmissionStatus.SUBMITTED):
    county = Region.objects.get(code=county_code)
    return CountySubmission.objects.create(period=period, county=county, city_id=county.parent_id,
                                           province_id=county.parent.parent_id, status=status)


def test_the_city_reviewer_sees_counties_waiting_and_the_province_what_to_accept(current_period):
    _submitted(current_period, "371502")
    _submitted(current_period, "371521")
    _submitted(current_period, "371522", SubmissionStatus.APPROVED)
    [review] = items_of(make_user("3715", role=Role.REVIEWER), "review")
    assert review.count == 2
    [accept] = items_of(make_user("37", role=Role.REVIEWER), "accept")
    assert accept.count == 1
    assert items_of(make_user("371502", role=Role.REVIEWER), "review") == []  # a county reviewer does not review


def test_hrss_sees_a_hand_over_until_they_open_it(client, current_period):
    health = make_user("371502")
    hrss = make_user(("371502", Department.HRSS, Role.CLERK))
    ledger_services.period_open_county(actor=health, period=current_period, county=Region.objects.get(code="371502"))
    handover = insurance_services.ledger_handover(actor=health, period=current_period,
                                                  county=Region.objects.get(code="371502"))
    [item] = items_of(hrss, "handover")
    assert item.url == reverse("insurance:handover-detail", args=[handover.pk])
    assert items_of(health, "handover") == []
    client.force_login(hrss)
    assert client.get(item.url).status_code == 200
    assert items_of(hrss, "handover") == []


def test_hrss_sees_coverage_differences_nobody_followed_up(current_period, today):
    health = make_user("371502")
    hrss = make_user(("371502", Department.HRSS, Role.CLERK))
    employer = make_employer(county="371502", name="某水泥厂")
    EmployerRecord.objects.create(employer=employer, period=current_period, province_id=employer.province_id,
                                  city_id=employer.city_id, county_id=employer.county_id, total_workers=50,
                                  insured_workers=40)
    InsuranceCoverage.objects.create(employer=employer, period=current_period, insured_workers=30, as_of=today,
                                     province_id=employer.province_id, city_id=employer.city_id,
                                     county_id=employer.county_id, created_by=hrss)
    [item] = items_of(hrss, "coverage")
    assert item.count == 1
    insurance_services.follow_up_create(actor=hrss, employer=employer, period=current_period, action="contacted",
                                        acted_on=today, note="已电话通知")
    assert items_of(hrss, "coverage") == []
    assert items_of(health, "coverage") == []


def test_an_inspection_team_sees_its_checklists_and_the_leader_the_report_to_sign():
    world = make_world()
    member_items = items_of(world.member, "inspect")
    assert len(member_items) == 2
    assert member_items[0].deadline == world.plan.window_end
    assert items_of(world.other_leader, "inspect") == []
    inspection = inspection_services.inspection_start(actor=world.member, assignment=world.comprehensive)
    inspection.status = "submitted"
    inspection.save()
    [sign] = items_of(world.leader, "sign")
    assert sign.url == reverse("inspections:report", args=[inspection.pk])
    assert items_of(world.member, "sign") == []
    inspection_services.inspection_return(actor=world.leader, inspection=inspection, reason="第3项漏填佐证")
    [returned] = items_of(world.member, "checklist_returned")
    assert "第3项漏填佐证" in returned.detail


def _finding(world, deadline, status=FindingStatus.OPEN):
    inspection = inspection_services.inspection_start(actor=world.member, assignment=world.unannounced)
    item = world.unannounced.checklist_version.items()[0]
    return Finding.objects.create(inspection=inspection, item=item, region=world.employer.county,
                                  employer=world.employer, description="警示标识缺失", severity=Severity.MEDIUM,
                                  deadline=deadline, status=status)


def test_the_inspected_county_sees_findings_to_rectify_overdue_in_red(today):
    world = make_world()
    _finding(world, today - datetime.timedelta(days=1))
    [item] = items_of(world.county_clerk, "rectify")
    assert item.overdue and "长春某水泥有限公司" in item.title


def test_the_team_and_the_issuing_office_see_findings_to_verify(today):
    world = make_world()
    _finding(world, today + datetime.timedelta(days=5), FindingStatus.RECTIFIED)
    assert len(items_of(world.leader, "verify")) == 1
    assert len(items_of(world.admin, "verify")) == 1
    assert items_of(world.county_clerk, "rectify") == []


def _rollup(period, region, figures, employers=10):
    from django.utils import timezone

    return RegionRollup.objects.create(period=period, region=region, level=region.level, employers=employers,
                                       figures=figures, computed_at=timezone.now())


def test_targets_past_due_and_missed_and_the_regions_furthest_behind(current_period, today):
    province, city = Region.objects.get(code="37"), Region.objects.get(code="3715")
    other_city = Region.objects.get(code="3701")
    Target.objects.filter(region__code="100000").delete()  # the national plan's: this test sets Shandong's own
    campaign = Campaign.objects.create(region=province, name="山东省尘肺病防治攻坚行动实施方案", authority="省卫健委",
                                       first_year=2019, last_year=2020)
    Target.objects.create(campaign=campaign, region=province, indicator="declaration", value=95,
                          due_on=today - datetime.timedelta(days=30))
    Target.objects.create(campaign=campaign, region=province, indicator="testing", value=95,
                          due_on=today + datetime.timedelta(days=30))  # not yet due: not a missed target
    _rollup(current_period, province, {"declaration": [80, 100], "testing": [10, 100]})
    _rollup(current_period, city, {"declaration": [50, 100], "testing": [10, 100]})
    _rollup(current_period, other_city, {"declaration": [99, 100]})
    viewer = make_user(("37", Department.EMERGENCY, Role.VIEWER))
    work = work_list(viewer)
    [item] = [i for i in work.items if i.kind == "target"]
    assert "粉尘危害申报率" in item.title and "80.0%" in item.title and item.overdue
    assert [row.region.code for row in work.lagging] == ["3715"]
    city_work = work_list(make_user(("3715", Department.HEALTH, Role.VIEWER)))
    assert [i.kind for i in city_work.items] == ["target"] and city_work.lagging == []
    # A city official watches its counties the same way.
    _rollup(current_period, Region.objects.get(code="371502"), {"declaration": [40, 100]})
    _rollup(current_period, Region.objects.get(code="371521"), {"declaration": [96, 100]})
    assert [row.region.code for row in work_list(make_user(("3715", Department.HEALTH, Role.VIEWER))).lagging] == [
        "371502"]


def test_items_are_sorted_by_deadline_overdue_first(current_period, today):
    world = make_world()
    county_clerk = make_user("220102")
    _finding(world, today - datetime.timedelta(days=3))
    deadlines = [i.deadline for i in work_list(county_clerk).items if i.deadline]
    assert deadlines == sorted(deadlines) and deadlines[0] < today


def test_the_home_page_lists_the_work_and_stays_within_12_queries(client, current_period, today,
                                                                  django_assert_max_num_queries):
    superuser = make_user(username="root", is_superuser=True)
    client.force_login(superuser)
    client.get(reverse("home"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("home"))
    assert response.status_code == 200
    province_admin = make_user(("37", Department.HEALTH, Role.ADMIN), ("37", Department.HEALTH, Role.REVIEWER),
                               ("37", Department.HRSS, Role.CLERK), ("37", Department.HEALTH, Role.CLERK))
    client.force_login(province_admin)
    with django_assert_max_num_queries(12):
        body = client.get(reverse("home")).content.decode()
    assert "尚未报送2026年上半年台帐" in body


def test_patients_overdue_for_follow_up_and_relief_not_yet_given(today):
    from patients import services as patient_services
    from patients.models import Patient
    from tests.patients.conftest import patient_data

    clerk = make_user("371502")
    civil = make_user(("371502", Department.CIVIL_AFFAIRS, Role.CLERK))
    civil_viewer = make_user(("371502", Department.CIVIL_AFFAIRS, Role.VIEWER))
    patient = patient_services.patient_create(actor=clerk, data=patient_data(employer_gone=True))
    Patient.objects.filter(pk=patient.pk).update(next_followup_due=today - datetime.timedelta(days=3))
    [followup] = items_of(clerk, "followup")
    assert followup.count == 1 and followup.overdue
    patient.refresh_from_db()
    assert patient.relief_category == "c"
    [relief] = items_of(civil, "relief")
    assert "民政" in relief.title and relief.count == 1
    assert items_of(civil_viewer, "relief") == []  # a viewer records nothing
    patient_services.relief_record(actor=civil, patient=patient, department=Department.CIVIL_AFFAIRS, data={
        "kind": "basic_living", "acted_on": today, "reference": "", "amount": None, "note": "纳入低保"})
    assert items_of(civil, "relief") == []


def _figure_targets(today):
    """Shandong's plan sets targets on two reported figures: exam institution per county (yes/no) and
    diagnosis institution per city; nothing binds dose monitoring here."""
    province = Region.objects.get(code="37")
    campaign = Campaign.objects.create(region=province, name="山东省尘肺病防治攻坚行动实施方案", authority="省卫健委",
                                       first_year=2019, last_year=2026)
    for indicator in ("exam_institution", "diagnosis_institution"):
        Target.objects.create(campaign=campaign, region=province, indicator=indicator, value=100,
                              due_on=today + datetime.timedelta(days=60))


def test_reported_figures_due_are_on_the_responsible_clerks_list_until_submitted(current_period, today):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from targets import services as target_services

    _figure_targets(today)
    clerk, county = make_user("371502"), Region.objects.get(code="371502")
    [item] = items_of(clerk, "figure")
    assert "东昌府区" in item.title and "县区职业健康检查机构确定率" in item.title
    assert item.deadline == current_period.deadline and item.days_left == 10
    assert item.url == f"{reverse('targets:reported')}?period=2026H1"
    figure = target_services.reported_figure_save(
        actor=clerk, period=current_period, region=county, indicator="exam_institution", numerator=1,
        evidence=SimpleUploadedFile("文件.pdf", b"%PDF-1.4", content_type="application/pdf"))
    assert items_of(clerk, "figure")[0].detail == "已填报，尚未报送"
    target_services.reported_figure_submit(actor=clerk, figure=figure)
    assert items_of(clerk, "figure") == []
    target_services.reported_figure_review(actor=make_user("3715", role=Role.REVIEWER), figure=figure,
                                           approve=False, reason="缺机构确定文件")
    [returned] = items_of(clerk, "figure")
    assert "被退回" in returned.title and "缺机构确定文件" in returned.detail
    # Others in the county have nothing to report; a city clerk reports the city's own figure and
    # sees the counties' in one line.
    assert items_of(make_user(("371502", Department.HEALTH, Role.VIEWER)), "figure") == []
    assert items_of(make_user(("371502", Department.HRSS, Role.CLERK)), "figure") == []
    city_items = items_of(make_user("3715"), "figure")
    assert ["聊城市" in i.title for i in city_items].count(True) == 1
    [counties] = [i for i in city_items if i.count > 1]
    assert counties.count == Region.objects.filter(parent__code="3715").count()


def test_reported_figures_count_in_the_menu(client, current_period, today):
    _figure_targets(today)
    clerk = make_user("371502")
    from django.core.cache import cache

    cache.delete(f"worklist:count:{clerk.pk}")  # a user of an earlier test may have had this id
    client.force_login(clerk)
    work = work_list(clerk)
    assert sorted(i.kind for i in work.items) == ["figure", "fill"] and work.total == 2
    body = client.get(reverse("worklist:nav-counts")).content.decode()
    assert 'text-bg-warning">2</span>' in body


def test_a_figure_entered_or_returned_is_work_even_where_no_target_binds(current_period):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from targets import services as target_services

    clerk = make_user("371502")
    assert items_of(clerk, "figure") == []  # no Shandong target on reported figures
    target_services.reported_figure_save(
        actor=clerk, period=current_period, region=Region.objects.get(code="371502"),
        indicator="enforcement_training", numerator=8, denominator=10,
        evidence=SimpleUploadedFile("签到表.pdf", b"%PDF-1.4", content_type="application/pdf"))
    [item] = items_of(clerk, "figure")
    assert "职业健康监管执法人员培训率" in item.title and item.detail == "已填报，尚未报送"
