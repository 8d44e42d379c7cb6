"""Every read of the ledger that a view or the API uses, always through portal.scoping."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import BooleanField, FilteredRelation, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.excel import ReferenceLists
from ledger.models import (
    RECORD_FIELDS,
    CountySubmission,
    DustType,
    Employer,
    EmployerRecord,
    Industry,
    PeriodDeadline,
    ReportingPeriod,
    SubmissionStatus,
    Worker,
)
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, ScopeRegion, region_choices, scope_for
from targets.indicators import BY_CODE, INDICATORS, Indicator, counted_sql, period_and_coverage_for

SORTS = {"name": "name", "-name": "-name", "uscc": "uscc", "-uscc": "-uscc", "updated": "-updated_at",
         "county": "county__code"}


@dataclass
class EmployerFilters:
    query: str = ""
    region: Region | None = None
    township: Region | None = None
    key_group: str = ""
    status: str = ""
    in_scope: bool | None = None
    missing: str = ""
    period: ReportingPeriod | None = None
    sort: str = "name"


def employer_list(*, actor: User, filters: EmployerFilters) -> QuerySet[Employer]:
    """Employers in the user's ledger scope, filtered. A constant number of queries: regions
    and industry come with select_related. With a "未落实" filter the region is the one the
    period's record was counted in (what the dashboard's figure counts), else the employer's."""
    scope = scope_for(actor, Capability.LEDGER_VIEW)
    employers = scope.filter(Employer.objects)
    shortfall = _shortfall_filter(filters)
    if filters.region is not None and shortfall is None:
        employers = employers.filter(**{f"{Employer.SCOPE_LEVEL_FIELDS[filters.region.level]}": filters.region})
    if filters.township is not None:
        employers = employers.filter(township=filters.township)
    if filters.query:
        q = filters.query.strip()
        employers = employers.filter(Q(name__contains=q) | Q(uscc__startswith=q.upper())
                                     | Q(registration_number__startswith=q))
    if filters.key_group:
        employers = employers.filter(key_group=filters.key_group)
    if filters.status:
        employers = employers.filter(status=filters.status)
    if filters.in_scope is not None:
        employers = employers.filter(in_governance_scope=filters.in_scope)
    if shortfall is not None:
        employers = employers.filter(falls_short(shortfall, filters.period, _counted_regions(scope, filters.region)))
        if shortfall.old_way:  # labelled on the list, as on the dashboard
            employers = employers.annotate(counted_old_way=RawSQL(
                f"""EXISTS (SELECT 1 FROM ledger_employerrecord r WHERE r.employer_id = {Employer._meta.db_table}.id
                            AND r.period_id = %s AND {shortfall.old_way})""",
                [filters.period.pk], output_field=BooleanField()))
    return employers.select_related("county", "township", "industry").order_by(*employer_order(filters))


def employer_order(filters: EmployerFilters) -> tuple[str, str]:
    """The list's order: the chosen key, then the primary key (unique, so pages never overlap)."""
    return SORTS.get(filters.sort, "name"), "pk"


def _shortfall_filter(filters: EmployerFilters) -> Indicator | None:
    return BY_CODE.get(filters.missing) if filters.period is not None else None


def _counted_regions(scope, region: Region | None) -> list[Region | ScopeRegion]:
    """The regions a "未落实" list counts records in: the chosen one, else the user's scope."""
    if region is not None:
        return [region]
    if scope.unrestricted:
        return list(Region.objects.filter(level=RegionLevel.NATIONAL))
    return list(scope.regions)


_RECORD_REGION_KEYS = {RegionLevel.PROVINCE: "province_id", RegionLevel.CITY: "city_id",
                       RegionLevel.COUNTY: "county_id", RegionLevel.TOWNSHIP: "township_id"}


def falls_short(indicator: Indicator, period: ReportingPeriod,
                regions: list[Region | ScopeRegion] | None = None) -> RawSQL:
    """The employers that `indicator` counts as not (fully) met in `period` through a record
    counted in one of `regions` (None: anywhere): the registry's own definition (targets.indicators), over the
    classification and region the period's record was counted under, so the list a dashboard
    figure links to holds exactly the employers behind it."""
    employer = Employer._meta.db_table
    if regions is None or any(region.level == RegionLevel.NATIONAL for region in regions):
        in_regions, params = "TRUE", []
    else:
        in_regions = " OR ".join(f"r.{_RECORD_REGION_KEYS[region.level]} = %s" for region in regions) or "FALSE"
        params = [region.id for region in regions]
    conditions = (indicator.among_sql(), counted_sql(), indicator.shortfall_sql())
    return RawSQL(f"""EXISTS (
        SELECT 1 FROM ledger_employerrecord r {period_and_coverage_for(*conditions)}
        WHERE r.employer_id = {employer}.id AND r.period_id = %s AND ({in_regions}) AND {" AND ".join(conditions)})""",
                  [period.pk, *params], output_field=BooleanField())


