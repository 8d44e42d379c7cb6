"""Every write of the patient files: plain functions taking the acting user, one transaction
each, permission checked through portal.scoping, audit context through portal.audit, rollups
marked dirty for the county."""

from __future__ import annotations

import calendar
import datetime
import decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric

from ledger.models import Employer
from ledger.validation import clean_id_number, clean_phone, clean_uscc
from patients.models import (
    LEVEL_FIELDS,
    STATION_EQUIPMENT,
    STATION_ROOMS,
    AccessKind,
    DiagnosisKind,
    FollowUp,
    LifeStatus,
    Patient,
    PatientAccess,
    PatientMove,
    RehabSite,
    ReliefAction,
    SiteKind,
)
from portal.audit import AuditAction, audit
from portal.models import Region, RegionLevel, User
from portal.scoping import RELIEF_DUTIES, Capability, relief_grants, require_in_scope, scope_for
from portal.values import REPEAT_WINDOW, VersionConflict, check_text

PATIENT_FIELDS = [
    "name", "id_number", "sex", "birth_date", "phone", "county", "township", "village", "address",
    "employer", "employer_name", "employer_uscc", "employer_gone", "exposure_years", "dust_type",
    "diagnosis_kind", "disease", "stage", "diagnosed_on", "diagnosis_institution", "certificate_number",
    "injury_insured", "injury_recognized", "disability_grade", "status", "died_on", "death_cause", "rehab_filed_on",
]
FOLLOWUP_FIELDS = ["followed_on", "way", "health_status", "fev1_percent", "fvc_percent", "oxygen_use",
                   "rehab_received", "rehab_note", "note"]
RELIEF_FIELDS = ["kind", "acted_on", "reference", "amount", "note"]
SITE_FIELDS = ["kind", "name", "county", "township", "village", "host_institution", "rooms", "equipment",
               "drugs_stocked", "opened_on", "patients_served"]


class ConflictError(VersionConflict):
    def __init__(self, current_version: int):
        super().__init__(_("该档案已被他人修改，您的保存未生效。请刷新后重新填写。"), current_version)


class Errors:
    """Collects every problem by field, raises one ValidationError at the end."""

    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message) -> None:
        self.by_field.setdefault(field, []).append(str(message))

    def __contains__(self, field: str) -> bool:
        return field in self.by_field

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _text(cleaned: dict, field: str, errors: Errors, model=Patient) -> str:
    """The text stripped; control characters and over-long values refused (portal.values)."""
    model_field = model._meta.get_field(field)
    try:
        cleaned[field] = check_text(cleaned.get(field), max_length=getattr(model_field, "max_length", None),
                                    multiline=field == "note")
    except ValidationError as exc:
        errors.add(field, exc.messages[0])
        cleaned[field] = ""
    return cleaned[field]


def cycle_months(stage: int | None) -> int:
    return settings.PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS if stage == 3 else settings.PNEUMO_FOLLOWUP_CYCLE_MONTHS


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(day.day, last))


def duplicate_message(actor: User, holder: Patient) -> str:
    """Name the holding county only to a user who may see it: otherwise the answer would tell
    anyone whether a given person is a patient somewhere."""
    if scope_for(actor, Capability.PATIENT_VIEW).contains(holder.county):
        return _("该身份证号已在%(county)s建档（%(name)s），不能重复建档；如患者已迁居，请由该县办理迁移。") % {
            "county": holder.county.name, "name": holder.name}
    return _("该身份证号已在其他地区建档，不能重复建档；请联系上级卫生健康部门核实。")


