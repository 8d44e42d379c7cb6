"""Every write of the ledger: plain functions taking the acting user, one transaction each,
permission checked through portal.scoping, audit context through portal.audit."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.industries import key_group_of
from ledger.models import (
    LOCKED_STATUSES,
    RECORD_FIELDS,
    WARNING_SIGN_POSTS,
    CountySubmission,
    DustType,
    Employer,
    EmployerRecord,
    PeriodDeadline,
    RecordDustExposure,
    ReportingPeriod,
    SubmissionStatus,
    Worker,
)
from ledger.validation import clean_id_number, clean_phone, clean_registration_number, clean_uscc
from portal.audit import AuditAction, audit
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, require_in_scope, scope_for
from portal.values import (
    REPEAT_WINDOW,
    Errors,
    VersionConflict,
    birth_date_of,
    check_count,
    check_model_text,
    check_past_date,
)
from targets.services import rollup_mark_dirty
from worklist.models import NotificationKind
from worklist.services import notify

EMPLOYER_FIELDS = [
    "uscc", "registration_number", "name", "county", "township", "registered_address", "workplace_address",
    "industry", "size", "ownership", "business_scope", "legal_representative", "legal_representative_phone",
    "health_manager", "health_manager_phone", "status", "in_governance_scope",
]
# Free text of an employer: no control characters, within the column's length (never cut).
EMPLOYER_TEXT_FIELDS = ["name", "registered_address", "workplace_address", "business_scope", "legal_representative",
                        "health_manager"]
# Dates of things that happened (1950-01-01 … today).
RECORD_DATE_FIELDS = ["declared_on", "last_test_date", "last_inspection_date"]
RECORD_TEXT_FIELDS = ["test_lab"]
WORKER_FIELDS = ["name", "id_number", "post", "dust_type", "exposure_start", "insured", "last_exam_date",
                 "last_exam_result"]


@dataclass
class Change:
    field: str
    label: str
    yours: object
    theirs: object


class ConflictError(VersionConflict):
    def __init__(self, changes: list[Change], current_version: int):
        super().__init__(_("该记录已被他人修改，您的保存未生效。请核对以下变化后重新保存。"), current_version, changes)


def _changes_since(instance, submitted: dict, fields: list[str]) -> list[Change]:
    """Fields whose stored value differs from what this user is about to save."""
    changes = []
    for name in fields:
        if name not in submitted:
            continue
        field = instance._meta.get_field(name)
        theirs = getattr(instance, field.attname if field.is_relation else name)
        yours = submitted[name]
        yours = getattr(yours, "pk", yours)
        if theirs != yours:
            changes.append(Change(name, str(field.verbose_name), yours, theirs))
    return changes


def _check_version(instance, expected_version: int | None, submitted: dict, fields: list[str]) -> None:
    if expected_version is not None and instance.version != expected_version:
        raise ConflictError(_changes_since(instance, submitted, fields), instance.version)


# ---- Employers ----------------------------------------------------------------------------


def clean_employer_data(data: dict, *, instance: Employer | None = None, actor: User | None = None) -> dict:
    """Normalise and check an employer's identity fields; raise one ValidationError listing
    every problem by field."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(data)

    def fail(field: str, message) -> None:
        errors.setdefault(field, []).append(str(message))

    for field, cleaner in (("uscc", clean_uscc), ("registration_number", clean_registration_number)):
        if cleaned.get(field):
            try:
                cleaned[field] = cleaner(cleaned[field])
            except ValidationError as exc:
                fail(field, exc.messages[0])
        else:
            cleaned[field] = None
    if not cleaned.get("uscc") and not cleaned.get("registration_number") and "uscc" not in errors:
        fail("uscc", _("请填写统一社会信用代码（尚未换领的单位填写15位旧工商注册号）"))
    for field in ("legal_representative_phone", "health_manager_phone"):
        try:
            cleaned[field] = clean_phone(cleaned.get(field, ""))
        except ValidationError as exc:
            fail(field, exc.messages[0])
    for field in EMPLOYER_TEXT_FIELDS:
        try:
            cleaned[field] = check_model_text(Employer, field, cleaned.get(field))
        except ValidationError as exc:
            fail(field, exc.messages[0])
    for field, label in (("name", _("单位名称")), ("workplace_address", _("作业场所地址")),
                         ("legal_representative", _("法定代表人"))):
        if field not in errors and not cleaned[field]:
            fail(field, _("请填写%(label)s") % {"label": label})
    county, township = cleaned.get("county"), cleaned.get("township")
    if county is None or county.level != RegionLevel.COUNTY:
        fail("county", _("请选择所在县（市、区）"))
    elif township is not None and township.parent_id != county.pk:
        fail("township", _("乡镇（街道）“%(t)s”不属于%(c)s") % {"t": township.name, "c": county.name})
    industry = cleaned.get("industry")
    if industry is None:
        fail("industry", _("请选择行业（GB/T 4754-2017）"))
    elif industry.level < 2:
        fail("industry", _("请选择到行业大类、中类或小类，不能只选门类"))
    if cleaned.get("uscc") and "uscc" not in errors:
        clash = Employer.objects.filter(uscc=cleaned["uscc"]).exclude(pk=getattr(instance, "pk", None))
        if other := clash.select_related("county").first():
            if actor is not None and scope_for(actor, Capability.LEDGER_VIEW).contains(other.county):
                fail("uscc", _("统一社会信用代码 %(uscc)s 已登记在%(county)s的“%(name)s”") % {
                    "uscc": cleaned["uscc"], "county": other.county.name, "name": other.name})
            else:  # held outside what the actor may see: neither its name nor its region
                fail("uscc", _("统一社会信用代码 %(uscc)s 已在其他地区登记。") % {"uscc": cleaned["uscc"]})
    if cleaned.get("registration_number") and "registration_number" not in errors:
        clash = Employer.objects.filter(registration_number=cleaned["registration_number"])
        if clash.exclude(pk=getattr(instance, "pk", None)).exists():
            fail("registration_number", _("旧工商注册号 %(n)s 已被其他单位使用") % {"n": cleaned["registration_number"]})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _set_fields(instance, fields, cleaned: dict) -> None:
    """Copy the cleaned `fields` onto the row; a blank value of a column that cannot be null
    takes the column's default."""
    for field in fields:
        value = cleaned.get(field)
        model_field = instance._meta.get_field(field)
        if value is None and not model_field.null and not model_field.is_relation:
            value = model_field.get_default()
        setattr(instance, field, value)