def employer_list_total(*, actor: User, filters: EmployerFilters) -> int | None:
    """The exact length of a "未落实" list over whole regions (no other filter), from the county
    rows of the rollup the dashboard reads, counting from the records only the counties whose
    row is stale (targets.rollups.county_shortfalls). None when the list has other filters: the
    caller counts it (capped). An employer that moved out of the user's whole scope after its
    old county's period was locked is counted there, as on the dashboard, but not listed."""
    shortfall = _shortfall_filter(filters)
    if shortfall is None or any((filters.query, filters.township, filters.key_group, filters.status,
                                 filters.in_scope is not None)):
        return None
    from targets.rollups import county_shortfalls

    scope = scope_for(actor, Capability.LEDGER_VIEW)
    regions = _counted_regions(scope, filters.region)
    total, stale = county_shortfalls(period_id=filters.period.pk, indicator=shortfall,
                                     paths=[region.path for region in regions])
    if stale:
        counties = list(Region.objects.filter(pk__in=stale))
        total += scope.filter(Employer.objects.all()).filter(falls_short(shortfall, filters.period, counties)).count()
    return total


def missing_choices() -> list[tuple[str, str]]:
    return [(indicator.code, indicator.item) for indicator in INDICATORS]


def missing_indicator(code: str) -> Indicator | None:
    return BY_CODE.get(code)


# The employer's own columns of the ledger workbook: (column key, value path), in column order.
EXPORT_EMPLOYER_VALUES = [
    ("region_code", "county__code"), ("township", "township__name"), ("name", "name"), ("uscc", "uscc"),
    ("registration_number", "registration_number"), ("registered_address", "registered_address"),
    ("workplace_address", "workplace_address"), ("industry", "industry__code"), ("industry_name", "industry__name"),
    ("key_group", "key_group"), ("size", "size"), ("ownership", "ownership"), ("business_scope", "business_scope"),
    ("legal_representative", "legal_representative"), ("legal_representative_phone", "legal_representative_phone"),
    ("health_manager", "health_manager"), ("health_manager_phone", "health_manager_phone"), ("status", "status"),
    ("in_governance_scope", "in_governance_scope"),
]

# The period's dust exposures of the employer (the base table of the list's queryset).
_DUSTS_OF_EMPLOYER = """(
    SELECT string_agg(d.name || ':' || x.exposed_workers, '；' ORDER BY d.id)
    FROM ledger_employerrecord r
    JOIN ledger_recorddustexposure x ON x.record_id = r.id
    JOIN ledger_dusttype d ON d.id = x.dust_type_id
    WHERE r.employer_id = ledger_employer.id AND r.period_id = %s
)"""


def employer_export_values(*, actor: User, filters: EmployerFilters) -> QuerySet:
    """Exactly the employer list `actor` sees with these filters (`employer_list`, so the scope
    applies) as value rows: the `EXPORT_EMPLOYER_VALUES`, then with a period its record's
    `RECORD_FIELDS`, the record's id (None when the employer has no record) and its dusts."""
    employers = employer_list(actor=actor, filters=filters)
    fields = [path for _key, path in EXPORT_EMPLOYER_VALUES]
    if filters.period is not None:
        employers = employers.annotate(
            period_record=FilteredRelation("records", condition=Q(records__period=filters.period)),
            dusts=RawSQL(_DUSTS_OF_EMPLOYER, [filters.period.pk]),
        )
        fields += [f"period_record__{f}" for f in RECORD_FIELDS] + ["period_record__id", "dusts"]
    return employers.values_list(*fields)


def export_region_name(*, actor: User, region: Region | None) -> str | None:
    """The region named in an export's title: the filter's, else the user's one top region."""
    if region is not None:
        return region.name
    regions = list(scope_for(actor, Capability.LEDGER_VIEW).top_regions()[:2])
    return regions[0].name if len(regions) == 1 else None


def reference_lists(county: Region | None = None) -> ReferenceLists:
    """The catalogues printed in the workbook; the county's townships when one is given."""
    townships = []
    if county is not None:
        townships = list(Region.objects.filter(parent=county, level=RegionLevel.TOWNSHIP)
                         .order_by("code").values_list("name", flat=True))
    return ReferenceLists(
        dust_types=list(DustType.objects.order_by("id").values_list("name", flat=True)),
        townships=townships,
        industries=list(Industry.objects.filter(level__gte=2).order_by("code").values_list("code", "name")),
    )


def county_choices(user: User, capability: Capability) -> QuerySet[Region]:
    """The counties `user` may pick for `capability`, with their city, in code order."""
    return region_choices(user, capability).filter(level=RegionLevel.COUNTY).select_related("parent").order_by("code")


def employer_get(*, actor: User, pk: int) -> Employer:
    return scope_for(actor, Capability.LEDGER_VIEW).filter(
        Employer.objects.select_related("province", "city", "county", "township", "industry")).get(pk=pk)


def employer_records(employer: Employer) -> list[EmployerRecord]:
    """Newest period first, each record with `submission`: the ledger it is counted in (its own county's for
    the period, which is not the employer's county after a move), whose lock decides whether it can change."""
    records = list(employer.records.select_related("period", "updated_by").prefetch_related(
        "exposures__dust_type").order_by("-period__year", "-period__half"))
    submissions = {(s.county_id, s.period_id): s for s in CountySubmission.objects.filter(
        county_id__in={r.county_id for r in records}, period_id__in={r.period_id for r in records})}
    for record in records:
        record.submission = submissions.get((record.county_id, record.period_id))
    return records