def clean_patient_data(actor: User, data: dict, *, instance: Patient | None = None) -> dict:
    errors = Errors()
    cleaned = dict(data)
    today = timezone.localdate()
    if not _text(cleaned, "name", errors):
        errors.add("name", _("请填写姓名"))
    try:
        cleaned["id_number"] = clean_id_number(cleaned.get("id_number", ""))
    except ValidationError as exc:
        errors.add("id_number", exc.messages[0])
    else:
        holder = (Patient.objects.select_related("county").filter(id_number=cleaned["id_number"])
                  .exclude(pk=getattr(instance, "pk", None)).first())
        if holder is not None:
            errors.add("id_number", duplicate_message(actor, holder))
        id_birth = ric.get_birth_date(cleaned["id_number"])
        if not cleaned.get("birth_date"):
            cleaned["birth_date"] = id_birth
        elif cleaned["birth_date"] != id_birth:
            errors.add("birth_date", _("出生日期与身份证号不一致（身份证号中为 %(d)s）") % {"d": id_birth})
        id_sex = "M" if int(cleaned["id_number"][16]) % 2 else "F"
        if not cleaned.get("sex"):
            cleaned["sex"] = id_sex
        elif cleaned["sex"] != id_sex:
            errors.add("sex", _("性别与身份证号不一致"))
    if not cleaned.get("sex"):
        errors.add("sex", _("请选择性别"))
    birth = cleaned.get("birth_date")
    if birth and birth > today:
        errors.add("birth_date", _("出生日期不能晚于今天"))
    try:
        cleaned["phone"] = clean_phone(cleaned.get("phone", ""))
    except ValidationError as exc:
        errors.add("phone", exc.messages[0])
    county, township = cleaned.get("county"), cleaned.get("township")
    if county is None or county.level != RegionLevel.COUNTY:
        errors.add("county", _("请选择现住址所在县（市、区）"))
    elif township is not None and township.parent_id != county.pk:
        errors.add("township", _("乡镇（街道）“%(t)s”不属于%(c)s") % {"t": township.name, "c": county.name})
    _text(cleaned, "village", errors)
    _text(cleaned, "address", errors)

    employer: Employer | None = cleaned.get("employer")
    _text(cleaned, "employer_name", errors)
    uscc = _text(cleaned, "employer_uscc", errors)
    if (employer is None and instance is not None and instance.employer_id is not None
            and uscc.upper() == instance.employer_uscc.upper() and cleaned["employer_name"] == instance.employer_name):
        # The form and the API carry the employer by its USCC, which an employer registered by its old
        # number lacks (and a file may have been saved without): the same employer as before keeps its link.
        employer = cleaned["employer"] = instance.employer
    elif employer is None and uscc:
        # A USCC of a ledger employer the user can see links the file to it (and its status).
        employer = (Employer.objects.filter(uscc=uscc.upper())
                    .filter(scope_for(actor, Capability.LEDGER_VIEW).q_levels(Employer.SCOPE_LEVEL_FIELDS)).first())
        cleaned["employer"] = employer
    if employer is not None:
        if not scope_for(actor, Capability.LEDGER_VIEW).contains(employer.county):
            errors.add("employer", _("所选用人单位不在您的管辖范围内"))
        cleaned["employer_name"], cleaned["employer_uscc"] = employer.name, employer.uscc or ""
        cleaned["employer_gone"] = employer.status == "closed"
    else:
        if not cleaned["employer_name"]:
            errors.add("employer_name", _("请填写接尘用人单位名称（台帐中没有的单位直接填写名称）"))
        if uscc:
            try:
                cleaned["employer_uscc"] = clean_uscc(uscc)
            except ValidationError as exc:
                errors.add("employer_uscc", exc.messages[0])
        cleaned["employer_gone"] = bool(cleaned.get("employer_gone"))
    years = cleaned.get("exposure_years")
    if years is not None and not (decimal.Decimal(0) <= decimal.Decimal(years) <= 80):
        errors.add("exposure_years", _("接尘工龄应在 0～80 年之间"))

    kind = cleaned.get("diagnosis_kind")
    if kind not in DiagnosisKind.values:
        errors.add("diagnosis_kind", _("请选择诊断类别（职业性尘肺病，或仅诊断为尘肺病）"))
    cleaned["disease"] = cleaned.get("disease") or ""
    if kind == DiagnosisKind.OCCUPATIONAL and not cleaned["disease"]:
        errors.add("disease", _("职业性尘肺病请选择病种（13 种尘肺病之一）"))
    if cleaned.get("stage") in (None, ""):
        errors.add("stage", _("已诊断的患者请填写期别（壹期、贰期或叁期）"))
    elif int(cleaned["stage"]) not in (1, 2, 3):
        errors.add("stage", _("期别只能是壹期、贰期或叁期"))
    diagnosed = cleaned.get("diagnosed_on")
    if not diagnosed:
        errors.add("diagnosed_on", _("请填写诊断日期"))
    else:
        if diagnosed > today:
            errors.add("diagnosed_on", _("诊断日期不能晚于今天"))
        if birth and diagnosed < birth:
            errors.add("diagnosed_on", _("诊断日期不能早于出生日期（%(d)s）") % {"d": birth})
    _text(cleaned, "diagnosis_institution", errors)
    _text(cleaned, "certificate_number", errors)

    cleaned["injury_insured"] = bool(cleaned.get("injury_insured"))
    cleaned["injury_recognized"] = bool(cleaned.get("injury_recognized"))
    grade = cleaned.get("disability_grade") or None
    cleaned["disability_grade"] = grade
    if grade is not None and not cleaned["injury_recognized"]:
        errors.add("disability_grade", _("只有已认定工伤的患者才有伤残等级"))
    if grade is not None and not 1 <= int(grade) <= 10:
        errors.add("disability_grade", _("伤残等级应为 1～10 级"))
    if kind == DiagnosisKind.UNPROVEN and cleaned["injury_recognized"]:
        errors.add("injury_recognized", _("仅诊断为尘肺病（未认定职业病）的患者不能认定工伤"))

    status = cleaned.get("status") or LifeStatus.ALIVE
    cleaned["status"] = status
    _text(cleaned, "death_cause", errors)
    if status == LifeStatus.DIED:
        died = cleaned.get("died_on")
        if not died:
            errors.add("died_on", _("死亡的患者请填写死亡日期"))
        elif died > today:
            errors.add("died_on", _("死亡日期不能晚于今天"))
        elif diagnosed and died < diagnosed:
            errors.add("died_on", _("死亡日期不能早于诊断日期"))
    else:
        cleaned["died_on"], cleaned["death_cause"] = None, ""
    rehab = cleaned.get("rehab_filed_on")
    if rehab and rehab > today:
        errors.add("rehab_filed_on", _("肺康复建档日期不能晚于今天"))
    errors.raise_if_any()
    return cleaned