def _assign(employer: Employer, cleaned: dict) -> None:
    """Copy cleaned fields; denormalize the region keys from the county (its parent is a city,
    its grandparent a province) and the key-industry group from the industry."""
    _set_fields(employer, EMPLOYER_FIELDS, cleaned)
    city = employer.county.parent
    employer.city_id, employer.province_id = city.pk, city.parent_id
    employer.key_group = key_group_of(employer.industry.code)


def _repeated_create(data: dict) -> Employer | None:
    """The employer an identical create made a moment ago, if this is a repeat of it."""
    identifiers = {}
    for field, cleaner in (("uscc", clean_uscc), ("registration_number", clean_registration_number)):
        if data.get(field):
            try:
                identifiers[field] = cleaner(data[field])
            except ValidationError:
                return None
    if not identifiers:
        return None
    field, value = next(iter(identifiers.items()))
    existing = Employer.objects.filter(**{field: value}, created_at__gte=timezone.now() - REPEAT_WINDOW,
                                       version=1).first()
    if existing is None:
        return None
    try:
        cleaned = clean_employer_data(data, instance=existing)
    except ValidationError:
        return None
    probe = Employer(pk=existing.pk, version=existing.version)
    _assign(probe, cleaned)
    same = all(getattr(probe, Employer._meta.get_field(f).attname) == getattr(existing, Employer._meta.get_field(f).attname)
               for f in EMPLOYER_FIELDS)
    return existing if same else None


def employer_create(*, actor: User, data: dict) -> Employer:
    """Idempotent: the same create sent twice answers the second time with the first employer
    (sequential or concurrent: the unique USCC decides which one wrote)."""
    if repeated := _repeated_create(data):
        require_in_scope(actor, Capability.LEDGER_EDIT, repeated.county)
        return repeated
    try:
        cleaned = clean_employer_data(data, actor=actor)
    except ValidationError:
        # An identical create committed since the look above: its USCC now reads as registered.
        if repeated := _repeated_create(data):
            require_in_scope(actor, Capability.LEDGER_EDIT, repeated.county)
            return repeated
        raise
    require_in_scope(actor, Capability.LEDGER_EDIT, cleaned["county"])
    try:
        with transaction.atomic(), audit(actor, AuditAction.EMPLOYER_CREATE):
            employer = Employer()
            _assign(employer, cleaned)
            employer.save()
            open_submission = CountySubmission.objects.filter(
                county=employer.county, status__in=[SubmissionStatus.DRAFT, SubmissionStatus.RETURNED]
            ).order_by("-period__year", "-period__half").first()
            if open_submission:
                _new_record(employer, open_submission.period, actor)
                rollup_mark_dirty(employer.county_id, open_submission.period_id)
    except IntegrityError:
        # Another request created the same identifier between our check and our insert.
        if repeated := _repeated_create(data):
            return repeated
        clean_employer_data(data, actor=actor)  # names the clash in Chinese (or 'registered elsewhere')
        raise
    return employer


