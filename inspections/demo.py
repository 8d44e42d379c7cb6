"""Demo data for the field stories, seeded after the demo users and the ledger (`seed_demo`):

- the ledger: 东昌府区's latest half-year open for its clerk to fill, and its sibling county
  (阳谷县) submitted and waiting for the city's review;
- a city inspection plan of 聊城市 with two teams (leader, members, liaison) and four assignments
  (one unannounced visit per team): team 1's work is ahead of the demo inspector (a comprehensive
  check half filled, an unannounced visit not started), team 2's is done (a comprehensive check
  signed, an unannounced visit waiting for the leader's signature), with findings in every state
  (open, overdue, rectified, verified, reopened) and photos that carry time and place;
- HRSS counts of insured workers that differ from the ledger's for some of 东昌府区's employers.

Everything goes through the services (so it is audited and scoped like real work) except what
only time could produce (an overdue deadline). Running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
import random
import struct
import uuid
import zlib

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from inspections import services
from inspections.models import (
    Assignment,
    ChecklistKind,
    ChecklistTemplate,
    Finding,
    FindingStatus,
    InspectionPlan,
)
from portal.demo import DEMO_REGIONS, DEMO_SIBLING_COUNTY, demo_username
from portal.models import Region, RegionLevel, User

PLAN_NAME = "聊城市尘肺病防治攻坚行动督导检查"
# Team 1 is the one a demo visitor plays; team 2 shows finished work.
TEAMS = {
    "第一组": {"leader": ("city", "health"), "members": [("city", "emergency")], "liaison": ("city", "hrss"),
              "phone": "0635-8211234"},
    "第二组": {"leader": ("city", "mine_safety"), "members": [("city", "medical_insurance")],
              "liaison": ("city", "trade_union"), "phone": "13906351731"},
}
# Around the centre of 东昌府区 and 阳谷县 (WGS 84), where the demo photos were "taken".
PLACES = {DEMO_REGIONS["county"]: (36.4344, 115.9855), DEMO_SIBLING_COUNTY: (36.1137, 115.7918)}


def inspector(level: str, department: str) -> User:
    return User.objects.get(username=demo_username(level, department, "inspector"))


def demo_png(seed: int, width: int = 240, height: int = 160) -> bytes:
    """A small real PNG (a coloured gradient with a band), so thumbnails show something."""
    rng = random.Random(seed)
    base = [rng.randrange(60, 200) for _ in range(3)]
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            band = 60 if height // 3 < y < height // 3 + 20 else 0
            row += bytes(min(255, (c + x // 3 + y // 4 + band) % 256) for c in base)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def _ensure_checklists() -> None:
    if not ChecklistTemplate.objects.filter(versions__published=True).exists():
        from inspections.reference import load_reference

        load_reference(settings.BASE_DIR / "fixtures")


def _pick_employer(county: Region, rng: random.Random):
    from ledger.models import Employer, OperatingStatus

    candidates = list(Employer.objects.filter(county=county, in_governance_scope=True, status=OperatingStatus.OPERATING)
                      .exclude(key_group="").order_by("pk")[:50])
    return rng.choice(candidates) if candidates else None


def _answers(assignment: Assignment, actor, *, seed: int, only_first_section: bool = False,
             no_items: int = 0) -> list:
    """Answer the checklist as an inspector would; the first `no_items` items whose "no" is a
    finding are answered "no". Returns those items."""
    version = assignment.checklist_version
    items = list(version.items())
    if only_first_section:
        first = items[0].section_id
        items = [i for i in items if i.section_id == first]
    findings = [i for i in items if i.no_is_finding][:no_items]
    lat, lon = PLACES.get(assignment.region.code, (36.45, 115.98))
    taken = timezone.now() - dt.timedelta(hours=3)
    changes = []
    for n, item in enumerate(items):
        value = {"yes_no_na": "no" if item in findings else "yes", "number": 3 + n % 5, "rate": 90.0 + n % 10,
                 "text": "经查阅资料和现场核实，情况属实", "single_choice": (item.choices or [""])[0]}.get(item.answer_type)
        if item.answer_type == "photo":
            photo_uuid = uuid.UUID(int=random.Random(seed * 1000 + item.pk).getrandbits(128), version=4)
            upload = SimpleUploadedFile("site.png", demo_png(seed + item.pk), content_type="image/png")
            services.photo_upload(actor=actor, assignment=assignment, item_id=item.pk, client_uuid=photo_uuid,
                                  upload=upload, taken_at=(taken + dt.timedelta(minutes=n)).isoformat(),
                                  latitude=round(lat + n * 0.0001, 6), longitude=round(lon + n * 0.0001, 6),
                                  accuracy=12)
            value = [str(photo_uuid)]
        note = "现场查看二号车间，除尘设施未开启" if item in findings else ""
        changes.append({"client_uuid": str(uuid.uuid4()), "checklist_version": version.pk, "base_version": 0,
                        "item": item.pk, "value": value, "note": note})
    services.answers_sync(actor=actor, assignment=assignment, changes=changes)
    return findings


def _findings_in_every_state(inspection, *, county_clerk: User, reviewer: User) -> None:
    findings = list(Finding.objects.filter(inspection=inspection).order_by("pk"))
    evidence = SimpleUploadedFile("rectified.png", demo_png(77), content_type="image/png")
    plan = {1: "rectify", 2: "verify", 3: "reopen"}
    for index, finding in enumerate(findings):
        step = plan.get(index)
        if step is None:
            continue
        services.finding_rectify(actor=county_clerk, finding=finding, note="已督促企业整改，除尘设施恢复运行，附现场照片",
                                 upload=evidence if step == "verify" else None)
        if step == "verify":
            services.finding_review(actor=reviewer, finding=finding, outcome=FindingStatus.VERIFIED,
                                    comment="复核属实，予以销号")
        elif step == "reopen":
            services.finding_review(actor=reviewer, finding=finding, outcome=FindingStatus.REOPENED,
                                    comment="整改材料不全，请补充检测报告")
    if findings:
        # Only time makes a finding overdue: the first one's deadline has passed.
        Finding.objects.filter(pk=findings[0].pk).update(deadline=timezone.localdate() - dt.timedelta(days=5))


def _ledger_states(period) -> None:
    """The demo clerk's county is filling the latest half-year; its sibling waits for the city."""
    from ledger.models import CountySubmission, SubmissionStatus

    CountySubmission.objects.filter(period=period, county__code=DEMO_REGIONS["county"]).update(
        status=SubmissionStatus.DRAFT, submitted_at=None, submitted_by=None, reviewed_at=None, reviewed_by=None,
        accepted_at=None, accepted_by=None)
    CountySubmission.objects.filter(period=period, county__code=DEMO_SIBLING_COUNTY).update(
        status=SubmissionStatus.SUBMITTED, submitted_at=timezone.now() - dt.timedelta(days=2),
        submitted_by=User.objects.filter(username=demo_username("county2", "health", "clerk")).first(),
        reviewed_at=None, reviewed_by=None, accepted_at=None, accepted_by=None)