def assign(patient: Patient, cleaned: dict) -> None:
    for field in PATIENT_FIELDS:
        if field in ("county", "township"):
            continue
        setattr(patient, field, cleaned.get(field))
    patient.set_region(cleaned["county"], cleaned.get("township"))
    _set_relief_category(patient, patient.relief()[0])
    _schedule(patient)


def _set_relief_category(patient: Patient, category: str) -> None:
    """The category, and with it the first measure that counts for it: the one a department
    serving the category recorded (the relief indicator and the dashboard's drill read it)."""
    patient.relief_category = category
    if patient.pk is None:
        patient.relief_acted_on = None
        return
    departments = [d for d, duty in RELIEF_DUTIES.items() if category in duty.categories]
    patient.relief_acted_on = ReliefAction.objects.filter(
        patient_id=patient.pk, department__in=departments).aggregate(first=Min("acted_on"))["first"]


def _refresh_followups(patient: Patient) -> None:
    """What the file keeps of its follow-ups, read back from them (whatever was added, changed
    or removed): the dates for the rollup, the latest one and the next one due."""
    patient.followup_dates = list(FollowUp.objects.filter(patient_id=patient.pk).order_by("followed_on")
                                  .values_list("followed_on", flat=True))
    patient.last_followup_on = patient.followup_dates[-1] if patient.followup_dates else None
    _schedule(patient)


def _schedule(patient: Patient) -> None:
    """Next follow-up: one cycle after the last one (or after the diagnosis); none once the
    patient died or moved away."""
    if patient.status != LifeStatus.ALIVE:
        patient.next_followup_due = None
        return
    base = patient.last_followup_on or patient.diagnosed_on
    patient.next_followup_due = add_months(base, cycle_months(patient.stage))


def mark_dirty(county_id: int, since: datetime.date | None = None) -> None:
    """The county's patient figures are stale in every period ending on or after `since` (a
    patient's figures count as of each period's end, so a change reaches back)."""
    from ledger.models import ReportingPeriod
    from targets.services import rollup_mark_dirty

    periods = ReportingPeriod.objects.order_by("year", "half")
    if since is not None:
        periods = periods.filter(ends_on__gte=since)
    for period_id in periods.values_list("pk", flat=True):
        rollup_mark_dirty(county_id, period_id)


def _repeated_create(actor: User, data: dict) -> Patient | None:
    """The file an identical create made a moment ago, if this is a repeat of it: the same ID
    number, filed within REPEAT_WINDOW, unchanged since, every field sent the same, and a file
    the actor may edit (to anyone else the create is refused as a duplicate, as it always was)."""
    try:
        id_number = clean_id_number(data.get("id_number") or "")
    except ValidationError:
        return None
    existing = Patient.objects.filter(id_number=id_number, version=1,
                                      created_at__gte=timezone.now() - REPEAT_WINDOW).first()
    if existing is None:
        return None
    try:
        cleaned = clean_patient_data(actor, data, instance=existing)
    except ValidationError:
        return None
    probe = Patient()
    for field in PATIENT_FIELDS:
        setattr(probe, field, cleaned.get(field))
    attnames = [Patient._meta.get_field(field).attname for field in PATIENT_FIELDS]
    if any(getattr(probe, attname) != getattr(existing, attname) for attname in attnames):
        return None
    return existing if scope_for(actor, Capability.PATIENT_EDIT).contains(existing.county) else None