@transaction.atomic
def employer_update(*, actor: User, employer: Employer, data: dict, expected_version: int | None) -> Employer:
    employer = Employer.objects.select_for_update(no_key=True, of=("self",)).get(pk=employer.pk)
    require_in_scope(actor, Capability.LEDGER_EDIT, employer.county)
    cleaned = clean_employer_data({**{f: getattr(employer, f) for f in EMPLOYER_FIELDS}, **data}, instance=employer,
                                  actor=actor)
    require_in_scope(actor, Capability.LEDGER_EDIT, cleaned["county"])
    _check_version(employer, expected_version, cleaned, EMPLOYER_FIELDS)
    with audit(actor, AuditAction.EMPLOYER_UPDATE):
        old_place, old_status = (employer.county_id, employer.township_id), employer.status
        _assign(employer, cleaned)
        employer.version += 1
        employer.save()
        if employer.status != old_status:
            from patients.services import relief_refresh_for_employer

            relief_refresh_for_employer(employer.pk)  # a closed employer moves its patients to category (c)
        touched = set()
        if (employer.county_id, employer.township_id) != old_place:
            touched |= _move_open_records(employer)
        touched |= classification_refresh(employer_ids=[employer.pk])
        for county_id, period_id in touched:
            rollup_mark_dirty(county_id, period_id)
    return employer


# A record is open while its county's ledger for the period is not submitted (no submission
# yet, being filled, or returned); once submitted, approved or accepted it is frozen.
_LOCKED = "(" + ", ".join(f"'{status.value}'" for status in LOCKED_STATUSES) + ")"
_OPEN = """NOT EXISTS (SELECT 1 FROM ledger_countysubmission s WHERE s.period_id = r.period_id
                      AND s.county_id = {county} AND s.status IN """ + _LOCKED + ")"


def _move_open_records(employer: Employer) -> set[tuple[int, int]]:
    """An employer moved (another county or township): its records of the periods open both
    where it was and where it goes move with it; a submitted ledger keeps what it counted.
    Returns the (county, period) pairs whose figures changed."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE ledger_employerrecord r
            SET province_id = %(province)s, city_id = %(city)s, county_id = %(county)s, township_id = %(township)s
            FROM ledger_employerrecord old
            WHERE old.id = r.id AND r.employer_id = %(employer)s
              AND (r.county_id, r.township_id) IS DISTINCT FROM (%(county)s, %(township)s)
              AND {_OPEN.format(county="r.county_id")} AND {_OPEN.format(county="%(county)s")}
            RETURNING old.county_id, r.county_id, r.period_id
        """, {"employer": employer.pk, "province": employer.province_id, "city": employer.city_id,
              "county": employer.county_id, "township": employer.township_id})
        moved = cursor.fetchall()
    return {(old, period) for old, _new, period in moved} | {(new, period) for _old, new, period in moved}