def _coverage_differences(period, county: Region, rng: random.Random) -> int:
    """HRSS counts for some employers of the county: most below the ledger's own figure."""
    from insurance.models import InsuranceCoverage, LedgerHandover
    from insurance.services import coverage_save, ledger_handover
    from ledger.models import EmployerRecord

    if InsuranceCoverage.objects.filter(period=period, county=county).exists():
        return 0
    if not LedgerHandover.objects.filter(period=period, county=county).exists():
        ledger_handover(actor=User.objects.get(username=demo_username("county", "health", "clerk")), period=period,
                        county=county)
    hrss = User.objects.get(username=demo_username("county", "hrss", "clerk"))
    records = list(EmployerRecord.objects.filter(period=period, county=county, total_workers__gt=0)
                   .exclude(employer__key_group="").select_related("employer").order_by("employer_id")[:40])
    as_of = min(period.ends_on, timezone.localdate())
    for index, record in enumerate(records):
        ledger = record.insured_workers
        # A third agree with the ledger, the rest are lower (the ledger over-reports), a few higher.
        shift = 0 if index % 3 == 0 else (-rng.randint(1, max(1, ledger // 3 or 1)) if index % 7 else rng.randint(1, 3))
        coverage_save(actor=hrss, employer=record.employer, period=period, as_of=as_of,
                      insured_workers=max(0, min(record.total_workers, ledger + shift)))
    return len(records)


@transaction.atomic
def seed_demo_field(*, seed: int) -> str:
    """The inspection plan, the ledger states and the HRSS differences of the demo; idempotent."""
    from ledger.selectors import current_period

    _ensure_checklists()
    rng = random.Random(seed)
    city = Region.objects.get(code=DEMO_REGIONS["city"], level=RegionLevel.CITY)
    county = Region.objects.get(code=DEMO_REGIONS["county"])
    sibling = Region.objects.get(code=DEMO_SIBLING_COUNTY)
    period = current_period()
    covered = 0
    if period is not None:
        _ledger_states(period)
        covered = _coverage_differences(period, county, rng)
    if InspectionPlan.objects.filter(region=city, name=PLAN_NAME).exists():
        return "inspection plan already seeded"

    today = timezone.localdate()
    admin = User.objects.get(username=demo_username("city", "health", "admin"))
    plan = services.plan_create(actor=admin, region=city, name=PLAN_NAME, document_number="聊尘防办发〔2020〕3号",
                                window_start=today - dt.timedelta(days=10), window_end=today + dt.timedelta(days=20),
                                report_deadline=today + dt.timedelta(days=25))
    teams = {}
    for name, spec in TEAMS.items():
        teams[name] = services.team_create(
            actor=admin, plan=plan, name=name, leader=inspector(*spec["leader"]),
            members=[inspector(*m) for m in spec["members"]], liaison=inspector(*spec["liaison"]),
            liaison_phone=spec["phone"])
    one, two = teams["第一组"], teams["第二组"]
    # Team 1: ahead of the demo inspector.
    comprehensive = services.assignment_create(actor=admin, team=one, kind=ChecklistKind.COMPREHENSIVE, region=county)
    employer = _pick_employer(county, rng)
    if employer is not None:
        services.assignment_create(actor=admin, team=one, kind=ChecklistKind.UNANNOUNCED, employer=employer)
    member = inspector(*TEAMS["第一组"]["members"][0])
    services.inspection_start(actor=member, assignment=comprehensive)
    _answers(comprehensive, member, seed=seed, only_first_section=True)

    # Team 2: done: a signed comprehensive check with findings in every state, and an unannounced
    # visit waiting for the leader's signature.
    leader2, member2 = inspector(*TEAMS["第二组"]["leader"]), inspector(*TEAMS["第二组"]["members"][0])
    done = services.assignment_create(actor=admin, team=two, kind=ChecklistKind.COMPREHENSIVE, region=sibling)
    services.inspection_start(actor=member2, assignment=done)
    _answers(done, member2, seed=seed + 1, no_items=5)
    inspection = services.inspection_submit(actor=member2, inspection=done.inspection,
                                            highlights="县政府成立了尘肺病防治攻坚行动领导小组，专项治理台帐建立完整",
                                            problems="部分企业除尘设施未正常运行，职业健康检查率偏低")
    signature = "data:image/png;base64," + __import__("base64").b64encode(demo_png(99, 300, 100)).decode()
    services.inspection_sign(actor=leader2, inspection=inspection, signature=signature)
    _findings_in_every_state(inspection, county_clerk=User.objects.get(
        username=demo_username("county2", "health", "clerk")), reviewer=leader2)
    visited = _pick_employer(sibling, rng)
    if visited is not None:
        unannounced = services.assignment_create(actor=admin, team=two, kind=ChecklistKind.UNANNOUNCED,
                                                 employer=visited)
        services.inspection_start(actor=member2, assignment=unannounced)
        _answers(unannounced, member2, seed=seed + 2, no_items=2)
        services.inspection_submit(actor=member2, inspection=unannounced.inspection,
                                   highlights="企业设立了职业健康管理机构", problems="警示标识不全")
    return (f"inspection plan: 2 teams, {plan.assignments.count()} assignments, "
            f"{Finding.objects.filter(inspection__assignment__plan=plan).count()} findings; "
            f"HRSS counts for {covered} employers")
