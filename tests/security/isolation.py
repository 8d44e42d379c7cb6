"""The isolation matrix's world and route discovery (tests/security/test_isolation_matrix.py).

One county (东昌府区) holds one object of every kind the portal shows: an employer, its period
record and a worker, an import job, a ledger handover, HRSS coverage, a follow-up, an expansion
plan, a training event, a coverage import job, an inspection plan with a team, assignments, an
inspection and a finding, the county's own checklist version, a campaign and a target, a reported
figure with its evidence, a patient file, a rehab station, a patient import job, a checklist photo,
a finding's rectification evidence, a notification to the county's admin, a user.
Each object's table gets its own id range first, so an id names one object across all tables:
a route's object is found by asking which id the route answers for (see `discover`).

Every foreign object carries a marker string (MARKERS) that must never appear in a foreign
user's page, list, export or dropdown."""

from __future__ import annotations

import copy
import datetime as dt
import io
import itertools
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from portal.models import Department, Membership, Region, Role, User

HOME = "371502"  # 东昌府区, 聊城市: where the objects live
SIBLING = "371521"  # 阳谷县, the same city
COUSIN = "370102"  # 历下区, 济南市: another city of the province
MISSING_ID = 987_654_321_987
MISSING_CODE = "999999"

# What a foreign user must never read: names and codes of the home county's objects.
MARKERS = {
    "employer": "矩阵甲陶瓷有限公司",
    "worker": "矩阵工人甲",
    "worker_id": "371502198001011236",
    "plan": "矩阵县级检查计划",
    "team": "矩阵暗访组",
    "campaign": "矩阵东昌府区实施方案",
    "training": "矩阵培训班",
    "expansion": "矩阵扩面计划",
    "user": "矩阵东昌府用户",
    "follow_up": "矩阵跟进备注",
    "checklist_item": "矩阵本县检查项",
    "patient": "矩阵患者甲",
    "notification": "矩阵通知东昌府",
    "evidence": "矩阵整改说明",
}


@dataclass
class World:
    objects: dict[str, object] = field(default_factory=dict)  # kind → object
    owner: User | None = None  # the home county's health admin
    superuser: User | None = None
    owner_tokens: list[str] = field(default_factory=list)
    inspector: User | None = None
    hrss: User | None = None
    period: object = None
    files: list[str] = field(default_factory=list)
    # A nested object's route names its parent first (findings/<pk>/evidence/<evidence_pk>).
    parents: dict[str, str] = field(default_factory=dict)  # child kind → parent kind

    def ids(self) -> list[tuple[str, int]]:
        return [(kind, obj.pk) for kind, obj in self.objects.items() if isinstance(obj.pk, int)] + [
            ("region", Region.objects.get(code=HOME).pk)]


def _spread_sequences(models) -> None:
    """Give each table its own id range (sequences are not rolled back; ids only grow)."""
    with connection.cursor() as cursor:
        for index, model in enumerate(models, 1):
            table = model._meta.db_table
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST("
                           "(SELECT last_value FROM " + connection.ops.quote_name(f"{table}_id_seq") + "), %s))",
                           [table, index * 10_000_000])