def record_get(*, actor: User, pk: int) -> EmployerRecord:
    return scope_for(actor, Capability.LEDGER_VIEW).filter(
        EmployerRecord.objects.select_related("employer", "period", "county").prefetch_related(
            "exposures__dust_type")).get(pk=pk)


def worker_list(*, actor: User, employer: Employer) -> QuerySet[Worker]:
    return scope_for(actor, Capability.LEDGER_VIEW).filter(
        Worker.objects.filter(employer=employer).select_related("dust_type")).order_by("name", "pk")


def may_see_identity(actor: User, county: Region) -> bool:
    return scope_for(actor, Capability.WORKER_IDENTITY).contains(county)


HISTORY_PAGE_SIZE = 30


def employer_history(employer: Employer, *, cursor: str = "") -> tuple[list, str | None]:
    """A page of changes to the employer, its period records and its roster, newest first: who,
    when, and old → new values in Chinese ("是否申报: 否 → 是"), read from each event table by
    its indexed employer key (portal.history); and the cursor of the next page."""
    from portal import history

    return history.history_page([history.Part("ledger.EmployerEvent", obj_ids=[employer.pk]),
                                 history.Part("ledger.EmployerRecordEvent", employer_id=employer.pk),
                                 history.Part("ledger.WorkerEvent", employer_id=employer.pk)],
                                size=HISTORY_PAGE_SIZE, cursor=cursor)


# ---- Periods and submissions ----------------------------------------------------------------


def periods() -> QuerySet[ReportingPeriod]:
    return ReportingPeriod.objects.order_by("-year", "-half")


def current_period(among: list[ReportingPeriod] | None = None) -> ReportingPeriod | None:
    """The latest period already started (or the earliest one if none has); `among` saves a
    query when the caller has the list."""
    candidates = list(periods()) if among is None else among
    today = timezone.localdate()
    return next((p for p in candidates if p.starts_on <= today), candidates[-1] if candidates else None)


def submission_list(*, actor: User, period: ReportingPeriod, capability: Capability = Capability.LEDGER_VIEW
                    ) -> QuerySet[CountySubmission]:
    return scope_for(actor, capability).filter(
        CountySubmission.objects.filter(period=period)).select_related("county", "city", "submitted_by")


@dataclass
class CompletenessRow:
    county: Region
    submission: CountySubmission | None
    state: str  # on_time, late, pending, overdue
    label: str
    deadline: datetime.date


def completeness(*, actor: User, period: ReportingPeriod, region: Region | None = None) -> list[CompletenessRow]:
    """Every county in the user's scope (or under `region`) against the period's deadline:
    submitted on time, late, not yet (before or after the deadline)."""
    scope = scope_for(actor, Capability.LEDGER_VIEW)
    counties = scope.filter(Region.objects.filter(level=RegionLevel.COUNTY))
    if region is not None:
        counties = counties.filter(path__startswith=region.path)
    submissions = {s.county_id: s for s in CountySubmission.objects.filter(period=period, county__in=counties)}
    deadlines = {d.region.path: d.deadline for d in PeriodDeadline.objects.filter(period=period).select_related("region")}
    today = timezone.localdate()
    rows = []
    for county in counties.order_by("path"):
        deadline = effective_deadline(period, county.path, deadlines)
        submission = submissions.get(county.pk)
        submitted_on = timezone.localdate(submission.submitted_at) if submission and submission.submitted_at else None
        is_out = submission is not None and submission.status not in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)
        if is_out and submitted_on and submitted_on <= deadline:
            state, label = "on_time", _("按时报送")
        elif is_out:
            state, label = "late", _("逾期报送")
        elif today > deadline:
            state, label = "overdue", _("逾期未报")
        else:
            state, label = "pending", _("尚未报送")
        rows.append(CompletenessRow(county, submission, state, label, deadline))
    return rows


@dataclass(frozen=True)
class ReviewActions:
    """What a reviewer may do to one county's submission, by the rules of the services: the city
    approves or returns a submitted ledger, the province accepts or returns an approved one."""

    approve: bool = False
    accept: bool = False
    give_back: bool = False


def review_actions(scope, submission: CountySubmission) -> ReviewActions:
    city = scope.contains_from_level(submission.county, RegionLevel.CITY)
    province = scope.contains_from_level(submission.county, RegionLevel.PROVINCE)
    submitted = submission.status == SubmissionStatus.SUBMITTED
    approved = submission.status == SubmissionStatus.APPROVED
    return ReviewActions(approve=submitted and city, accept=approved and province,
                         give_back=(submitted and city) or (approved and province))


def effective_deadline(period: ReportingPeriod, county_path: str, deadlines: dict[str, datetime.date]) -> datetime.date:
    """The deadline set by the nearest issuing region above the county, else the period's."""
    own = [(len(path), deadline) for path, deadline in deadlines.items() if county_path.startswith(path)]
    return max(own)[1] if own else period.deadline
