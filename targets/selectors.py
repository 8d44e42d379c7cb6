"""Reads of targets and rollups, through portal.scoping. The dashboard reads the rollup table
only, in a fixed number of queries whatever the number of regions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet

from ledger.models import ReportingPeriod
from portal.models import Region, User
from portal.scoping import Capability, scope_for
from targets.indicators import DASHBOARD_INDICATORS, PATIENT_BY_CODE, rate
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


def make_cell(indicator: str, figures: dict, target: EffectiveTarget | None) -> Cell:
    numerator, denominator = figures.get(indicator, [0, 0])
    value = rate(numerator, denominator)
    if value is None or target is None:
        status = "none"
    elif value >= float(target.value):
        status = "met"
    elif value >= float(target.value) - WITHIN_POINTS:
        status = "near"
    else:
        status = "behind"
    source = tuple(figures.get("insurance_source", [0, 0])) if indicator == "injury_insurance" else None
    return Cell(indicator, numerator, denominator, value, target, status, source)


@dataclass
class Row:
    region: Region
    employers: int
    cells: list[Cell]
    computed_at: datetime.datetime | None = None
    behind: int = field(default=0)


@dataclass
class Dashboard:
    region: Region | None
    period: ReportingPeriod
    total: Row | None
    rows: list[Row]
    trend: list[dict]
    data_as_of: datetime.datetime | None

    def lagging(self, limit: int = 10) -> list[Row]:
        scored = [r for r in self.rows if r.behind]
        return sorted(scored, key=lambda r: (-r.behind, -sum(c.gap or 0 for c in r.cells)))[:limit]


def dashboard(*, actor: User, region: Region, period: ReportingPeriod) -> Dashboard:
    """Child regions × indicators of `region` (which the caller has checked is in scope)."""
    rollups = list(
        RegionRollup.objects.filter(Q(region__parent=region) | Q(region=region), period=period)
        .select_related("region").order_by("region__code")
    )
    targets = list(
        Target.objects.filter(Q(region__code__in=region.ancestor_codes) | Q(region__path__startswith=region.path))
        .select_related("region")
    )
    as_of = period.ends_on

    def row_of(rollup: RegionRollup) -> Row:
        effective = effective_targets(targets, rollup.region, as_of)
        cells = [make_cell(i.code, rollup.figures, effective.get(i.code)) for i in DASHBOARD_INDICATORS]
        return Row(rollup.region, rollup.employers, cells, rollup.computed_at, sum(c.status == "behind" for c in cells))

    total = next((row_of(r) for r in rollups if r.region_id == region.pk), None)
    rows = [row_of(r) for r in rollups if r.region_id != region.pk]
    trend_rollups = RegionRollup.objects.filter(region=region).select_related("period").order_by(
        "period__year", "period__half")
    trend = [
        {"period": str(r.period), "code": r.period.code,
         "rates": {i.code: rate(*r.figures.get(i.code, [0, 0])) for i in DASHBOARD_INDICATORS}}
        for r in trend_rollups
    ]
    stamps = [r.computed_at for r in rollups]
    return Dashboard(region, period, total, rows, trend, min(stamps) if stamps else None)


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


def campaign_list(*, actor: User) -> QuerySet[Campaign]:
    condition = _bound_by(scope_for(actor, Capability.DASHBOARD_VIEW), "region__path", "region__code")
    if condition is None:
        return Campaign.objects.none()
    return Campaign.objects.filter(condition).select_related("region")