def build_world() -> World:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inspections import services as inspection_services
    from inspections.models import (
        Assignment,
        ChecklistKind,
        ChecklistTemplate,
        ChecklistVersion,
        Finding,
        Inspection,
        InspectionPlan,
        Photo,
        RectificationEvidence,
        Team,
    )
    from insurance import services as insurance_services
    from insurance.models import (
        CoverageImportJob,
        ExpansionPlan,
        FollowUp,
        FollowUpAction,
        InsuranceCoverage,
        LedgerHandover,
        TrainingEvent,
    )
    from ledger import services as ledger_services
    from ledger.models import (
        CountySubmission,
        DustType,
        Employer,
        EmployerRecord,
        ImportJob,
        ReportingPeriod,
        Worker,
    )
    from patients import services as patient_services
    from patients.identity import generated_id_number
    from patients.models import Patient, PatientImportJob, RehabSite, SiteKind
    from targets import services as target_services
    from targets.models import Campaign, RegionRollup, ReportedFigure, Target
    from tests.factories import make_user
    from tests.inspections.factories import PNG, fill_all, load_checklists
    from tests.ledger.factories import make_employer
    from worklist.models import Notification, NotificationKind

    _spread_sequences([Employer, EmployerRecord, Worker, ImportJob, CountySubmission, LedgerHandover,
                       InsuranceCoverage, FollowUp, ExpansionPlan, TrainingEvent, CoverageImportJob, InspectionPlan,
                       Team, Assignment, Inspection, Finding, ChecklistVersion, Campaign, Target, RegionRollup,
                       ReportedFigure, Patient, RehabSite, PatientImportJob, Photo, RectificationEvidence, Notification,
                       User])
    load_checklists()
    world = World()
    o = world.objects
    home = Region.objects.get(code=HOME)
    city = home.parent
    world.superuser = User.objects.create_superuser(username="matrix_root", password="x", display_name="超级")
    owner = world.owner = make_user((HOME, Department.HEALTH, Role.ADMIN), username="matrix_owner")
    Membership.objects.create(user=owner, region=home, department=Department.HEALTH, role=Role.CLERK)
    hrss = make_user((HOME, Department.HRSS, Role.CLERK), username="matrix_hrss")
    city_admin = make_user((city.code, Department.HEALTH, Role.ADMIN), username="matrix_city_admin")
    inspector = make_user((HOME, Department.HEALTH, Role.INSPECTOR), username="matrix_inspector")
    o["user"] = make_user((HOME, Department.HEALTH, Role.VIEWER), username="matrix_user",
                          display_name=MARKERS["user"])

    # Ledger
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=dt.date(2020, 1, 1),
                                            ends_on=dt.date(2020, 6, 30), deadline=dt.date(2030, 7, 15))
    o["employer"] = employer = make_employer(county=HOME, name=MARKERS["employer"], in_governance_scope=True)
    o["submission"] = ledger_services.period_open_county(actor=owner, period=period, county=home)
    o["record"] = EmployerRecord.objects.get(employer=employer, period=period)
    o["worker"] = Worker.objects.create(employer=employer, name=MARKERS["worker"], id_number=MARKERS["worker_id"],
                                        post="粉碎工", dust_type=DustType.objects.first())
    o["import_job"] = ImportJob.objects.create(created_by=owner, province_id=city.parent_id, city=city, county=home,
                                               period=period, file="imports/matrix.xlsx",
                                               original_name="矩阵导入.xlsx")
    # Insurance
    o["handover"] = insurance_services.ledger_handover(actor=owner, period=period, county=home)
    o["coverage"] = insurance_services.coverage_save(actor=hrss, employer=employer, period=period, insured_workers=0,
                                                     as_of=dt.date(2020, 6, 30))
    o["follow_up"] = insurance_services.follow_up_create(actor=hrss, employer=employer, period=period,
                                                         action=FollowUpAction.values[0], acted_on=dt.date(2020, 6, 1),
                                                         note=MARKERS["follow_up"])
    o["expansion_plan"] = insurance_services.plan_save(
        actor=hrss, region=home, title=MARKERS["expansion"], start_year=2020,
        targets=[(2020, Decimal("50")), (2021, Decimal("60")), (2022, Decimal("70"))])
    o["training"] = insurance_services.training_create(actor=hrss, region=home, kind=TrainingEvent._meta.get_field(
        "kind").choices[0][0], title=MARKERS["training"], held_on=dt.date(2020, 5, 1), participants=10,
        employers=[employer])
    o["coverage_job"] = CoverageImportJob.objects.create(region=home, period=period, created_by=hrss,
                                                         original_name="矩阵参保.xlsx")
    # Inspections: the home county's own plan and checklist version, and the city's unannounced visit.
    today = timezone.localdate()
    template = ChecklistTemplate.objects.get(kind=ChecklistKind.COMPREHENSIVE)
    own = inspection_services.checklist_version_create(actor=owner, template=template)
    o["checklist_item"] = inspection_services.checklist_item_add(actor=owner, version=own, section_number="1",
                                                                 text=MARKERS["checklist_item"])
    inspection_services.checklist_version_publish(actor=owner, version=own)
    o["checklist_version"] = own
    o["plan"] = plan = inspection_services.plan_create(
        actor=owner, region=home, name=MARKERS["plan"], window_start=today - dt.timedelta(days=1),
        window_end=today + dt.timedelta(days=10), report_deadline=today + dt.timedelta(days=12))
    o["team"] = team = inspection_services.team_create(actor=owner, plan=plan, name=MARKERS["team"], leader=inspector)
    o["assignment"] = assignment = inspection_services.assignment_create(
        actor=owner, team=team, kind=ChecklistKind.COMPREHENSIVE, region=home)
    city_plan = inspection_services.plan_create(
        actor=city_admin, region=city, name="矩阵市级暗访计划", window_start=today - dt.timedelta(days=1),
        window_end=today + dt.timedelta(days=10), report_deadline=today + dt.timedelta(days=12))
    city_team = inspection_services.team_create(actor=city_admin, plan=city_plan, name="矩阵市级暗访组",
                                                leader=inspector)
    unannounced = inspection_services.assignment_create(actor=city_admin, team=city_team,
                                                        kind=ChecklistKind.UNANNOUNCED, employer=employer)
    o["unannounced_assignment"] = unannounced
    no_items = {item.number: "no" for item in unannounced.checklist_version.items() if item.no_is_finding}
    fill_all(unannounced, inspector, value_for=no_items)
    inspection_services.inspection_submit(actor=inspector, inspection=unannounced.inspection)
    fill_all(assignment, inspector)
    o["inspection"] = Inspection.objects.get(assignment=assignment)
    # The team leader's signature (a 1×1 PNG), so the signature image route has an object.
    Inspection.objects.filter(pk=o["inspection"].pk).update(signature="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"
                                                            "CAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
    o["inspection"].refresh_from_db()
    o["finding"] = finding = Finding.objects.filter(employer=employer).first()
    assert finding is not None
    # A photo taken on the county's own checklist, and the county's rectification with its photo.
    o["photo"] = inspection_services.photo_upload(
        actor=inspector, assignment=assignment, item_id=assignment.checklist_version.items()[0].pk,
        client_uuid=uuid.uuid4(), upload=SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    inspection_services.finding_rectify(actor=owner, finding=finding, note=MARKERS["evidence"],
                                        upload=SimpleUploadedFile("e.png", PNG, content_type="image/png"))
    o["evidence"] = RectificationEvidence.objects.get(finding=finding)
    world.parents["evidence"] = "finding"
    # Targets
    o["campaign"] = campaign = target_services.campaign_create(
        actor=owner, region=home, name=MARKERS["campaign"], authority="东昌府区卫生健康局", document_number="",
        first_year=2020, last_year=2022)
    o["target"] = target_services.target_set(actor=owner, campaign=campaign, region=home, indicator="declaration",
                                             due_on=dt.date(2021, 12, 31), value=Decimal("95"))
    o["reported_figure"] = target_services.reported_figure_save(
        actor=owner, period=period, region=home, indicator="enforcement_training", numerator=18, denominator=20,
        evidence=SimpleUploadedFile("矩阵培训签到表.pdf", b"%PDF-1.4 matrix", content_type="application/pdf"))
    # Patients
    import random

    township = Region.objects.filter(parent=home).order_by("code").first()
    o["patient"] = patient_services.patient_create(actor=owner, data={
        "name": MARKERS["patient"], "phone": "13800001111", "county": home, "township": township,
        "id_number": generated_id_number(random.Random(7), county_code=HOME, birth=dt.date(1960, 5, 1), male=True),
        "village": "东关村", "address": "东关村3组", "employer": None, "employer_name": "聊城市某石材厂",
        "employer_uscc": "", "employer_gone": False, "exposure_years": 12, "dust_type": None,
        "diagnosis_kind": "occupational", "disease": "silicosis", "stage": 2, "diagnosed_on": dt.date(2015, 3, 1),
        "diagnosis_institution": "聊城市职业病防治院", "certificate_number": "LC2015-001", "injury_insured": False,
        "injury_recognized": False, "disability_grade": None, "status": "alive", "died_on": None, "death_cause": "",
        "rehab_filed_on": None})
    keys = {"province_id": city.parent_id, "city_id": city.pk, "county_id": home.pk, "township_id": township.pk}
    o["rehab_site"] = RehabSite.objects.create(
        kind=SiteKind.STATION, name="矩阵尘肺病康复站", host_institution="矩阵卫生院", rooms=["oxygen"],
        equipment=["ecg"], drugs_stocked=True, opened_on=dt.date(2020, 3, 1), patients_served=20, **keys)
    o["patient_import_job"] = PatientImportJob.objects.create(created_by=owner, original_name="矩阵患者名单.xlsx",
                                                              county_id=home.pk, province_id=city.parent_id,
                                                              city_id=city.pk)
    # The admin's own notification: opening it leads to the work, anyone else's open leads to their inbox.
    o["notification"] = Notification.objects.create(
        user=owner, kind=NotificationKind.ASSIGNMENT_GIVEN, key="matrix", title=MARKERS["notification"],
        url=f"/inspections/assignments/{assignment.pk}/")
    target_services.rollup_recompute_full(period=period)
    o["rollup"] = RegionRollup.objects.get(period=period, region=home)
    world.period = period
    world.inspector, world.hrss = inspector, hrss
    from django.core.cache import cache

    token = new_token()
    cache.set(f"export:{token}", {"user": owner.pk, "kind": "ledger", "status": "pending", "rows": 1,
                                  "filename": "matrix.xlsx"}, 3600)
    world.owner_tokens.append(token)
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    done = new_token()
    path = default_storage.save(f"exports/matrix-{done}.xlsx", ContentFile(b"PK matrix " + MARKERS["employer"].encode()))
    cache.set(f"export:{done}", {"user": owner.pk, "kind": "ledger", "status": "done", "rows": 1, "path": path,
                                 "filename": "matrix.xlsx"}, 3600)
    world.owner_tokens.append(done)
    world.files.append(path)
    return world


# ---- Routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str  # "ledger/employers/<int:pk>/" or an API regex
    name: str
    callback: object
    kwargs: tuple[str, ...]
    is_api: bool

    def url(self, values: dict) -> str:
        path = self.pattern
        for key, value in values.items():
            path = re.sub(r"\(\?P<" + key + r">[^)]*\)", str(value), path)
            path = re.sub(r"<(?:\w+:)?" + key + r">", str(value), path)
        return "/" + path.lstrip("^").replace("^", "").replace("$", "").replace("\\.", ".")

    @property
    def actions(self) -> dict:
        return getattr(self.callback, "actions", None) or {}

    def methods(self) -> list[str]:
        if self.actions:
            return sorted(method.upper() for method in self.actions)
        return ["GET", "POST"]


def all_routes() -> list[Route]:
    """Every route of the URL configuration but the admin's (it guards itself) and DRF's format
    suffix twins (`….json`), which reach the same view."""
    routes = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p

    for pattern, p in walk(get_resolver().url_patterns):
        if pattern.startswith("admin/") or "(?P<format>" in pattern:
            continue
        kwargs = tuple(dict.fromkeys(re.findall(r"\(\?P<(\w+)>", pattern)
                                     + re.findall(r"(?<!\?P)<(?:\w+:)?(\w+)>", pattern)))
        routes.append(Route(pattern, p.name or "", p.callback, kwargs, hasattr(p.callback, "cls")))
    return routes


def body_text(response) -> str:
    """A response's text; workbooks are unzipped so their cells are searched too."""
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
                               if name.endswith(".xml"))
        except zipfile.BadZipFile:
            pass
    return content.decode("utf-8", "replace")


def markers_in(text: str) -> list[str]:
    return [marker for marker in MARKERS.values() if marker in text]


def department_roles() -> list[tuple[str, str]]:
    """Every (department, role) pair portal/scoping.py knows: the enumerations' product and the
    capability table's keys, so a new department or role is covered the day it is added."""
    from portal.scoping import CAPABILITIES

    return sorted(set(itertools.product(Department, Role)) | set(CAPABILITIES))


def foreign_users() -> list[tuple[str, User | None]]:
    """Anonymous, then every department × role of a sibling county (same city) and of a county of
    another city of the province."""
    from tests.factories import make_user

    users: list[tuple[str, User | None]] = [("anonymous", None)]
    for code, label in ((SIBLING, "sibling"), (COUSIN, "cousin")):
        for department, role in department_roles():
            users.append((f"{label}:{department}:{role}", make_user(
                (code, department, role), username=f"m_{label}_{department}_{role}")))
    return users


def in_savepoint(call):
    """Run a request and undo whatever it wrote, so one request cannot change what the next sees."""
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


def new_token() -> str:
    return uuid.uuid4().hex


# ---- Unfiltered querysets ------------------------------------------------------------------------

# Reference data every user reads: an unfiltered queryset of these is no leak. Every other model of
# the project's apps holds some county's (or some user's) data, directly or through its foreign keys.
SHARED_MODELS = {
    "ledger.Industry": "the national industry classification (GB/T 4754-2017)",
    "ledger.DustType": "the national list of dust types",
    "ledger.ReportingPeriod": "the national half-year reporting periods",
    "inspections.ChecklistTemplate": "the issuing levels' checklists, which every level below fills",
    "targets.RollupRun": "the recompute log (period, duration, counts), shown to no one by region",
    "worklist.NotificationEvent": "the outbox, which no page shows",
}


def project_models() -> list:
    """The models of the portal's own apps (not Django's or third parties')."""
    from django.apps import apps
    from django.conf import settings

    root = str(settings.BASE_DIR)
    return [model for config in apps.get_app_configs()
            if config.path.startswith(root) and ".venv" not in config.path for model in config.get_models()]


def scoped_model(model, _seen: tuple = ()) -> bool:
    """A model holding some county's or user's rows: it declares its scope (SCOPE_LEVEL_FIELDS,
    SCOPE_REGION_PATH), is a user or membership, or reaches one of those through a foreign key
    (a team through its plan, a photo through its inspection, a notification through its user)."""
    if model._meta.label in SHARED_MODELS:
        return False
    if getattr(model, "SCOPE_LEVEL_FIELDS", None) or getattr(model, "SCOPE_REGION_PATH", None) or model in (
            User, Membership):
        return True
    return model not in _seen and any(
        f.many_to_one and scoped_model(f.related_model, (*_seen, model)) for f in model._meta.concrete_fields)


def unfiltered(value) -> str | None:
    """The model name of an unfiltered queryset of a scoped model, in a value or in a form's
    choice fields; None when there is none."""
    from django.db.models import QuerySet
    from django.forms import BaseForm, ModelChoiceField

    if isinstance(value, QuerySet) and scoped_model(value.model) and not value.query.where:
        return value.model.__name__
    if isinstance(value, BaseForm):
        for name, form_field in value.fields.items():
            if isinstance(form_field, ModelChoiceField) and (found := unfiltered(form_field.queryset)):
                return f"{type(value).__name__}.{name} ({found})"
    return None


class Contexts:
    """The template contexts rendered while the block runs (Django's test instrumentation sends
    them); `unfiltered` names each unfiltered queryset found in them."""

    def __enter__(self):
        from django.test.signals import template_rendered

        self.seen = []
        template_rendered.connect(self.record)
        return self

    def record(self, sender, template, context, **kwargs):
        self.seen.append((template.name, copy.copy(context)))  # as the test client keeps it: popped later

    def __exit__(self, *exc):
        from django.test.signals import template_rendered

        template_rendered.disconnect(self.record)

    def unfiltered(self, where: str) -> list[str]:
        return [f"{where} ({name}): {key} is {found}.all()" for name, context in self.seen
                for key, value in context.flatten().items() if (found := unfiltered(value))]