def patient_create(*, actor: User, data: dict) -> Patient:
    """Idempotent: the same create sent twice (a double click, a tablet's resend) answers the
    second time with the first file, sequential or concurrent; the unique ID number decides
    which one wrote."""
    if repeated := _repeated_create(actor, data):
        return repeated
    try:
        cleaned = clean_patient_data(actor, data)
    except ValidationError:
        # An identical create committed since the look above: its ID number now reads as filed.
        if repeated := _repeated_create(actor, data):
            return repeated
        raise
    require_in_scope(actor, Capability.PATIENT_EDIT, cleaned["county"])
    try:
        with transaction.atomic(), audit(actor, AuditAction.PATIENT_CREATE):
            patient = Patient()
            assign(patient, cleaned)
            patient.save()
            mark_dirty(patient.county_id, since=patient.diagnosed_on)
    except IntegrityError:
        # Another request filed the same ID number between our check and our insert.
        if repeated := _repeated_create(actor, data):
            return repeated
        clean_patient_data(actor, data)  # names the county holding it, as the check does
        raise
    return patient


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, data: dict, expected_version: int | None = None) -> Patient:
    """Edit the file in its county; a move to another county goes through patient_move."""
    patient = Patient.objects.select_for_update(of=("self",)).select_related("county", "employer").get(pk=patient.pk)
    require_in_scope(actor, Capability.PATIENT_EDIT, patient.county)
    if expected_version is not None and expected_version != patient.version:
        raise ConflictError(patient.version)
    merged = {**{f: getattr(patient, f) for f in PATIENT_FIELDS}, **data}
    if merged["county"] != patient.county:
        raise ValidationError({"county": [_("改变所在县请使用“迁移”，以保留迁移记录")]})
    cleaned = clean_patient_data(actor, merged, instance=patient)
    with audit(actor, AuditAction.PATIENT_UPDATE):
        assign(patient, cleaned)
        patient.version += 1
        patient.save()
        mark_dirty(patient.county_id)
    return patient


@transaction.atomic
def patient_move(*, actor: User, patient: Patient, county: Region, township: Region | None, village: str,
                 address: str, moved_on: datetime.date, reason: str = "") -> Patient:
    """The county holding the file hands it to the county the patient moved to; the file, its
    follow-ups and relief go with it, and the move is kept."""
    patient = Patient.objects.select_for_update(of=("self",)).select_related("county").get(pk=patient.pk)
    require_in_scope(actor, Capability.PATIENT_EDIT, patient.county)
    errors = Errors()
    if county is None or county.level != RegionLevel.COUNTY:
        errors.add("county", _("请选择迁入的县（市、区）"))
    elif county.pk == patient.county_id:
        errors.add("county", _("迁入县与当前所在县相同；在本县内改住址请直接修改档案"))
    elif township is not None and township.parent_id != county.pk:
        errors.add("township", _("乡镇（街道）“%(t)s”不属于%(c)s") % {"t": township.name, "c": county.name})
    if not moved_on:
        errors.add("moved_on", _("请填写迁移日期"))
    elif moved_on > timezone.localdate():
        errors.add("moved_on", _("迁移日期不能晚于今天"))
    errors.raise_if_any()
    old_county_id = patient.county_id
    with audit(actor, AuditAction.PATIENT_MOVE, to_county=county.code):
        PatientMove.objects.create(
            patient=patient, from_county_id=patient.county_id, from_township_id=patient.township_id,
            from_village=patient.village, to_county=county, moved_on=moved_on, reason=(reason or "").strip(),
            moved_by=actor)
        patient.set_region(county, township)
        patient.village, patient.address = (village or "").strip(), (address or "").strip()
        patient.version += 1
        patient.save()
        keys = {"province_id": patient.province_id, "city_id": patient.city_id, "county_id": patient.county_id,
                "township_id": patient.township_id}
        FollowUp.objects.filter(patient=patient).update(**keys)
        ReliefAction.objects.filter(patient=patient).update(**keys)
        mark_dirty(old_county_id)
        mark_dirty(patient.county_id)
    return patient


