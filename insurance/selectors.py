"""Every read of work-injury insurance coverage on the HRSS side that a view or the API uses,
always through portal.scoping."""

from __future__ import annotations

import decimal
from dataclasses import dataclass

from django.db.models import Count, ExpressionWrapper, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from insurance.models import (
    CoverageImport,
    CoverageImportJob,
    ExpansionPlan,
    FollowUp,
    InsuranceCoverage,
    LedgerHandover,
    PlanYear,
    TrainingEvent,
    WorkerCoverage,
)
from ledger.models import Employer, EmployerRecord, ReportingPeriod, Worker
from ledger.validation import mask_id_number
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, scope_for

VIEW = Capability.INSURANCE_VIEW
LEVEL_FIELD = {RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county"}


def _in_region(queryset: QuerySet, region: Region | None, prefix: str = "") -> QuerySet:
    if region is None:
        return queryset
    if region.level == RegionLevel.TOWNSHIP:
        return queryset.filter(**{f"{prefix}employer__township": region})
    return queryset.filter(**{f"{prefix}{LEVEL_FIELD[region.level]}": region})


# ---- 1. Hand-over ------------------------------------------------------------------------------


def handover_list(*, actor: User) -> QuerySet[LedgerHandover]:
    return scope_for(actor, VIEW).filter(LedgerHandover.objects.select_related("county", "period", "shared_by"))


def handover_get(*, actor: User, pk: int) -> LedgerHandover:
    return handover_list(actor=actor).get(pk=pk)


def handover_records(handover: LedgerHandover) -> QuerySet[EmployerRecord]:
    """The shared ledger: the county's records of the handed-over period."""
    return (EmployerRecord.objects.filter(period=handover.period, county=handover.county)
            .select_related("employer", "employer__industry", "township").order_by("employer__name", "pk"))


def previous_handover(handover: LedgerHandover) -> LedgerHandover | None:
    """The latest earlier hand-over of the same county for an earlier period."""
    return (LedgerHandover.objects.filter(county=handover.county)
            .filter(Q(period__year__lt=handover.period.year)
                    | Q(period__year=handover.period.year, period__half__lt=handover.period.half))
            .select_related("period").order_by("-period__year", "-period__half", "-shared_at").first())


@dataclass
class HandoverDiff:
    previous: LedgerHandover | None
    added: list[dict]
    removed: list[dict]
    changed: list[dict]


def handover_diff(handover: LedgerHandover) -> HandoverDiff:
    """Employers added, removed, or with a changed headcount or insured count between this
    hand-over's period and the previous handed-over period of the same county."""
    previous = previous_handover(handover)
    fields = ("employer_id", "employer__name", "employer__uscc", "total_workers", "insured_workers")

    def rows(period_id):
        return {r["employer_id"]: r for r in EmployerRecord.objects.filter(
            period_id=period_id, county=handover.county).values(*fields)}

    now = rows(handover.period_id)
    if previous is None:
        return HandoverDiff(None, [], [], [])
    before = rows(previous.period_id)
    added = [now[k] for k in now.keys() - before.keys()]
    removed = [before[k] for k in before.keys() - now.keys()]
    changed = []
    for key in now.keys() & before.keys():
        a, b = before[key], now[key]
        if (a["total_workers"], a["insured_workers"]) != (b["total_workers"], b["insured_workers"]):
            changed.append({**b, "old_total": a["total_workers"], "old_insured": a["insured_workers"]})
    by_name = lambda r: r["employer__name"]  # noqa: E731
    return HandoverDiff(previous, sorted(added, key=by_name), sorted(removed, key=by_name), sorted(changed, key=by_name))


def handover_roster(*, actor: User, handover: LedgerHandover, employer_pk: int) -> tuple[Employer, list[dict]]:
    """An employer's roster in the shared ledger; ID numbers masked unless the user's role
    needs them (WORKER_IDENTITY over the county)."""
    employer = Employer.objects.get(pk=employer_pk, county=handover.county)
    show = scope_for(actor, Capability.WORKER_IDENTITY).contains(handover.county)
    statuses = dict(WorkerCoverage.objects.filter(worker__employer=employer, period=handover.period)
                    .values_list("worker_id", "insured"))
    workers = [
        {"name": w.name, "id_number": w.id_number if show else mask_id_number(w.id_number), "post": w.post,
         "dust_type": w.dust_type.name, "ledger_insured": w.insured, "hrss_insured": statuses.get(w.pk)}
        for w in Worker.objects.filter(employer=employer).select_related("dust_type").order_by("name", "pk")
    ]
    return employer, workers


# ---- 2./3. Coverage and reconciliation -----------------------------------------------------------


def coverage_list(*, actor: User, period: ReportingPeriod, region: Region | None = None, query: str = ""
                  ) -> QuerySet[InsuranceCoverage]:
    coverage = scope_for(actor, VIEW).filter(InsuranceCoverage.objects.filter(period=period))
    coverage = _in_region(coverage, region)
    if query:
        coverage = coverage.filter(Q(employer__name__contains=query) | Q(employer__uscc__startswith=query.upper()))
    return coverage.select_related("employer", "county", "created_by").order_by("employer__name", "pk")


def _hrss_count(period_ref="period") -> Subquery:
    return Subquery(InsuranceCoverage.objects.filter(employer=OuterRef("employer"), period=OuterRef(period_ref))
                    .values("insured_workers")[:1], output_field=IntegerField())


def _records(actor: User, period: ReportingPeriod, region: Region | None) -> QuerySet[EmployerRecord]:
    records = scope_for(actor, VIEW).filter(EmployerRecord.objects.filter(period=period))
    return _in_region(records, region)


def reconciliation(*, actor: User, period: ReportingPeriod, region: Region | None = None) -> QuerySet[EmployerRecord]:
    """Employers whose ledger insured count (reported by the employer) differs from HRSS's."""
    return (_records(actor, period, region).annotate(hrss=_hrss_count())
            .filter(hrss__isnull=False).exclude(insured_workers=F("hrss"))
            .annotate(difference=ExpressionWrapper(F("hrss") - F("insured_workers"), output_field=IntegerField()))
            .select_related("employer", "county").order_by("employer__name", "pk"))


def records_without_coverage(*, actor: User, period: ReportingPeriod, region: Region | None = None
                             ) -> QuerySet[EmployerRecord]:
    """Ledger employers for which HRSS has no coverage row for the period."""
    has = InsuranceCoverage.objects.filter(employer=OuterRef("employer"), period=OuterRef("period"))
    return (_records(actor, period, region).filter(~Q(employer__in=Subquery(has.values("employer"))))
            .select_related("employer", "county").order_by("employer__name", "pk"))


def import_list(*, actor: User) -> QuerySet[CoverageImport]:
    return scope_for(actor, VIEW).filter(CoverageImport.objects.select_related("region", "period", "created_by"))


def import_job_list(*, actor: User) -> QuerySet[CoverageImportJob]:
    """Background imports in the regions where `actor` may import (their progress and
    per-row reports are for those who can act on them)."""
    return scope_for(actor, Capability.INSURANCE_EDIT).filter(
        CoverageImportJob.objects.select_related("region", "period", "created_by", "result"))


def import_job_get(*, actor: User, pk: int) -> CoverageImportJob:
    """Raises CoverageImportJob.DoesNotExist outside `actor`'s scope."""
    return import_job_list(actor=actor).get(pk=pk)


# ---- 4. Uninsured work list ------------------------------------------------------------------------


@dataclass
class WorkListFilters:
    region: Region | None = None
    key_group: str = ""


def work_list(*, actor: User, period: ReportingPeriod, filters: WorkListFilters) -> QuerySet[EmployerRecord]:
    """Key-industry employers with uninsured workers, most uninsured first. Insured is the HRSS
    count when there is one, the ledger's otherwise. One query per page (plus the count)."""
    latest = FollowUp.objects.filter(employer=OuterRef("employer"), period=OuterRef("period")).order_by(
        "-acted_on", "-pk")
    records = (_records(actor, period, filters.region).filter(employer__key_group__gt="")
               .annotate(hrss=_hrss_count())
               .annotate(insured=Coalesce(F("hrss"), F("insured_workers"), output_field=IntegerField()))
               .annotate(uninsured=Greatest(F("total_workers") - F("insured"), Value(0),
                                            output_field=IntegerField()))
               .filter(uninsured__gt=0)
               .annotate(last_action=Subquery(latest.values("action")[:1]),
                         last_action_on=Subquery(latest.values("acted_on")[:1])))
    if filters.key_group:
        records = records.filter(employer__key_group=filters.key_group)
    return records.select_related("employer", "county").order_by("-uninsured", "employer__name", "pk")


def follow_up_list(*, actor: User, employer: Employer | None = None, period: ReportingPeriod | None = None
                   ) -> QuerySet[FollowUp]:
    follow_ups = scope_for(actor, VIEW).filter(FollowUp.objects.select_related("employer", "created_by", "period"))
    if employer is not None:
        follow_ups = follow_ups.filter(employer=employer)
    if period is not None:
        follow_ups = follow_ups.filter(period=period)
    return follow_ups


def employer_in_scope(*, actor: User, pk: int) -> Employer:
    return scope_for(actor, VIEW).filter(Employer.objects.select_related("county")).get(pk=pk)


# ---- 5. Expansion plans ------------------------------------------------------------------------------


def plan_list(*, actor: User) -> QuerySet[ExpansionPlan]:
    return scope_for(actor, VIEW).filter(ExpansionPlan.objects.select_related("region").prefetch_related("years"))


def _period_of_year(year: int) -> ReportingPeriod | None:
    return ReportingPeriod.objects.filter(year=year).order_by("-half").first()


def coverage_totals(*, period: ReportingPeriod, regions: list[Region]) -> dict[int, tuple[int, int]]:
    """Key-industry (insured, total) workers per region for one period, insured from HRSS when
    present: one grouped query per level present among `regions`."""
    result: dict[int, tuple[int, int]] = {}
    by_level: dict[int, list[int]] = {}
    for region in regions:
        by_level.setdefault(region.level, []).append(region.pk)
    for level, ids in by_level.items():
        if level not in LEVEL_FIELD:
            continue
        key = LEVEL_FIELD[level]
        rows = (EmployerRecord.objects.filter(period=period, employer__key_group__gt="", **{f"{key}__in": ids})
                .annotate(hrss=_hrss_count()).values(key)
                .annotate(insured=Sum(Coalesce(F("hrss"), F("insured_workers"), output_field=IntegerField())),
                          total=Sum("total_workers")))
        for row in rows:
            result[row[key]] = (row["insured"] or 0, row["total"] or 0)
    return result


@dataclass
class ProgressRow:
    region: Region
    year: int
    period: ReportingPeriod | None
    insured: int | None
    total: int | None
    target_insured: int | None
    target_rate: decimal.Decimal | None

    @property
    def rate(self) -> decimal.Decimal | None:
        if not self.total:
            return None  # no data, never 0% or 100%
        return (decimal.Decimal(self.insured) * 100 / self.total).quantize(decimal.Decimal("0.1"))

    @property
    def met(self) -> bool | None:
        if self.rate is None or self.target_rate is None:
            return None
        return self.rate >= self.target_rate and (self.insured or 0) >= (self.target_insured or 0)


def plan_progress(*, actor: User, plan: ExpansionPlan) -> list[ProgressRow]:
    """Each year's target against the figures of the year's latest period, for the plan's region
    and its children (children show their own plans' targets when they have one)."""
    children = list(Region.objects.filter(parent=plan.region).order_by("code")) if plan.region.level < 3 else []
    child_targets = {
        (py.plan.region_id, py.year): py
        for py in PlanYear.objects.filter(plan__region__in=children).select_related("plan")
    }
    rows = []
    for target in plan.years.all():
        period = _period_of_year(target.year)
        totals = coverage_totals(period=period, regions=[plan.region, *children]) if period else {}
        for region in [plan.region, *children]:
            insured, total = totals.get(region.pk, (None, None)) if period else (None, None)
            own = target if region == plan.region else child_targets.get((region.pk, target.year))
            rows.append(ProgressRow(region, target.year, period, insured, total,
                                    own.insured_workers if own else None, own.coverage_rate if own else None))
    return rows


# ---- 6. Training -------------------------------------------------------------------------------------


def training_list(*, actor: User) -> QuerySet[TrainingEvent]:
    # Meta.ordering does not apply to a grouped (annotated) query: order explicitly.
    return scope_for(actor, VIEW).filter(TrainingEvent.objects.select_related("region", "created_by")).annotate(
        employer_count=Count("employers")).order_by("-held_on", "-pk")


def training_summary(*, actor: User) -> list[dict]:
    """Events, participants and employers reached per region (two grouped queries: joining the
    employers would multiply the participants)."""
    events = scope_for(actor, VIEW).filter(TrainingEvent.objects)
    rows = list(events.values("region_id", "region__code", "region__name")
                .annotate(events=Count("id"), participants=Sum("participants")).order_by("region__code"))
    reached = dict(events.values("region_id").annotate(n=Count("employers", distinct=True)).values_list(
        "region_id", "n"))
    for row in rows:
        row["employers"] = reached.get(row["region_id"], 0)
    return rows