def classification_refresh(*, employer_ids: list[int] | None = None, county_id: int | None = None,
                           period_id: int | None = None) -> set[tuple[int, int]]:
    """Copy the employers' classification (governance scope, key-industry group, operating
    status) into their records of the open periods, in the caller's transaction; submitted
    periods keep what they were counted under. Returns the (county, period) pairs whose
    records changed, for the caller to mark dirty."""
    conditions, params = [], {}
    if employer_ids is not None:
        conditions.append("r.employer_id = ANY(%(employers)s)")
        params["employers"] = list(employer_ids)
    if county_id is not None:
        conditions.append("r.county_id = %(county)s")
        params["county"] = county_id
    if period_id is not None:
        conditions.append("r.period_id = %(period)s")
        params["period"] = period_id
    if not conditions:
        raise ValueError("classification_refresh needs employers, a county or a period")
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE ledger_employerrecord r
            SET in_governance_scope = e.in_governance_scope, key_group = e.key_group, operating_status = e.status
            FROM ledger_employer e
            WHERE e.id = r.employer_id AND {" AND ".join(conditions)}
              AND (r.in_governance_scope, r.key_group, r.operating_status)
                  IS DISTINCT FROM (e.in_governance_scope, e.key_group, e.status)
              AND {_OPEN.format(county="r.county_id")}
            RETURNING r.county_id, r.period_id
        """, params)
        return set(cursor.fetchall())


# ---- Periods and records --------------------------------------------------------------------


def period_create(*, actor: User, year: int, half: int, deadline: datetime.date) -> ReportingPeriod:
    """Half-years are national; a provincial health admin sets one up (with its default deadline)."""
    scope = scope_for(actor, Capability.PERIODS_MANAGE)
    if not (scope.unrestricted or any(r.level <= RegionLevel.PROVINCE for r in scope.regions)):
        raise PermissionDenied(_("只有省级卫生健康管理员可以设立填报期。"))
    if half not in (1, 2) or not 2019 <= year <= 2100:
        raise ValidationError(_("填报期应为2019年以后某年的上半年或下半年。"))
    starts = datetime.date(year, 1 if half == 1 else 7, 1)
    ends = datetime.date(year, 6, 30) if half == 1 else datetime.date(year, 12, 31)
    if deadline < starts:
        raise ValidationError({"deadline": _("报送截止日期不能早于填报期开始日期 %(d)s。") % {"d": starts}})
    code = f"{year}H{half}"
    if ReportingPeriod.objects.filter(code=code).exists():
        raise ValidationError(_("填报期 %(code)s 已存在。") % {"code": code})
    with transaction.atomic(), audit(actor, AuditAction.PERIOD_CREATE, period=code):
        return ReportingPeriod.objects.create(code=code, year=year, half=half, starts_on=starts, ends_on=ends,
                                              deadline=deadline)


def period_deadline_set(*, actor: User, period: ReportingPeriod, region: Region,
                        deadline: datetime.date) -> PeriodDeadline:
    """A province or city sets its own deadline for the counties under it (it may ask earlier
    than the period's default so it has time to review)."""
    if region.level not in (RegionLevel.PROVINCE, RegionLevel.CITY):
        raise ValidationError({"region": _("只有省、市可以为下辖县设定报送截止日期。")})
    if not scope_for(actor, Capability.LEDGER_REVIEW).contains_from_level(region, region.level):
        raise PermissionDenied(_("只有%(region)s的审核人员可以设定其下辖县的报送截止日期。") % {"region": region.name})
    if deadline < period.starts_on:
        raise ValidationError({"deadline": _("报送截止日期不能早于填报期开始日期 %(d)s。") % {"d": period.starts_on}})
    with transaction.atomic(), audit(actor, AuditAction.PERIOD_DEADLINE_SET, period=period.code, region=region.code):
        item, _created = PeriodDeadline.objects.update_or_create(
            period=period, region=region, defaults={"deadline": deadline})
    return item


def _new_record(employer: Employer, period: ReportingPeriod, actor: User | None) -> EmployerRecord:
    return EmployerRecord.objects.create(
        employer=employer, period=period, province_id=employer.province_id, city_id=employer.city_id,
        county_id=employer.county_id, township_id=employer.township_id, updated_by=actor,
    )


_RECORD_COLUMNS = ", ".join(RECORD_FIELDS)


@transaction.atomic
def period_open_county(*, actor: User, period: ReportingPeriod, county: Region) -> CountySubmission:
    """Start a county's ledger for a period: every employer that is not closed gets a record,
    carried forward from its latest earlier record (with its dust exposures) when there is one."""
    require_in_scope(actor, Capability.LEDGER_EDIT, county)
    if county.level != RegionLevel.COUNTY:
        raise ValidationError(_("只能为县（市、区）开始填报。"))
    if CountySubmission.objects.filter(period=period, county=county).exists():
        raise ValidationError(_("%(county)s的%(period)s台帐已经开始填报。") % {"county": county.name, "period": period})
    with audit(actor, AuditAction.PERIOD_OPEN, period=period.code, county=county.code):
        submission = CountySubmission.objects.create(
            period=period, county=county, city_id=county.parent_id, province_id=county.parent.parent_id
        )
        with connection.cursor() as cursor:
            # Latest earlier record per employer (DISTINCT ON), copied into the new period.
            cursor.execute(
                f"""
                INSERT INTO ledger_employerrecord
                    (employer_id, period_id, province_id, city_id, county_id, township_id, version, updated_at,
                     updated_by_id, {_RECORD_COLUMNS})
                SELECT e.id, %(period)s, e.province_id, e.city_id, e.county_id, e.township_id, 1, now(), %(actor)s,
                       {", ".join(_carry(f) for f in RECORD_FIELDS)}
                FROM ledger_employer e
                LEFT JOIN LATERAL (
                    SELECT r.* FROM ledger_employerrecord r JOIN ledger_reportingperiod p ON p.id = r.period_id
                    WHERE r.employer_id = e.id AND (p.year, p.half) < (%(year)s, %(half)s)
                    ORDER BY p.year DESC, p.half DESC LIMIT 1
                ) prev ON TRUE
                WHERE e.county_id = %(county)s AND e.status <> 'closed'
                ON CONFLICT (employer_id, period_id) DO NOTHING
                """,
                {"period": period.pk, "actor": actor.pk, "year": period.year, "half": period.half, "county": county.pk},
            )
            cursor.execute(
                """
                INSERT INTO ledger_recorddustexposure (record_id, dust_type_id, exposed_workers)
                SELECT new.id, x.dust_type_id, x.exposed_workers
                FROM ledger_employerrecord new
                JOIN LATERAL (
                    SELECT r.id FROM ledger_employerrecord r JOIN ledger_reportingperiod p ON p.id = r.period_id
                    WHERE r.employer_id = new.employer_id AND (p.year, p.half) < (%(year)s, %(half)s)
                    ORDER BY p.year DESC, p.half DESC LIMIT 1
                ) prev ON TRUE
                JOIN ledger_recorddustexposure x ON x.record_id = prev.id
                WHERE new.period_id = %(period)s AND new.county_id = %(county)s
                """,
                {"period": period.pk, "year": period.year, "half": period.half, "county": county.pk},
            )
        rollup_mark_dirty(county.pk, period.pk)
    return submission


_DEFAULTS = {"test_lab": "''", "hazard_declared": "FALSE", "warning_signs": "FALSE", "principal_trained": "FALSE",
             "declared_on": "NULL", "last_test_date": "NULL", "last_inspection_date": "NULL",
             "serious_hazard_posts": "NULL", "posts_with_warning_signs": "NULL"}


def _carry(field: str) -> str:
    return f"COALESCE(prev.{field}, {_DEFAULTS.get(field, '0')})"


def _require_editable(record: EmployerRecord) -> CountySubmission:
    submission = CountySubmission.objects.select_for_update(no_key=True, of=("self",)).filter(
        period_id=record.period_id, county_id=record.county_id).first()
    if submission is None:
        raise ValidationError(_("本县尚未开始该填报期的台帐，不能修改。"))
    if submission.status in LOCKED_STATUSES:
        raise ValidationError(_("%(county)s %(period)s 台帐已报送（%(status)s），数据已锁定；如需修改，请由市级退回后再改。") % {
            "county": submission.county.name, "period": submission.period, "status": submission.get_status_display()})
    return submission


def check_record_values(data: dict) -> dict:
    """Each submitted fact on its own: counts 0…2147483647, dates of past events 1950…today, texts
    without control characters and within their length. Raises one ValidationError by field."""
    errors = Errors()
    cleaned = {f: data[f] for f in RECORD_FIELDS if f in data}
    for field, value in cleaned.items():
        if field in RECORD_DATE_FIELDS:
            errors.run(field, check_past_date, value)
        elif field in RECORD_TEXT_FIELDS:
            cleaned[field] = errors.run(field, check_model_text, EmployerRecord, field, value)
        elif value is None and field in WARNING_SIGN_POSTS:
            continue  # both unknown: the record is counted by the employer's answer (the rule checks the pair)
        elif isinstance(EmployerRecord._meta.get_field(field), models.PositiveIntegerField):
            errors.run(field, check_count, value)
    errors.raise_if_any()
    return cleaned


def record_check_editable(*, actor: User, record: EmployerRecord) -> None:
    """Permission, then the lock of a submitted period: both come before the content of a change
    is read, so a locked record answers with its lock whatever the body holds."""
    require_in_scope(actor, Capability.LEDGER_EDIT, record.county)
    with transaction.atomic():
        _require_editable(record)


def clean_record_data(record: EmployerRecord, data: dict) -> dict:
    """Check each value, apply them to the record in memory and check the consistency rules."""
    cleaned = check_record_values(data)
    counted_by_posts = record.serious_hazard_posts is not None
    for field, value in cleaned.items():
        setattr(record, field, value)
    record.test_lab = record.test_lab or ""
    errors = record.consistency_errors()
    if counted_by_posts and record.serious_hazard_posts is None:
        # Clearing the posts would quietly turn the record back to the employer-level count.
        errors.setdefault("serious_hazard_posts", _("本记录已按岗位填报警示标识，岗位数不能清空"))
    if errors:
        raise ValidationError({k: [v] for k, v in errors.items()})
    return cleaned


def check_exposures(record: EmployerRecord, exposures: dict[DustType, int]) -> None:
    """Exposed workers per dust type: each a count, none above the record's exposed workers."""
    errors = Errors()
    for dust, number in exposures.items():
        if errors.run("exposures", check_count, number) is None:
            continue
        if number > record.exposed_workers:
            errors.add("exposures", _("%(dust)s的接尘人数不能大于接尘总人数") % {"dust": dust})
    errors.raise_if_any()


@transaction.atomic
def record_update(*, actor: User, record: EmployerRecord, data: dict, expected_version: int | None,
                  exposures: dict[DustType, int] | None = None) -> EmployerRecord:
    record = EmployerRecord.objects.select_for_update(no_key=True, of=("self",)).select_related("county", "period").get(pk=record.pk)
    require_in_scope(actor, Capability.LEDGER_EDIT, record.county)
    _require_editable(record)
    _check_version(record, expected_version, data, RECORD_FIELDS)
    clean_record_data(record, data)
    if exposures is not None:
        check_exposures(record, exposures)
    with audit(actor, AuditAction.RECORD_UPDATE, period=record.period.code):
        record.version += 1
        record.updated_by = actor
        record.save()
        if exposures is not None:
            record.exposures.all().delete()
            RecordDustExposure.objects.bulk_create(
                RecordDustExposure(record=record, dust_type=d, exposed_workers=n) for d, n in exposures.items() if n
            )
        rollup_mark_dirty(record.county_id, record.period_id)
    return record


# ---- Submission and approval ----------------------------------------------------------------


class _Repeated(Exception):
    """The same step by the same person a moment ago: answer with its result, write nothing."""

    def __init__(self, submission: CountySubmission):
        self.submission = submission


def _transition(submission: CountySubmission, allowed_from: set, message: str, *, repeat_of=None) -> CountySubmission:
    """Lock the submission and check the step is allowed from its status. `repeat_of(s)` tells
    whether this step is a repeat of the one that brought it to its status (a double click, a
    resent request): then _Repeated is raised for the service to answer with the first result."""
    submission = CountySubmission.objects.select_for_update(no_key=True, of=("self",)).select_related("county", "period").get(pk=submission.pk)
    if submission.status not in allowed_from:
        if repeat_of is not None and repeat_of(submission):
            raise _Repeated(submission)
        raise ValidationError(message % {"status": submission.get_status_display()})
    return submission


def _recent(moment) -> bool:
    return moment is not None and moment >= timezone.now() - REPEAT_WINDOW


def _idempotent(service):
    """A submission step sent twice answers the second time with the first result."""
    import functools

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except _Repeated as repeated:
            return repeated.submission

    return wrapper


@_idempotent
@transaction.atomic
def submission_submit(*, actor: User, submission: CountySubmission) -> CountySubmission:
    require_in_scope(actor, Capability.LEDGER_EDIT, submission.county)
    submission = _transition(submission, {SubmissionStatus.DRAFT, SubmissionStatus.RETURNED},
                             _("当前状态为“%(status)s”，不能报送。"), repeat_of=lambda s: (
                                 s.status == SubmissionStatus.SUBMITTED and s.submitted_by_id == actor.pk
                                 and _recent(s.submitted_at)))
    with audit(actor, AuditAction.SUBMISSION_SUBMIT, period=submission.period.code, county=submission.county.code):
        submission.status, submission.submitted_at, submission.submitted_by = (
            SubmissionStatus.SUBMITTED, timezone.now(), actor)
        submission.return_reason = ""
        submission.save()
    return submission


def _require_reviewer(actor: User, submission: CountySubmission, level: int, who: str) -> None:
    if not scope_for(actor, Capability.LEDGER_REVIEW).contains_from_level(submission.county, level):
        raise PermissionDenied(_("只有%(who)s审核人员可以执行此操作。") % {"who": who})


@_idempotent
@transaction.atomic
def submission_return(*, actor: User, submission: CountySubmission, reason: str) -> CountySubmission:
    """The city returns a submitted ledger (or the province an approved one) with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写退回原因。")})
    level = RegionLevel.PROVINCE if submission.status == SubmissionStatus.APPROVED else RegionLevel.CITY
    _require_reviewer(actor, submission, level, _("省级") if level == RegionLevel.PROVINCE else _("市级"))
    submission = _transition(submission, {SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED},
                             _("当前状态为“%(status)s”，不能退回。"), repeat_of=lambda s: (
                                 s.status == SubmissionStatus.RETURNED and s.reviewed_by_id == actor.pk
                                 and s.return_reason == reason and _recent(s.reviewed_at)))
    with audit(actor, AuditAction.SUBMISSION_RETURN, period=submission.period.code, county=submission.county.code):
        submission.status, submission.return_reason = SubmissionStatus.RETURNED, reason
        submission.reviewed_at, submission.reviewed_by = timezone.now(), actor
        submission.save()
        # Open again: its records take the employers' current classification.
        if classification_refresh(county_id=submission.county_id, period_id=submission.period_id):
            rollup_mark_dirty(submission.county_id, submission.period_id)
        notify(NotificationKind.SUBMISSION_RETURNED, submission=submission.pk, reason=reason,
               at=submission.reviewed_at.isoformat())
    return submission


def _sign_off(*, actor: User, submission: CountySubmission, level: int, who: str, from_status: str,
              to_status: str, refused: str, stamp: str, action: str, notification: str,
              mark_dirty: bool = False) -> CountySubmission:
    """A reviewer moves the submission one step up (the city approves, the province accepts):
    their remit, the status check under lock (a repeat answers with the first result), the
    `<stamp>_at`/`<stamp>_by` fields, the audit entry and the notification. `mark_dirty` where
    the step changes what the rollups count."""
    _require_reviewer(actor, submission, level, who)
    at, by = f"{stamp}_at", f"{stamp}_by"
    submission = _transition(submission, {from_status}, refused, repeat_of=lambda s: (
        s.status == to_status and getattr(s, f"{by}_id") == actor.pk and _recent(getattr(s, at))))
    with audit(actor, action, period=submission.period.code, county=submission.county.code):
        submission.status = to_status
        setattr(submission, at, timezone.now())
        setattr(submission, by, actor)
        submission.save()
        if mark_dirty:
            rollup_mark_dirty(submission.county_id, submission.period_id)
        notify(notification, submission=submission.pk, at=getattr(submission, at).isoformat())
    return submission


@_idempotent
@transaction.atomic
def submission_approve(*, actor: User, submission: CountySubmission) -> CountySubmission:
    return _sign_off(actor=actor, submission=submission, level=RegionLevel.CITY, who=_("市级"),
                     from_status=SubmissionStatus.SUBMITTED, to_status=SubmissionStatus.APPROVED,
                     refused=_("当前状态为“%(status)s”，不能审核通过。"), stamp="reviewed",
                     action=AuditAction.SUBMISSION_APPROVE, notification=NotificationKind.SUBMISSION_APPROVED,
                     mark_dirty=True)


@_idempotent
@transaction.atomic
def submission_accept(*, actor: User, submission: CountySubmission) -> CountySubmission:
    return _sign_off(actor=actor, submission=submission, level=RegionLevel.PROVINCE, who=_("省级"),
                     from_status=SubmissionStatus.APPROVED, to_status=SubmissionStatus.ACCEPTED,
                     refused=_("当前状态为“%(status)s”，不能接收。"), stamp="accepted",
                     action=AuditAction.SUBMISSION_ACCEPT, notification=NotificationKind.SUBMISSION_ACCEPTED)


_BULK_ACTIONS = {"approve": submission_approve, "accept": submission_accept, "return": submission_return}


@transaction.atomic
def submissions_bulk_review(*, actor: User, period: ReportingPeriod, submission_ids: list[int], action: str,
                            reason: str = "") -> list[CountySubmission]:
    """Approve, accept or return several counties at once, all or nothing: each county is still
    recorded on its own (its own audit entry and notification, through the single-county
    service); a county outside the reviewer's remit, or one not in a state for the action, and
    nothing is done, with the county named."""
    if action not in _BULK_ACTIONS:
        raise ValidationError(_("未知操作。"))
    ids = set(submission_ids)
    if not ids:
        raise ValidationError(_("请至少选择一个县（市、区）。"))
    submissions = list(CountySubmission.objects.filter(pk__in=ids, period=period).select_related("county", "period")
                       .order_by("county__path"))
    if len(submissions) != len(ids):
        raise ValidationError(_("所选报送记录不存在或不属于%(period)s，未做任何操作。") % {"period": period})
    review = scope_for(actor, Capability.LEDGER_REVIEW)

    def level_for(submission: CountySubmission) -> int:
        if action == "accept" or (action == "return" and submission.status == SubmissionStatus.APPROVED):
            return RegionLevel.PROVINCE
        return RegionLevel.CITY

    outside = [s.county.name for s in submissions if not review.contains_from_level(s.county, level_for(s))]
    if outside:
        raise PermissionDenied(_("以下县（市、区）不在您的审核范围内，未做任何操作：%(names)s") % {
            "names": "、".join(outside)})
    done = []
    for submission in submissions:
        kwargs = {"reason": reason} if action == "return" else {}
        try:
            done.append(_BULK_ACTIONS[action](actor=actor, submission=submission, **kwargs))
        except ValidationError as exc:
            raise ValidationError(_("%(county)s：%(problem)s 未做任何操作。") % {
                "county": submission.county.name, "problem": " ".join(exc.messages)}) from exc
    return done


# ---- Worker roster --------------------------------------------------------------------------


def clean_worker_data(data: dict, *, employer: Employer, instance: Worker | None = None,
                      check_duplicate: bool = True) -> dict:
    """The form's and the roster import's rules for one worker (the import upserts on the ID
    number, so it skips the duplicate check against the roster)."""
    errors = Errors()
    cleaned = dict(data)
    for field, label in (("name", _("姓名")), ("post", _("岗位"))):
        cleaned[field] = errors.run(field, check_model_text, Worker, field, cleaned.get(field))
        if field not in errors and not cleaned[field]:
            errors.add(field, _("请填写%(label)s") % {"label": label})
    try:
        cleaned["id_number"] = clean_id_number(cleaned.get("id_number", ""))
    except ValidationError as exc:
        for message in exc.messages:
            errors.add("id_number", message)
    else:
        duplicate = Worker.objects.filter(employer=employer, id_number=cleaned["id_number"]) if check_duplicate \
            else Worker.objects.none()
        if duplicate.exclude(pk=getattr(instance, "pk", None)).exists():
            errors.add("id_number", _("该身份证号的劳动者已在本单位名册中"))
    if cleaned.get("dust_type") is None:
        errors.add("dust_type", _("请选择粉尘种类"))
    for field in ("exposure_start", "last_exam_date"):
        errors.run(field, check_past_date, cleaned.get(field))
    birth = birth_date_of(cleaned["id_number"]) if "id_number" not in errors else None
    if birth is not None:
        for field, label in (("exposure_start", _("接尘开始日期")), ("last_exam_date", _("最近体检日期"))):
            if field not in errors and cleaned.get(field) and cleaned[field] < birth:
                errors.add(field, _("%(label)s不能早于身份证号中的出生日期（%(birth)s）") % {
                    "label": label, "birth": birth.isoformat()})
    errors.raise_if_any()
    cleaned["last_exam_result"] = cleaned.get("last_exam_result") or ""
    return cleaned


def worker_save(*, actor: User, employer: Employer, data: dict, worker: Worker | None = None,
                expected_version: int | None = None) -> Worker:
    require_in_scope(actor, Capability.LEDGER_EDIT, employer.county)
    cleaned = clean_worker_data(data, employer=employer, instance=worker)
    with transaction.atomic(), audit(actor, AuditAction.WORKER_UPDATE if worker else AuditAction.WORKER_CREATE):
        if worker is None:
            worker = Worker(employer=employer)
        else:
            worker = Worker.objects.select_for_update(no_key=True, of=("self",)).get(pk=worker.pk, employer=employer)
            _check_version(worker, expected_version, cleaned, WORKER_FIELDS)
            worker.version += 1
        _set_fields(worker, WORKER_FIELDS, cleaned)
        worker.save()
    return worker


def worker_delete(*, actor: User, worker: Worker) -> None:
    require_in_scope(actor, Capability.LEDGER_EDIT, worker.employer.county)
    with transaction.atomic(), audit(actor, AuditAction.WORKER_DELETE):
        worker.delete()