def relief_refresh_for_employer(employer_id: int) -> None:
    """A ledger employer's status changed (closed, reopened): its patients' category follows."""
    changed = set()
    for patient in Patient.objects.select_related("employer").filter(employer_id=employer_id):
        category = patient.relief()[0]
        if category != patient.relief_category:
            _set_relief_category(patient, category)
            Patient.objects.filter(pk=patient.pk).update(relief_category=category,
                                                         relief_acted_on=patient.relief_acted_on)
            changed.add(patient.county_id)
    for county_id in changed:
        mark_dirty(county_id)


# ---- Follow-ups --------------------------------------------------------------------------------


def clean_followup_data(patient: Patient, data: dict) -> dict:
    errors = Errors()
    cleaned = {f: data.get(f) for f in FOLLOWUP_FIELDS}
    day = cleaned["followed_on"]
    if not day:
        errors.add("followed_on", _("请填写随访日期"))
    else:
        if day > timezone.localdate():
            errors.add("followed_on", _("随访日期不能晚于今天"))
        if day < patient.diagnosed_on:
            errors.add("followed_on", _("随访日期不能早于诊断日期（%(d)s）") % {"d": patient.diagnosed_on})
        if patient.died_on and day > patient.died_on:
            errors.add("followed_on", _("随访日期不能晚于患者死亡日期（%(d)s）") % {"d": patient.died_on})
    if not cleaned["way"]:
        errors.add("way", _("请选择随访方式"))
    if not cleaned["health_status"]:
        errors.add("health_status", _("请选择健康状况"))
    for field in ("fev1_percent", "fvc_percent"):
        value = cleaned[field]
        if value is not None and not (0 < decimal.Decimal(value) <= 200):
            errors.add(field, _("肺功能占预计值百分比应在 0～200 之间"))
    cleaned["oxygen_use"] = cleaned["oxygen_use"] or "none"
    cleaned["rehab_received"] = bool(cleaned["rehab_received"])
    for field in ("rehab_note", "note"):
        _text(cleaned, field, errors, FollowUp)
    errors.raise_if_any()
    return cleaned


@transaction.atomic
def followup_record(*, actor: User, patient: Patient, data: dict) -> FollowUp:
    patient = Patient.objects.select_for_update(of=("self",)).select_related("county").get(pk=patient.pk)
    require_in_scope(actor, Capability.PATIENT_EDIT, patient.county)
    if patient.status == LifeStatus.MOVED_AWAY:
        raise ValidationError(_("该患者已迁出（失访），不能登记随访；如已找回，请先修改生存状态。"))
    cleaned = clean_followup_data(patient, data)
    with audit(actor, AuditAction.FOLLOWUP_RECORD):
        followup = FollowUp(patient=patient, recorded_by=actor, **cleaned)
        followup.set_region(patient.county, patient.township)
        followup.save()
        _refresh_followups(patient)
        if followup.rehab_received and patient.rehab_filed_on is None:
            patient.rehab_filed_on = followup.followed_on
        patient.save(update_fields=["followup_dates", "last_followup_on", "next_followup_due", "rehab_filed_on",
                                    "updated_at"])
        mark_dirty(patient.county_id, since=followup.followed_on)
    return followup


# ---- Relief by category -------------------------------------------------------------------------


@transaction.atomic
def relief_record(*, actor: User, patient: Patient, department: str, data: dict) -> ReliefAction:
    """A department records what it did for a patient of one of its categories, in its region.
    The file is locked first: its category (checked here) and its first measure (kept on it)
    must not change underneath."""
    patient = Patient.objects.select_for_update(of=("self",)).select_related("county", "employer").get(pk=patient.pk)
    duty = RELIEF_DUTIES.get(department)
    grants = [g for g in relief_grants(actor) if g.department == department and g.may_record
              and patient.county.path.startswith(g.region.path)]
    if duty is None or not (grants or actor.is_superuser):
        raise PermissionDenied(_("您所在部门在该地区没有登记救治救助措施的权限。"))
    if patient.relief_category not in duty.categories:
        raise PermissionDenied(_("该患者属于“%(category)s”，不在本部门负责的救治救助类别内。") % {
            "category": patient.get_relief_category_display()})
    errors = Errors()
    cleaned = {f: data.get(f) for f in RELIEF_FIELDS}
    if cleaned["kind"] not in duty.kinds:
        errors.add("kind", _("本部门不能登记该项措施"))
    if not cleaned["acted_on"]:
        errors.add("acted_on", _("请填写落实日期"))
    elif cleaned["acted_on"] > timezone.localdate():
        errors.add("acted_on", _("落实日期不能晚于今天"))
    elif cleaned["acted_on"] < patient.diagnosed_on:
        errors.add("acted_on", _("落实日期不能早于诊断日期"))
    if cleaned["amount"] is not None and cleaned["amount"] < 0:
        errors.add("amount", _("金额不能为负数"))
    for field in ("reference", "note"):
        _text(cleaned, field, errors, ReliefAction)
    errors.raise_if_any()
    with audit(actor, AuditAction.RELIEF_RECORD, department=department):
        action = ReliefAction(patient=patient, department=department, recorded_by=actor, **cleaned)
        action.set_region(patient.county, patient.township)
        action.save()
        if patient.relief_acted_on is None or action.acted_on < patient.relief_acted_on:
            Patient.objects.filter(pk=patient.pk).update(relief_acted_on=action.acted_on)
        mark_dirty(patient.county_id, since=action.acted_on)
    return action


