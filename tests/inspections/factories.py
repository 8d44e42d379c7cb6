"""One-line inspection set-ups: a Jilin plan with two teams, a comprehensive and an unannounced
assignment, as in 吉尘防办发〔2020〕2号."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from inspections import services
from inspections.models import Assignment, ChecklistKind, ChecklistTemplate, InspectionPlan, Team
from inspections.reference import load_reference
from portal.models import Department, Region, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer


def load_checklists():
    if not ChecklistTemplate.objects.exists():
        load_reference(settings.BASE_DIR / "fixtures")


@dataclass
class World:
    admin: object
    leader: object
    member: object
    other_leader: object
    county_clerk: object
    city_clerk: object
    plan: InspectionPlan
    team: Team
    other_team: Team
    comprehensive: Assignment
    unannounced: Assignment
    employer: object


def make_world(*, window_days: int = 10) -> World:
    load_checklists()
    today = timezone.localdate()
    admin = make_user(("22", Department.HEALTH, Role.ADMIN), username="jl_admin", display_name="省卫健委管理员")
    leader = make_user(("22", Department.HRSS, Role.INSPECTOR), username="leader1", display_name="王喆")
    member = make_user(("22", Department.HEALTH, Role.INSPECTOR), username="member1", display_name="车明")
    other_leader = make_user(("22", Department.HEALTH, Role.INSPECTOR), username="leader2", display_name="范明")
    county_clerk = make_user("220102", username="nanguan_clerk", display_name="南关区录入员")
    city_clerk = make_user("2201", username="cc_clerk", display_name="长春市录入员")
    plan = services.plan_create(
        actor=admin, region=Region.objects.get(code="22"), name="尘肺防治攻坚行动督导检查",
        document_number="吉尘防办发〔2020〕2号", window_start=today - dt.timedelta(days=1),
        window_end=today + dt.timedelta(days=window_days), report_deadline=today + dt.timedelta(days=window_days + 2))
    team = services.team_create(actor=admin, plan=plan, name="第一组", leader=leader, members=[member],
                                liaison=member, liaison_phone="13009001731")
    other_team = services.team_create(actor=admin, plan=plan, name="第二组", leader=other_leader)
    employer = make_employer(county="220102", name="长春某水泥有限公司", in_governance_scope=True)
    comprehensive = services.assignment_create(actor=admin, team=team, kind=ChecklistKind.COMPREHENSIVE,
                                               region=Region.objects.get(code="220102"))
    unannounced = services.assignment_create(actor=admin, team=team, kind=ChecklistKind.UNANNOUNCED,
                                             employer=employer)
    return World(admin, leader, member, other_leader, county_clerk, city_clerk, plan, team, other_team,
                 comprehensive, unannounced, employer)


def this_half_period():
    """The reporting period holding today, whose year's inspections the supervision indicator counts."""
    from ledger.models import ReportingPeriod

    today = timezone.localdate()
    half = 1 if today.month <= 6 else 2
    return ReportingPeriod.objects.create(
        code=f"{today.year}H{half}", year=today.year, half=half, starts_on=dt.date(today.year, 6 * half - 5, 1),
        ends_on=dt.date(today.year, 6, 30) if half == 1 else dt.date(today.year, 12, 31),
        deadline=dt.date(today.year + half - 1, 7 if half == 1 else 1, 15))


def fill_all(world_or_assignment, actor, *, skip=(), value_for=None):
    """Answers every item of an assignment's checklist (photos uploaded first)."""
    import io
    import uuid

    from django.core.files.uploadedfile import SimpleUploadedFile

    assignment = world_or_assignment
    version = assignment.checklist_version
    changes = []
    for item in version.items():
        if item.number in skip:
            continue
        value = (value_for or {}).get(item.number)
        if value is None:
            value = {"yes_no_na": "yes", "number": 3, "rate": 96.5, "text": "情况良好",
                     "single_choice": (item.choices or [""])[0]}.get(item.answer_type)
        if item.answer_type == "photo":
            photo_uuid = str(uuid.uuid4())
            upload = SimpleUploadedFile("p.png", PNG, content_type="image/png")
            services.photo_upload(actor=actor, assignment=assignment, item_id=item.pk, client_uuid=photo_uuid,
                                  upload=upload)
            value = [photo_uuid]
        changes.append({"client_uuid": str(uuid.uuid4()), "checklist_version": version.pk, "base_version": 0,
                        "item": item.pk, "value": value, "note": ""})
    del io
    return services.answers_sync(actor=actor, assignment=assignment, changes=changes)


# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cf"
    "c0f01f0005000201a2b0b4a90000000049454e44ae426082")
SIGNATURE = "data:image/png;base64," + __import__("base64").b64encode(PNG).decode()
