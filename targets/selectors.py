"""Reads of targets and rollups, through portal.scoping. The dashboard reads the rollup table
only, in a fixed number of queries whatever the number of regions."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ledger.models import LOCKED_STATUSES, CountySubmission, ReportingPeriod
from ledger.selectors import current_period, periods
from portal.models import Region, RegionLevel, User
from portal.params import period_param
from portal.scoping import Capability, scope_for
from portal.selectors import region_with_ancestors
from targets.indicators import (
    CATALOGUE,
    CATALOGUE_BY_CODE,
    DASHBOARD_INDICATORS,
    PATIENT_BY_CODE,
    SUPPLIERS,
    Kind,
    rate,
)
from targets.models import Campaign, RegionRollup, Target

WITHIN_POINTS = 5


@dataclass
class EffectiveTarget:
    value: Decimal
    due_on: datetime.date
    region_name: str
    in_force: bool  # due on or before the period's end; otherwise the next milestone


def effective_targets(targets: list[Target], region: Region, as_of: datetime.date) -> dict[str, EffectiveTarget]:
    """The strictest target of the region and its ancestors in force at `as_of` (the highest
    value already due), or else the nearest milestone still to come."""
    codes = set(region.ancestor_codes)
    result: dict[str, EffectiveTarget] = {}
    for target in targets:
        if target.region.code not in codes:
            continue
        in_force = target.due_on <= as_of
        candidate = EffectiveTarget(target.value, target.due_on, target.region.name, in_force)
        current = result.get(target.indicator)
        if current is None or _stricter(candidate, current):
            result[target.indicator] = candidate
    return result


def next_targets(targets: list[Target], region: Region, as_of: datetime.date) -> dict[str, EffectiveTarget]:
    """The next milestone after `as_of` for each indicator (the earliest deadline; the highest
    value on the same day) among the region's and its ancestors' targets."""
    codes = set(region.ancestor_codes)
    result: dict[str, EffectiveTarget] = {}
    for target in targets:
        if target.region.code not in codes or target.due_on <= as_of:
            continue
        current = result.get(target.indicator)
        if current is None or (target.due_on, -target.value) < (current.due_on, -current.value):
            result[target.indicator] = EffectiveTarget(target.value, target.due_on, target.region.name, False)
    return result


def _stricter(a: EffectiveTarget, b: EffectiveTarget) -> bool:
    if a.in_force != b.in_force:
        return a.in_force
    if a.in_force:
        return (a.value, -a.due_on.toordinal()) > (b.value, -b.due_on.toordinal())
    return (a.due_on, -a.value) < (b.due_on, -b.value)


@dataclass
class Cell:
    indicator: str
    numerator: int
    denominator: int
    rate: float | None
    target: EffectiveTarget | None
    status: str  # met, near, behind, none (no data or no target)
    source: tuple[int, int] | None = None  # insurance: employers with an HRSS count / key employers
    unit: str = ""
    kind: str = Kind.RATE
    today: datetime.date | None = None
    next_target: EffectiveTarget | None = None  # the milestone after the one in force, when there is one
    old_way: int = 0  # counted employers whose records are still counted the old way (by employer)

    @property
    def patient_drill(self) -> str:
        """For a patient indicator: the patient list's filter its cell links to."""
        indicator = PATIENT_BY_CODE.get(self.indicator)
        return indicator.drill if indicator else ""

    @property
    def gap(self) -> float | None:
        if self.rate is None or self.target is None:
            return None
        return float(self.target.value) - self.rate

    @property
    def shortfall(self) -> int | None:
        """还差 N 家/人: how many more employers, workers (or stations) must comply to reach the
        target shown; 0 when it is reached, None without data or target."""
        if self.target is None:
            return None
        if self.kind == Kind.COUNT:
            return max(0, int(self.target.value) - self.numerator)
        if not self.denominator:
            return None
        needed = math.ceil(self.target.value * self.denominator / 100)
        return max(0, needed - self.numerator)

    @property
    def days_left(self) -> int | None:
        """Days until the target's deadline (negative: past due)."""
        if self.target is None or self.today is None:
            return None
        return (self.target.due_on - self.today).days

    @property
    def overdue_days(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


def make_cell(indicator: str, figures: dict, target: EffectiveTarget | None, today: datetime.date | None = None
              ) -> Cell:
    entry = CATALOGUE_BY_CODE[indicator]
    numerator, denominator = figures.get(indicator, [0, 0])
    if entry.kind == Kind.COUNT:
        value = float(numerator) if indicator in figures else None
        met = value is not None and target is not None and value >= float(target.value)
    else:
        value = rate(numerator, denominator)
        met = value is not None and target is not None and value >= float(target.value)
    if value is None or target is None:
        status = "none"
    elif met:
        status = "met"
    elif entry.kind == Kind.RATE and value >= float(target.value) - WITHIN_POINTS:
        status = "near"
    else:
        status = "behind"
    source = tuple(figures.get("insurance_source", [0, 0])) if indicator == "injury_insurance" else None
    old_way = figures.get(f"{indicator}_by_employer", [0, 0])[0]
    return Cell(indicator, numerator, denominator, value, target, status, source, entry.unit, entry.kind, today,
                old_way=old_way)


@dataclass
class Row:
    region: Region
    employers: int
    cells: list[Cell]
    computed_at: datetime.datetime | None = None
    behind: int = field(default=0)
    completeness: tuple[int, int] | None = None  # counties that submitted the period / counties
    reported_cells: list[Cell] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.completeness is not None and self.completeness[0] == self.completeness[1]


@dataclass
class Dashboard:
    region: Region | None
    period: ReportingPeriod
    total: Row | None
    rows: list[Row]
    trend: list[dict]
    data_as_of: datetime.datetime | None
    today: datetime.date | None = None
    reported: list = field(default_factory=list)  # the catalogue entries not computed from the ledger

    def lagging(self, limit: int = 10) -> list[Row]:
        scored = [r for r in self.rows if r.behind]
        return sorted(scored, key=lambda r: (-r.behind, -sum(c.gap or 0 for c in r.cells)))[:limit]


def _child_key(region: Region, path: str) -> str | None:
    """The code of the child of `region` (or the region itself) that `path` lies in."""
    rest = path[len(region.path):]
    return rest.split("/", 1)[0] if rest else region.code


def completeness(region: Region, period: ReportingPeriod) -> dict[str, tuple[int, int]]:
    """For the region and each child: counties that have submitted the period (submitted,
    approved or accepted) out of its counties. One query."""
    submitted = CountySubmission.objects.filter(county=OuterRef("pk"), period=period, status__in=LOCKED_STATUSES)
    counties = Region.objects.filter(level=RegionLevel.COUNTY, path__startswith=region.path).annotate(
        done=Exists(submitted)).values_list("path", "done")
    result: dict[str, list[int]] = {}
    for path, done in counties:
        for key in {region.code, _child_key(region, path)}:
            counts = result.setdefault(key, [0, 0])
            counts[0] += int(done)
            counts[1] += 1
    return {key: (done, total) for key, (done, total) in result.items()}


def dashboard(*, actor: User, region: Region, period: ReportingPeriod) -> Dashboard:
    """Child regions × indicators of `region` (which the caller has checked is in scope): the
    region's rows of every period (its trend) and its children's of this one in one query."""
    rollups = list(
        RegionRollup.objects.filter(Q(region__parent=region, period=period) | Q(region=region))
        .select_related("region", "period").order_by("period__year", "period__half", "region__code")
    )
    targets = list(
        Target.objects.filter(Q(region__code__in=region.ancestor_codes) | Q(region__path__startswith=region.path))
        .select_related("region")
    )
    as_of = period.ends_on
    today = timezone.localdate()
    submitted = completeness(region, period)
    # The children shown are those with a rollup row: the suppliers are asked for them, no more.
    reported = reported_figures(region, period, children=[
        r.region for r in rollups if r.period_id == period.pk and r.region_id != region.pk])
    # The catalogue's indicators the rollup columns do not show: reported ones, and counts such
    # as the rehab stations built.
    shown = {i.code for i in DASHBOARD_INDICATORS}
    reported_entries = [e for e in CATALOGUE if e.code not in shown]

    def row_of(region_row: Region, employers: int, figures: dict, computed_at) -> Row:
        effective = effective_targets(targets, region_row, as_of)
        upcoming = next_targets(targets, region_row, as_of)
        cells = [make_cell(i.code, figures, effective.get(i.code), today) for i in DASHBOARD_INDICATORS]
        own = {**figures, **reported.get(region_row.code, {})}
        reported_cells = [make_cell(e.code, own, effective.get(e.code), today) for e in reported_entries]
        for cell in cells + reported_cells:
            if cell.target is not None and cell.target.in_force:
                cell.next_target = upcoming.get(cell.indicator)
        return Row(region_row, employers, cells, computed_at,
                   sum(c.status == "behind" for c in cells + reported_cells),
                   submitted.get(region_row.code), reported_cells)

    current = [r for r in rollups if r.period_id == period.pk]
    by_code = {r.region.code: r for r in current}
    total_rollup = by_code.get(region.code)
    total = row_of(region, total_rollup.employers if total_rollup else 0,
                   total_rollup.figures if total_rollup else {}, total_rollup.computed_at if total_rollup else None)
    rows = [row_of(r.region, r.employers, r.figures, r.computed_at) for r in current if r.region_id != region.pk]
    trend = [
        {"period": str(r.period), "code": r.period.code, "date": r.period.ends_on.isoformat(),
         "rates": {i.code: rate(*r.figures.get(i.code, [0, 0])) for i in DASHBOARD_INDICATORS}}
        for r in rollups if r.region_id == region.pk
    ]
    stamps = [r.computed_at for r in current]
    return Dashboard(region, period, total if total_rollup or reported.get(region.code) else None, rows, trend,
                     min(stamps) if stamps else None, today, reported_entries)


def reported_figures(region: Region, period: ReportingPeriod, *, children: list[Region] | None = None
                     ) -> dict[str, dict[str, list[int]]]:
    """Approved reported figures (and figures other apps supply) of the region and each child,
    summed from the regions that report them: {code: {indicator: [numerator, denominator]}}.
    The suppliers are asked for the region and `children` (all its children when not given)."""
    from targets.models import ReportedFigure

    result: dict[str, dict[str, list[int]]] = {}

    def add(path: str, indicator: str, numerator: int, denominator: int) -> None:
        for key in {region.code, _child_key(region, path)}:
            figure = result.setdefault(key, {}).setdefault(indicator, [0, 0])
            figure[0] += numerator
            figure[1] += denominator

    supplied = set(SUPPLIERS)  # registered by another app (register_supplier)
    rows = ReportedFigure.objects.filter(
        period=period, status=ReportedFigure.Status.APPROVED, region__path__startswith=region.path,
    ).exclude(indicator__in=supplied).values_list("region__path", "indicator", "numerator", "denominator")
    for path, indicator, numerator, denominator in rows:
        add(path, indicator, numerator, denominator)
    if supplied:
        regions = [region, *(Region.objects.filter(parent=region) if children is None else children)]
        codes = {r.pk: r.code for r in regions}
        for code in supplied:
            for region_id, (numerator, denominator) in SUPPLIERS[code](period, regions).items():
                result.setdefault(codes[region_id], {})[code] = [numerator, denominator]
    return result


@dataclass
class DashboardTarget:
    chain: list[Region]  # the region with its ancestors (the breadcrumbs); empty without one
    periods: list[ReportingPeriod]
    region: Region | None
    period: ReportingPeriod | None


def dashboard_target(actor: User, params) -> DashboardTarget:
    """The region and period a dashboard query string asks for: the asked region (or, without
    one, the user's only region) with its ancestors, and the asked period (or the latest one with
    submitted data under the region). A region outside the scope reads as a code no region has
    (rule 21)."""
    scope = scope_for(actor, Capability.DASHBOARD_VIEW)
    code = params.get("region", "").strip()
    if not code and len(scope.regions) == 1:
        code = scope.regions[0].path.rstrip("/").rsplit("/", 1)[-1]
    chain = region_with_ancestors(code) if code else []
    chain = chain if chain and scope.contains(chain[-1]) else []
    region = chain[-1] if chain else None
    all_periods = dashboard_periods(region) if region is not None else list(periods())
    period = period_param(all_periods, params, default=lambda: default_period(all_periods))
    return DashboardTarget(chain=chain, periods=all_periods, region=region, period=period)


def dashboard_periods(region: Region) -> list[ReportingPeriod]:
    """Periods, newest first, each marked `has_submissions` when a county under the region has
    submitted it (one query): the dashboard opens on the latest one with submitted data."""
    submitted = CountySubmission.objects.filter(
        period=OuterRef("pk"), status__in=LOCKED_STATUSES, county__path__startswith=region.path)
    return list(ReportingPeriod.objects.annotate(has_submissions=Exists(submitted)).order_by("-year", "-half"))


def default_period(periods: list[ReportingPeriod]) -> ReportingPeriod | None:
    """The latest period with submitted data; without any, the latest one already started."""
    return next((p for p in periods if getattr(p, "has_submissions", False)), None) or current_period(periods)


def dashboard_regions(actor: User) -> QuerySet[Region]:
    return scope_for(actor, Capability.DASHBOARD_VIEW).top_regions().order_by("path")


def _bound_by(scope, path_lookup: str, code_lookup: str) -> Q | None:
    """Rows in the scope's subtrees or on their ancestors (whose targets bind the scope)."""
    if scope.unrestricted:
        return Q()
    if not scope:
        return None
    condition = Q(pk__in=[])
    for scope_region in scope.regions:
        condition |= Q(**{f"{path_lookup}__startswith": scope_region.path})
        condition |= Q(**{f"{code_lookup}__in": [c for c in scope_region.path.split("/") if c]})
    return condition


def target_list(*, actor: User, region: Region | None = None) -> QuerySet[Target]:
    condition = _bound_by(scope_for(actor, Capability.DASHBOARD_VIEW), "region__path", "region__code")
    if condition is None:
        return Target.objects.none()
    targets = Target.objects.filter(condition)
    if region is not None:
        targets = targets.filter(Q(region__path__startswith=region.path) | Q(region__code__in=region.ancestor_codes))
    return targets.select_related("region", "campaign").order_by("region__path", "indicator", "due_on")


def campaign_list(*, actor: User, capability: Capability = Capability.DASHBOARD_VIEW) -> QuerySet[Campaign]:
    """The plans that bind the actor's regions: issued by one of them, above them or below them;
    never a sibling's or another province's."""
    condition = _bound_by(scope_for(actor, capability), "region__path", "region__code")
    if condition is None:
        return Campaign.objects.none()
    return Campaign.objects.filter(condition).select_related("region")


def reported_figure_list(*, actor: User, period: ReportingPeriod) -> QuerySet:
    from targets.models import ReportedFigure

    return scope_for(actor, Capability.DASHBOARD_VIEW).filter(
        ReportedFigure.objects.filter(period=period)).select_related("region", "entered_by", "reviewed_by")


def reported_figure_get(*, actor: User, pk: int):
    from targets.models import ReportedFigure

    return scope_for(actor, Capability.DASHBOARD_VIEW).filter(ReportedFigure.objects).select_related(
        "region", "period").get(pk=pk)


@dataclass
class BindingTarget:
    target: Target
    entry: object  # CatalogueEntry
    figure: Cell | None  # the region's figure for the period the deadline falls in, when there is one
    period: ReportingPeriod | None
    past_due: bool
    missed: bool


@dataclass
class BindingPlan:
    campaign: Campaign
    level_label: str
    phases: list
    current_phase: object | None
    targets: list[BindingTarget]


def binding_plans(*, region: Region, today: datetime.date | None = None) -> list[BindingPlan]:
    """The plans that bind a region (its own and its ancestors'), each with its phases and its
    targets, which are past due, and which of those the region missed: its figure in the
    half-year the deadline falls in (or the last one before it) is below the target. Four queries,
    and one per target whose figure another app supplies."""
    from targets.models import CampaignPhase, ReportedFigure

    today = today or timezone.localdate()
    campaigns = list(Campaign.objects.filter(region__code__in=region.ancestor_codes).select_related("region")
                     .order_by("region__level", "first_year"))
    targets = list(Target.objects.filter(campaign__in=campaigns).select_related("region").order_by("due_on", "indicator"))
    phases = list(CampaignPhase.objects.filter(campaign__in=campaigns))
    rollups = {r.period_id: r for r in RegionRollup.objects.filter(region=region).select_related("period")}
    periods = sorted((r.period for r in rollups.values()), key=lambda p: p.ends_on)
    reported: dict[int, dict[str, list[int]]] = {}
    for period_id, indicator, numerator, denominator in ReportedFigure.objects.filter(
            status=ReportedFigure.Status.APPROVED, region__path__startswith=region.path).exclude(
            indicator__in=set(SUPPLIERS)).values_list("period_id", "indicator", "numerator", "denominator"):
        figure = reported.setdefault(period_id, {}).setdefault(indicator, [0, 0])
        figure[0] += numerator
        figure[1] += denominator

    def period_of(due_on: datetime.date) -> ReportingPeriod | None:
        within = [p for p in periods if p.starts_on <= due_on <= p.ends_on]
        before = [p for p in periods if p.ends_on <= due_on]
        return within[0] if within else (before[-1] if before else None)

    plans = []
    for campaign in campaigns:
        own_phases = sorted((p for p in phases if p.campaign_id == campaign.pk), key=lambda p: p.starts_on)
        rows = []
        for target in (t for t in targets if t.campaign_id == campaign.pk):
            entry = CATALOGUE_BY_CODE.get(target.indicator)
            period = period_of(target.due_on)
            figure = None
            if period is not None and entry is not None:
                figures = {**rollups[period.pk].figures, **reported.get(period.pk, {})}
                if target.indicator in SUPPLIERS:  # another app's figure: one query per such target
                    figures[target.indicator] = list(SUPPLIERS[target.indicator](period, [region])[region.pk])
                effective = EffectiveTarget(target.value, target.due_on, target.region.name, True)
                figure = make_cell(target.indicator, figures, effective, today)
            past_due = target.due_on < today
            rows.append(BindingTarget(target, entry, figure, period, past_due,
                                      past_due and figure is not None and figure.status in ("near", "behind")))
        plans.append(BindingPlan(
            campaign, RegionLevel(campaign.region.level).label, own_phases,
            next((p for p in own_phases if p.starts_on <= today <= p.ends_on), None), rows))
    return plans