# ---- Rehabilitation stations and points ---------------------------------------------------------


def clean_site_data(data: dict) -> dict:
    errors = Errors()
    cleaned = {f: data.get(f) for f in SITE_FIELDS}
    if cleaned["kind"] not in SiteKind.values:
        errors.add("kind", _("请选择康复站或康复点"))
    for field, label in (("name", _("名称")), ("host_institution", _("依托机构"))):
        if not _text(cleaned, field, errors, RehabSite):
            errors.add(field, _("请填写%(label)s") % {"label": label})
    county, township = cleaned["county"], cleaned["township"]
    if county is None or county.level != RegionLevel.COUNTY:
        errors.add("county", _("请选择所在县（市、区）"))
    if township is None:
        errors.add("township", _("请选择所在乡镇（街道）"))
    elif county is not None and township.parent_id != county.pk:
        errors.add("township", _("乡镇（街道）“%(t)s”不属于%(c)s") % {"t": township.name, "c": county.name})
    if cleaned["kind"] == SiteKind.POINT and not _text(cleaned, "village", errors, RehabSite):
        errors.add("village", _("康复点请填写所在村（社区）"))
    if cleaned["kind"] == SiteKind.STATION:
        cleaned["village"] = ""
    cleaned["rooms"] = [r for r in (cleaned["rooms"] or []) if r in dict(STATION_ROOMS)]
    cleaned["equipment"] = [e for e in (cleaned["equipment"] or []) if e in dict(STATION_EQUIPMENT)]
    cleaned["drugs_stocked"] = bool(cleaned["drugs_stocked"])
    if not cleaned["opened_on"]:
        errors.add("opened_on", _("请填写建成日期"))
    elif cleaned["opened_on"] > timezone.localdate():
        errors.add("opened_on", _("建成日期不能晚于今天"))
    cleaned["patients_served"] = cleaned["patients_served"] or 0
    if cleaned["patients_served"] < 0:
        errors.add("patients_served", _("服务患者数不能为负数"))
    errors.raise_if_any()
    return cleaned


def rehab_site_save(*, actor: User, data: dict, site: RehabSite | None = None) -> RehabSite:
    if site is not None:
        require_in_scope(actor, Capability.PATIENT_EDIT, site.county)
    cleaned = clean_site_data(data)
    require_in_scope(actor, Capability.PATIENT_EDIT, cleaned["county"])
    with transaction.atomic(), audit(actor, AuditAction.REHAB_SITE_UPDATE if site else AuditAction.REHAB_SITE_CREATE):
        site = site or RehabSite()
        old_county = site.county_id
        for field in SITE_FIELDS:
            if field not in ("county", "township"):
                setattr(site, field, cleaned[field])
        site.set_region(cleaned["county"], cleaned["township"])
        site.save()
        mark_dirty(site.county_id)
        if old_county and old_county != site.county_id:
            mark_dirty(old_county)
    return site


# ---- Privacy: who read what ---------------------------------------------------------------------


def mask_id(number: str) -> str:
    from ledger.validation import mask_id_number

    return mask_id_number(number)


def access_log(*, user: User, patients, kind: str = AccessKind.FILE) -> None:
    """Record that `user` read these patients' files (or full ID numbers). Written in its own
    statement whatever the request does next: reading happened."""
    rows = [PatientAccess(user=user, patient_id=p.pk, kind=kind,
                          **{f"{name}_id": getattr(p, f"{name}_id") for name in LEVEL_FIELDS.values()})
            for p in patients]
    if rows:
        PatientAccess.objects.bulk_create(rows)
