"""The work list (我的待办): what each user has to do next, from their memberships and capabilities.

Each source reads one table family in one query, and only when the user holds the capability
it needs, so the home page stays within a fixed number of queries whatever the scope: a
province admin's list costs the same queries as a county clerk's (counts are aggregated in SQL,
never one query per county)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db import connection
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery, Window
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from inspections.models import (
    OPEN_FINDING_STATUSES,
    Assignment,
    AssignmentStatus,
    Finding,
    FindingStatus,
    InspectionStatus,
)
from inspections.selectors import granted_assignment_ids
from insurance.models import FollowUp, InsuranceCoverage, LedgerHandover
from ledger.models import CountySubmission, EmployerRecord, ReportingPeriod, SubmissionStatus
from portal.models import Membership, Region, RegionLevel
from portal.scoping import Capability, Scope, scope_for, user_capabilities
from targets.indicators import BY_CODE, INDICATORS
from targets.models import RegionRollup
from targets.selectors import effective_targets, make_cell
from worklist.models import HandoverView, Notification

C = Capability
FINDINGS_SHOWN = 15
LAGGING_SHOWN = 5


@dataclass
class WorkItem:
    kind: str  # fill, returned, review, accept, handover, coverage, inspect, checklist_returned, sign, rectify,
    #            verify, target, figure
    category: str
    title: str
    url: str
    deadline: datetime.date | None = None
    detail: str = ""
    count: int = 1
    today: datetime.date = field(default_factory=timezone.localdate, repr=False)

    @property
    def days_left(self) -> int | None:
        return (self.deadline - self.today).days if self.deadline else None

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.overdue else 0

    @property
    def overdue(self) -> bool:
        return self.deadline is not None and self.deadline < self.today

    @property
    def sort_key(self) -> tuple:
        # Overdue and nearest deadlines first; undated work after dated work.
        return (self.deadline is None, self.deadline or datetime.date.max, self.category, self.title)


@dataclass
class LaggingRegion:
    region: Region
    behind: int  # indicators below a target already due
    worst: list[tuple[str, float, float]]  # (indicator name, rate, target) worst first
    url: str


@dataclass
class WorkList:
    items: list[WorkItem]
    lagging: list[LaggingRegion]
    lagging_region: Region | None = None

    @property
    def total(self) -> int:
        return sum(item.count for item in self.items)

    @property
    def overdue(self) -> int:
        return sum(item.count for item in self.items if item.overdue)


def _patterns(scope: Scope) -> list[str] | None:
    """LIKE patterns of the scope's subtrees (None: unrestricted)."""
    return None if scope.unrestricted else [region.path + "%" for region in scope.regions]


def _at_or_above(scope: Scope, level: int) -> Scope:
    """The part of a scope held at `level` or above (a city reviewer reviews; a county one doesn't)."""
    if scope.unrestricted:
        return scope
    return Scope(tuple(r for r in scope.regions if r.level <= level))


def _to_review(scope: Scope) -> Q | None:
    """The submissions a review scope acts on: submitted ones under its city-level (or higher)
    regions, approved ones under its province-level ones; None when it holds neither."""
    city, province = _at_or_above(scope, RegionLevel.CITY), _at_or_above(scope, RegionLevel.PROVINCE)
    if not (city or province):
        return None
    q = Q(pk__in=[])
    if city:
        q |= Q(status=SubmissionStatus.SUBMITTED) & city.q_levels(CountySubmission.SCOPE_LEVEL_FIELDS)
    if province:
        q |= Q(status=SubmissionStatus.APPROVED) & province.q_levels(CountySubmission.SCOPE_LEVEL_FIELDS)
    return q


# ---- Ledger: periods to fill and submit, returned submissions ---------------------------------------------


# The deadlines set by issuing regions are few: read once (CTEs), then matched to each county by
# path prefix, instead of scanning the region tree for every county.
_PENDING_SQL = """
WITH deadlines AS MATERIALIZED (
    SELECT d.period_id, dr.path, d.deadline FROM ledger_perioddeadline d JOIN portal_region dr ON dr.id = d.region_id
), handover_deadlines AS MATERIALIZED (
    SELECT d.period_id, dr.path, d.deadline FROM worklist_handoverdeadline d JOIN portal_region dr ON dr.id = d.region_id
)
SELECT * FROM (
    SELECT p.code, p.year, p.half, r.id, r.code, r.name, s.status, s.return_reason,
           COALESCE((SELECT x.deadline FROM deadlines x WHERE x.period_id = p.id AND r.path LIKE x.path || '%%'
                     ORDER BY length(x.path) DESC LIMIT 1), p.deadline) AS deadline, r.path
    FROM portal_region r
    CROSS JOIN ledger_reportingperiod p
    LEFT JOIN ledger_countysubmission s ON s.county_id = r.id AND s.period_id = p.id
    WHERE r.level = %s AND p.starts_on <= %s AND {scope}
      AND (s.id IS NULL OR s.status IN ('draft', 'returned'))
    {handovers}
) pending
WHERE {window}
ORDER BY deadline, path
"""
# Hand-overs to HRSS not made by the deadline the province set (only where one is set).
_HANDOVER_DUE_SQL = """
    UNION ALL
    SELECT p.code, p.year, p.half, r.id, r.code, r.name, 'handover', NULL, hd.deadline, r.path
    FROM portal_region r
    CROSS JOIN ledger_reportingperiod p
    JOIN LATERAL (SELECT x.deadline FROM handover_deadlines x WHERE x.period_id = p.id AND r.path LIKE x.path || '%%'
                  ORDER BY length(x.path) DESC LIMIT 1) hd ON TRUE
    WHERE r.level = %s AND p.starts_on <= %s AND {scope}
      AND NOT EXISTS (SELECT 1 FROM insurance_ledgerhandover h WHERE h.county_id = r.id AND h.period_id = p.id)
"""
HANDOVER = "handover"
# Above this many counties per period (a city or province clerk), one line per period.
COUNTIES_LISTED = 5


@dataclass
class PendingSubmission:
    period_code: str
    year: int
    half: int
    county_id: int
    county_code: str
    county_name: str
    status: str | None  # None: not started; "handover": the hand-over to HRSS is due
    return_reason: str | None
    deadline: datetime.date

    @property
    def period_name(self) -> str:
        return _("%(year)s年%(half)s半年") % {"year": self.year, "half": _("上") if self.half == 1 else _("下")}


def pending_submissions(*, today: datetime.date, scope: Scope | None = None, within_days: int | None = None,
                        handovers: bool = False, figures_scope: Scope | None = None) -> list[PendingSubmission]:
    """Every (period already started, county) whose ledger is not submitted (not started, being
    filled, or returned), with the deadline set by the nearest issuing region above the county;
    with `handovers`, also those whose hand-over to HRSS is due and not made; with
    `figures_scope`, the reported figures due there (status "figure:…", the indicator's code in
    `county_code`). One query whatever the number of counties; `scope` None means every county."""
    patterns = None if scope is None else _patterns(scope)
    scope_sql = "TRUE" if patterns is None else "r.path LIKE ANY(%s)"
    part: list = [RegionLevel.COUNTY, today] + ([] if patterns is None else [patterns])
    params = list(part) + (list(part) if handovers else [])
    figures_sql = ""
    if figures_scope:
        figure_patterns = _patterns(figures_scope)
        entries = _reported_entries()
        params += [today, [code for code, _level in entries], [level for _code, level in entries]]
        if figure_patterns is not None:
            params.append(figure_patterns)
        figures_sql = _FIGURES_DUE_SQL.format(scope="TRUE" if figure_patterns is None else "r.path LIKE ANY(%s)")
    window = "TRUE"
    if within_days is not None:
        window = "deadline BETWEEN %s AND %s"
        params += [today, today + datetime.timedelta(days=within_days)]
    sql = _PENDING_SQL.format(scope=scope_sql, window=window,
                              handovers=(_HANDOVER_DUE_SQL.format(scope=scope_sql) if handovers else "") + figures_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [PendingSubmission(*row[:9]) for row in cursor.fetchall()]


def _ledger_to_fill(user, today: datetime.date) -> list[WorkItem]:
    """The health clerk's: periods to fill and submit, returned ones, hand-overs due, and the
    reported figures to submit (the capability table grants reporting to the responsible
    department), in one query."""
    scope, figures_scope = scope_for(user, C.LEDGER_EDIT), scope_for(user, C.FIGURES_REPORT)
    if not scope and not figures_scope:
        return []
    by_period: dict[str, list[PendingSubmission]] = {}
    rows = pending_submissions(today=today, scope=scope, handovers=True, figures_scope=figures_scope)
    items = _handovers_due([r for r in rows if r.status == HANDOVER], today)
    items += _figures_to_report([r for r in rows if (r.status or "").startswith(FIGURE)], today)
    for row in rows:
        if row.status != HANDOVER and not (row.status or "").startswith(FIGURE):
            by_period.setdefault(row.period_code, []).append(row)
    periods_url = reverse("ledger:periods")
    for code, rows in by_period.items():
        period_name = rows[0].period_name
        url = f"{periods_url}?period={code}"
        for row in rows:
            if row.status == SubmissionStatus.RETURNED:
                items.append(WorkItem("returned", _("台帐填报"), _("%(county)s %(period)s台帐被退回，请修改后重新报送")
                                      % {"county": row.county_name, "period": period_name}, url, row.deadline,
                                      detail=_("退回原因：%(reason)s") % {"reason": row.return_reason}, today=today))
        pending = [r for r in rows if r.status != SubmissionStatus.RETURNED]
        if not pending:
            continue
        if len(pending) <= COUNTIES_LISTED:
            for row in pending:
                title = (_("填报并报送 %(county)s %(period)s台帐") if row.status else
                         _("开始填报 %(county)s %(period)s台帐")) % {"county": row.county_name, "period": period_name}
                items.append(WorkItem("fill", _("台帐填报"), title, url, row.deadline, today=today))
        else:
            items.append(WorkItem(
                "fill", _("台帐填报"),
                _("%(n)s 个县（市、区）尚未报送%(period)s台帐") % {"n": len(pending), "period": period_name},
                f"{reverse('ledger:completeness')}?period={code}", min(r.deadline for r in pending),
                detail="、".join(r.county_name for r in pending[:COUNTIES_LISTED]) + "……", count=len(pending),
                today=today))
    return items


def _handovers_due(rows: list[PendingSubmission], today: datetime.date) -> list[WorkItem]:
    if not rows:
        return []
    url = f"{reverse('insurance:index')}"
    if len(rows) <= COUNTIES_LISTED:
        return [WorkItem("handover_due", _("台帐移交"), _("将%(county)s %(period)s台帐移交同级人社部门") % {
            "county": r.county_name, "period": r.period_name}, url, r.deadline, today=today) for r in rows]
    by_period: dict[str, list[PendingSubmission]] = {}
    for row in rows:
        by_period.setdefault(row.period_code, []).append(row)
    return [WorkItem("handover_due", _("台帐移交"), _("%(n)s 个县（市、区）尚未向人社部门移交%(period)s台帐") % {
        "n": len(group), "period": group[0].period_name},
        f"{reverse('worklist:handovers')}?period={code}", min(r.deadline for r in group),
        detail="、".join(r.county_name for r in group[:COUNTIES_LISTED]) + "……", count=len(group), today=today)
        for code, group in by_period.items()]


def _comments_to_answer(user, today: datetime.date) -> list[WorkItem]:
    """Reviewers' comments on records of the clerk's counties that nobody has answered."""
    from worklist.models import RecordComment

    scope = scope_for(user, C.LEDGER_EDIT)
    if not scope:
        return []
    rows = list(scope.filter(RecordComment.objects.filter(reply_to__isnull=True, answered_at__isnull=True))
                .annotate(total=Window(Count("id")))
                .values("record_id", "record__employer__name", "record__period__code", "body", "total")
                .order_by("created_at")[:5])
    items = [WorkItem("comment", _("台帐审核"), _("答复审核人员对%(employer)s填报的批注") % {
        "employer": r["record__employer__name"]}, reverse("worklist:record-comments", args=[r["record_id"]]), None,
        detail=r["body"][:80], today=today) for r in rows]
    if rows and rows[0]["total"] > len(rows):
        items.append(WorkItem("comment", _("台帐审核"), _("另有 %(n)s 条批注待答复") % {
            "n": rows[0]["total"] - len(rows)}, reverse("ledger:periods"), None, count=rows[0]["total"] - len(rows),
            today=today))
    return items


def _ledger_to_review(user, today: datetime.date) -> list[WorkItem]:
    scope = scope_for(user, C.LEDGER_REVIEW)
    q = _to_review(scope) if scope else None
    if q is None:
        return []
    rows = (CountySubmission.objects.filter(q).values("period__code", "period__year", "period__half", "status")
            .annotate(n=Count("id"), first=Min("submitted_at")).order_by("first"))
    items = []
    for row in rows:
        period_name = _("%(year)s年%(half)s半年") % {
            "year": row["period__year"], "half": _("上") if row["period__half"] == 1 else _("下")}
        review = row["status"] == SubmissionStatus.SUBMITTED
        title = (_("%(n)s 个县（市、区）的%(period)s台帐等待市级审核") if review else
                 _("%(n)s 个县（市、区）的%(period)s台帐等待省级接收")) % {"n": row["n"], "period": period_name}
        first = timezone.localdate(row["first"]) if row["first"] else None
        items.append(WorkItem(
            "review" if review else "accept", _("台帐审核"), title,
            f"{reverse('worklist:review')}?period={row['period__code']}", None,
            detail=_("最早一份报送于 %(date)s") % {"date": first} if first else "", count=row["n"], today=today))
    return items


# ---- Insurance (HRSS): hand-overs received, coverage differences -----------------------------------------


def _handovers_unread(user, today: datetime.date) -> list[WorkItem]:
    scope = scope_for(user, C.INSURANCE_EDIT)
    if not scope:
        return []
    handovers = list(
        scope.filter(LedgerHandover.objects)
        .exclude(pk__in=HandoverView.objects.filter(user=user).values("handover_id"))
        .annotate(total=Window(Count("id")))
        .values("pk", "county__name", "period__year", "period__half", "shared_at", "total")
        .order_by("-shared_at")[:5])
    if not handovers:
        return []
    items = [WorkItem("handover", _("台帐移交"), _("收到%(county)s卫生健康部门移交的%(year)s年%(half)s半年台帐") % {
        "county": h["county__name"], "year": h["period__year"], "half": _("上") if h["period__half"] == 1 else _("下")},
        reverse("insurance:handover-detail", args=[h["pk"]]), None,
        detail=_("移交时间 %(when)s，尚未查看") % {"when": timezone.localtime(h["shared_at"]).strftime("%Y-%m-%d %H:%M")},
        today=today) for h in handovers]
    rest = handovers[0]["total"] - len(handovers)
    if rest > 0:
        items.append(WorkItem("handover", _("台帐移交"), _("另有 %(n)s 份移交的台帐尚未查看") % {"n": rest},
                              reverse("insurance:index"), None, count=rest, today=today))
    return items


def _coverage_to_follow(user, today: datetime.date) -> list[WorkItem]:
    """Employers whose ledger insured count differs from the HRSS count in the current period
    (the latest one started) and nobody has followed up."""
    scope = scope_for(user, C.INSURANCE_EDIT)
    if not scope:
        return []
    period = Subquery(ReportingPeriod.objects.filter(starts_on__lte=today).order_by("-year", "-half").values("pk")[:1])
    # Driven from the HRSS counts (a few employers per county), not from every ledger record.
    ledger = EmployerRecord.objects.filter(employer=OuterRef("employer"), period=OuterRef("period")).values(
        "insured_workers")[:1]
    followed = FollowUp.objects.filter(employer=OuterRef("employer"), period=OuterRef("period"))
    rows = list(scope.filter(InsuranceCoverage.objects.filter(period=period))
                .annotate(ledger=Subquery(ledger)).filter(ledger__isnull=False).exclude(ledger=F("insured_workers"))
                .filter(~Exists(followed)).values("period__code").annotate(n=Count("id")))
    if not rows:
        return []
    count, code = rows[0]["n"], rows[0]["period__code"]
    return [WorkItem("coverage", _("工伤保险"), _("%(n)s 家单位的参保人数与台帐不一致，尚未跟进") % {"n": count},
                     f"{reverse('insurance:reconciliation')}?period={code}", None, count=count, today=today)]


# ---- Inspections: checklists to fill, returned, reports to sign; findings --------------------------------


def _inspection_tasks(user, today: datetime.date) -> list[WorkItem]:
    if not user.is_authenticated:
        return []
    rows = (Assignment.objects.filter(pk__in=granted_assignment_ids(user), status=AssignmentStatus.ACTIVE)
            .values("pk", "kind", "plan__name", "plan__window_end", "plan__report_deadline", "region__name",
                    "employer__name", "team__leader_id", "inspection__pk", "inspection__status",
                    "inspection__returned_at", "inspection__return_reason")
            .order_by("plan__report_deadline", "pk"))
    items = []
    for row in rows:
        target = row["employer__name"] or row["region__name"]
        status = row["inspection__status"]
        fill_url = reverse("inspections:fill", args=[row["pk"]])
        if status in (None, InspectionStatus.DRAFT):
            if row["inspection__returned_at"]:
                items.append(WorkItem("checklist_returned", _("监督检查"), _("%(target)s的检查表被组长退回修改")
                                      % {"target": target}, fill_url, row["plan__report_deadline"],
                                      detail=_("退回原因：%(reason)s") % {"reason": row["inspection__return_reason"]},
                                      today=today))
            else:
                items.append(WorkItem("inspect", _("监督检查"), _("填写%(target)s的检查表") % {"target": target},
                                      fill_url, row["plan__window_end"], detail=row["plan__name"], today=today))
        elif status == InspectionStatus.SUBMITTED and row["team__leader_id"] == user.pk:
            items.append(WorkItem("sign", _("监督检查"), _("审签%(target)s的检查报告") % {"target": target},
                                  reverse("inspections:report", args=[row["inspection__pk"]]),
                                  row["plan__report_deadline"], detail=row["plan__name"], today=today))
    return items


def _findings(user, today: datetime.date) -> list[WorkItem]:
    """Findings to rectify (the inspected side) and to verify (the team or the issuing office),
    overdue first; the earliest few listed, the rest counted."""
    view = scope_for(user, C.INSPECTION_VIEW)
    manage = scope_for(user, C.INSPECTION_MANAGE)
    # The inspected side rectifies: a scope over the finding's region, below the plan's issuing
    # region (the issuing office and its teams verify instead).
    rectify = (view.q_path("region__path") & ~view.q_path("inspection__assignment__plan__region__path")
               & Q(status__in=OPEN_FINDING_STATUSES)) if view else Q(pk__in=[])
    verify_by = Q(inspection__assignment__in=Subquery(granted_assignment_ids(user, in_window=False)))
    if manage:
        verify_by |= manage.q_path("inspection__assignment__plan__region__path")
    verify = Q(status=FindingStatus.RECTIFIED) & verify_by
    rows = list(
        Finding.objects.filter(rectify | verify)
        .annotate(total=Window(Count("id")))
        .values("pk", "description", "deadline", "status", "region__name", "employer__name", "total")
        .order_by("deadline", "pk")[:FINDINGS_SHOWN])
    items = []
    for row in rows:
        where = row["employer__name"] or row["region__name"]
        url = reverse("inspections:finding", args=[row["pk"]])
        if row["status"] == FindingStatus.RECTIFIED:
            items.append(WorkItem("verify", _("问题整改"), _("核实%(where)s的整改：%(what)s") % {
                "where": where, "what": row["description"][:40]}, url, None, today=today))
        else:
            items.append(WorkItem("rectify", _("问题整改"), _("整改%(where)s的问题：%(what)s") % {
                "where": where, "what": row["description"][:40]}, url, row["deadline"], today=today))
    if rows and rows[0]["total"] > len(rows):
        items.append(WorkItem("rectify", _("问题整改"), _("另有 %(n)s 个问题待整改或核实") % {
            "n": rows[0]["total"] - len(rows)}, reverse("inspections:findings"), None,
            count=rows[0]["total"] - len(rows), today=today))
    return items


# ---- Reported figures to submit (the figures the ledger does not hold) ---------------------------------------


# The reported figures (training rate, dose monitoring, diagnosis institution…) of the current
# period being entered or returned, and those still missing where a target binds the region (at
# the indicator's reporting level); with the ledger's deadline. Rides in the pending query
# (one query for the health clerk's whole list); its status column reads "figure:<status>".
_FIGURES_DUE_SQL = """
    UNION ALL
    SELECT p.code, p.year, p.half, r.id, ind.code, r.name, 'figure:' || COALESCE(f.status, ''), f.return_reason,
           COALESCE((SELECT x.deadline FROM deadlines x WHERE x.period_id = p.id AND r.path LIKE x.path || '%%'
                     ORDER BY length(x.path) DESC LIMIT 1), p.deadline), r.path
    FROM (SELECT * FROM ledger_reportingperiod WHERE starts_on <= %s ORDER BY year DESC, half DESC LIMIT 1) p
    CROSS JOIN unnest(%s::text[], %s::int[]) AS ind(code, level)
    JOIN portal_region r ON r.level = ind.level
    LEFT JOIN targets_reportedfigure f ON f.period_id = p.id AND f.region_id = r.id AND f.indicator = ind.code
    WHERE {scope} AND (f.status IN ('draft', 'returned')
                       OR f.id IS NULL AND EXISTS (SELECT 1 FROM targets_target t JOIN portal_region tr ON tr.id = t.region_id
                                                   WHERE t.indicator = ind.code AND r.path LIKE tr.path || '%%'))
"""
FIGURE = "figure:"


def _reported_entries() -> list[tuple[str, int]]:
    """(code, level that reports it): a yes/no figure is answered at its level; a rate is
    reported by each county and summed above."""
    from targets.indicators import REPORTED_INDICATORS

    return [(e.code, int(e.reported_level or RegionLevel.COUNTY)) for e in REPORTED_INDICATORS]


def _figures_to_report(rows: list[PendingSubmission], today: datetime.date) -> list[WorkItem]:
    """One line per region, or per indicator above COUNTIES_LISTED regions (a city or province clerk)."""
    from targets.indicators import CATALOGUE_BY_CODE
    from targets.models import ReportedFigure

    by_indicator: dict[str, list[PendingSubmission]] = {}
    for row in rows:
        by_indicator.setdefault(row.county_code, []).append(row)
    items = []
    for code, group in by_indicator.items():
        names = {"period": group[0].period_name, "indicator": CATALOGUE_BY_CODE[code].name}
        url = f"{reverse('targets:reported')}?period={group[0].period_code}"
        if len(group) > COUNTIES_LISTED:
            items.append(WorkItem("figure", _("报送指标"), _("%(n)s 个地区尚未报送%(period)s“%(indicator)s”") % {
                "n": len(group), **names}, url, min(r.deadline for r in group),
                detail="、".join(r.county_name for r in group[:COUNTIES_LISTED]) + "……", count=len(group), today=today))
            continue
        for row in group:
            status = row.status.removeprefix(FIGURE)
            if status == ReportedFigure.Status.RETURNED:
                items.append(WorkItem("figure", _("报送指标"), _("%(region)s %(period)s“%(indicator)s”被退回，请修改后重新报送")
                                      % {"region": row.county_name, **names}, url, row.deadline,
                                      detail=_("退回原因：%(reason)s") % {"reason": row.return_reason}, today=today))
            else:
                items.append(WorkItem("figure", _("报送指标"), _("报送%(region)s %(period)s“%(indicator)s”及佐证材料")
                                      % {"region": row.county_name, **names}, url, row.deadline,
                                      detail=_("已填报，尚未报送") if status else "", today=today))
    return items


# ---- Targets past due and missed; the regions furthest behind --------------------------------------------


def _targets_missed(user, today: datetime.date) -> tuple[list[WorkItem], list[LaggingRegion], Region | None]:
    """Targets already due that the user's region has not met (from the latest rollup), and for
    officials above the county, the child regions with the most such indicators (one query)."""
    scope = scope_for(user, C.DASHBOARD_VIEW)
    if not scope:
        return [], [], None
    if scope.unrestricted:
        tops_q = Q(region__parent__isnull=True)
        codes: set[str] = set()
    else:
        top_ids = [r.id for r in scope.regions]
        tops_q = Q(region_id__in=top_ids)
        codes = {code for r in scope.regions for code in r.path.split("/") if code}
    latest = (RegionRollup.objects.filter(tops_q).order_by("-period__year", "-period__half").values("period_id")[:1])
    # The targets already due that bind these regions ride along as one uncorrelated subquery
    # (evaluated once), so rollups and targets cost one query.
    top_paths = [r.path + "%" for r in scope.regions] if not scope.unrestricted else ["%"]
    targets_json = RawSQL(
        "SELECT json_agg(json_build_object('indicator', t.indicator, 'value', t.value, 'due_on', t.due_on, "
        "'code', tr.code, 'name', tr.name)) FROM targets_target t JOIN portal_region tr ON tr.id = t.region_id "
        "WHERE t.due_on <= %s AND (tr.code = ANY(%s) OR tr.path LIKE ANY(%s))",
        [today, sorted(codes), top_paths])
    rollups = list(RegionRollup.objects.filter(period_id=Subquery(latest))
                   .filter(tops_q | Q(region__parent__in=RegionRollup.objects.filter(tops_q).values("region_id")))
                   .annotate(targets_json=targets_json)
                   .select_related("region", "period").order_by("region__path"))
    if not rollups:
        return [], [], None
    tops = [r for r in rollups if (scope.unrestricted and r.region.parent_id is None) or
            (not scope.unrestricted and r.region_id in top_ids)]
    targets = [SimpleNamespace(indicator=t["indicator"], value=Decimal(str(t["value"])),
                               due_on=datetime.date.fromisoformat(t["due_on"]),
                               region=SimpleNamespace(code=t["code"], name=t["name"]))
               for t in (rollups[0].targets_json or [])]
    if not targets:
        return [], [], None

    def missed(rollup: RegionRollup) -> list:
        effective = effective_targets(targets, rollup.region, today)
        cells = [make_cell(i.code, rollup.figures, effective.get(i.code)) for i in INDICATORS]
        return [c for c in cells if c.target is not None and c.target.in_force and c.rate is not None
                and c.rate < float(c.target.value)]

    items: list[WorkItem] = []
    lagging: list[LaggingRegion] = []
    dashboard_url = reverse("targets:dashboard")
    lagging_region = None
    for top in tops[:3]:
        url = f"{dashboard_url}?region={top.region.code}&period={top.period.code}"
        for cell in missed(top):
            items.append(WorkItem(
                "target", _("攻坚目标"),
                _("%(region)s%(indicator)s %(rate).1f%%，未达到目标 %(target)s%%") % {
                    "region": top.region.name, "indicator": BY_CODE[cell.indicator].name, "rate": cell.rate,
                    "target": f"{cell.target.value:g}"},
                url, cell.target.due_on,
                detail=_("%(by)s目标，%(due)s 到期；数据为%(period)s") % {
                    "by": cell.target.region_name, "due": cell.target.due_on, "period": top.period},
                today=today))
        # Officials above the county watch their children: a city its counties, a province its cities.
        if top.region.level <= RegionLevel.CITY and lagging_region is None:
            lagging_region = top.region
            rows = []
            for child in rollups:
                if child.region.parent_id != top.region_id:
                    continue
                cells = missed(child)
                if cells:
                    worst = sorted(cells, key=lambda c: c.rate - float(c.target.value))
                    rows.append(LaggingRegion(
                        child.region, len(cells),
                        [(BY_CODE[c.indicator].name, c.rate, float(c.target.value)) for c in worst[:3]],
                        f"{dashboard_url}?region={child.region.code}&period={child.period.code}"))
            lagging = sorted(rows, key=lambda r: (-r.behind, sum(w[1] - w[2] for w in r.worst)))[:LAGGING_SHOWN]
    return items, lagging, lagging_region


# ---- Patients: follow-ups overdue, relief not yet given -------------------------------------------------------


def _patients(user, today: datetime.date, capabilities: set) -> list[WorkItem]:
    """The county health office's overdue follow-ups, and for each relief department the patients of
    its categories for whom it has recorded nothing yet (one aggregate query)."""
    from patients.models import LifeStatus, Patient, ReliefAction
    from patients.selectors import LEVEL_FIELDS
    from portal.scoping import relief_grants

    view = scope_for(user, C.PATIENT_VIEW) if C.PATIENT_VIEW in capabilities else Scope()
    grants = [g for g in relief_grants(user) if g.may_record] if C.PATIENT_RELIEF in capabilities else []
    if not view and not grants:
        return []
    alive = Q(status=LifeStatus.ALIVE)
    aggregates = {}
    if view:
        overdue = view.q_levels(LEVEL_FIELDS) & alive & Q(next_followup_due__lt=today)
        aggregates.update(overdue=Count("id", filter=overdue), first_due=Min("next_followup_due", filter=overdue))
    departments = sorted({g.department for g in grants})
    for department in departments:
        served = reduce_or([Scope.of([g.region]).q_levels(LEVEL_FIELDS) & Q(relief_category__in=g.duty.categories)
                            for g in grants if g.department == department])
        acted = ReliefAction.objects.filter(patient=OuterRef("pk"), department=department)
        aggregates[f"relief_{department}"] = Count("id", filter=served & alive & ~Q(Exists(acted)))
    counts = Patient.objects.aggregate(**aggregates)
    items = []
    if counts.get("overdue"):
        items.append(WorkItem("followup", _("患者随访"), _("%(n)s 名尘肺病患者随访逾期") % {"n": counts["overdue"]},
                              reverse("patients:overdue"), counts["first_due"], count=counts["overdue"], today=today))
    from portal.models import Department

    for department in departments:
        if n := counts.get(f"relief_{department}"):
            items.append(WorkItem("relief", _("患者救助"), _("%(n)s 名患者尚无%(department)s部门的救助记录") % {
                "n": n, "department": Department(department).label},
                f"{reverse('patients:relief')}?department={department}", None, count=n, today=today))
    return items


def reduce_or(clauses: list[Q]) -> Q:
    result = Q(pk__in=[])
    for clause in clauses:
        result |= clause
    return result


# ---- The list ----------------------------------------------------------------------------------------------


def work_list(user, *, today: datetime.date | None = None, memberships=None) -> WorkList:
    """`memberships`: the user's memberships annotated by `with_liaison_flag`, when the caller
    has loaded them (saves a query)."""
    today = today or timezone.localdate()
    capabilities = user_capabilities(user)
    items: list[WorkItem] = _liaisons_missing(user, memberships, today)
    items += _ledger_to_fill(user, today)
    items += _comments_to_answer(user, today)
    items += _ledger_to_review(user, today)
    if C.INSURANCE_EDIT in capabilities:
        items += _handovers_unread(user, today)
        items += _coverage_to_follow(user, today)
    items += _inspection_tasks(user, today)
    items += _findings(user, today)
    items += _patients(user, today, capabilities)
    target_items, lagging, lagging_region = _targets_missed(user, today)
    items += target_items
    items.sort(key=lambda item: item.sort_key)
    return WorkList(items, lagging, lagging_region)


# ---- Inbox -------------------------------------------------------------------------------------------------


def inbox(user):
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


# ---- The reviewer's queue -----------------------------------------------------------------------------------


def review_queue(user, period: ReportingPeriod) -> list[CountySubmission]:
    """The period's submissions this reviewer acts on: submitted ones under a city-level (or
    higher) review scope, approved ones under a province-level scope; `stage` says which."""
    q = _to_review(scope_for(user, C.LEDGER_REVIEW))
    submissions = list(CountySubmission.objects.filter(q if q is not None else Q(pk__in=[]), period=period)
                       .select_related("county", "city", "submitted_by", "reviewed_by").order_by("county__path"))
    for submission in submissions:
        submission.stage = "review" if submission.status == SubmissionStatus.SUBMITTED else "accept"
    return submissions


# ---- Hand-over status and the liaison list -------------------------------------------------------------------


@dataclass
class HandoverRow:
    county: Region
    deadline: datetime.date | None
    shared_at: datetime.datetime | None
    state: str  # on_time, late, pending, overdue, no_deadline
    label: str


HANDOVER_STATES = {"on_time": _("按时移交"), "late": _("逾期移交"), "pending": _("尚未移交"),
                   "overdue": _("逾期未移交"), "no_deadline": _("未设截止日期")}


def handover_status(*, actor, period: ReportingPeriod, region: Region | None = None,
                    today: datetime.date | None = None) -> list[HandoverRow]:
    """Each county in the user's scope (under `region`): its first hand-over of the period to HRSS
    against the deadline the province set: on time, late, or not yet (3 queries)."""
    from worklist.models import HandoverDeadline

    today = today or timezone.localdate()
    scope = scope_for(actor, C.LEDGER_VIEW)
    if not scope:
        scope = scope_for(actor, C.INSURANCE_VIEW)
    counties = scope.filter(Region.objects.filter(level=RegionLevel.COUNTY))
    if region is not None:
        counties = counties.filter(path__startswith=region.path)
    counties = list(counties.order_by("path"))
    shared = dict(LedgerHandover.objects.filter(period=period, county__in=[c.pk for c in counties])
                  .values("county_id").annotate(first=Min("shared_at")).values_list("county_id", "first"))
    deadlines = {d.region.path: d.deadline for d in
                 HandoverDeadline.objects.filter(period=period).select_related("region")}
    rows = []
    for county in counties:
        own = [(len(path), deadline) for path, deadline in deadlines.items() if county.path.startswith(path)]
        deadline = max(own)[1] if own else None
        at = shared.get(county.pk)
        if at is not None:
            state = "on_time" if deadline is None or timezone.localdate(at) <= deadline else "late"
        elif deadline is None:
            state = "no_deadline"
        else:
            state = "overdue" if today > deadline else "pending"
        rows.append(HandoverRow(county, deadline, at, state, HANDOVER_STATES[state]))
    return rows


def liaisons_of(regions: list[Region], departments: list[str] | None = None):
    """The liaison list of these regions (for the pages where two departments must talk)."""
    from worklist.models import Liaison

    rows = Liaison.objects.filter(region__in=regions).select_related("region")
    if departments:
        rows = rows.filter(department__in=departments)
    return list(rows)


def liaison_list(*, actor, region: Region):
    """Every department's liaisons of a region the user may see (any capability's scope)."""
    from worklist.models import Liaison

    return list(Liaison.objects.filter(region=region).order_by("department", "id"))


def _liaisons_missing(user, memberships, today: datetime.date) -> list[WorkItem]:
    """An admin's own region and department without a liaison on the list (seed 000 asks each
    county and department to name one)."""
    from portal.models import Department, Role

    if memberships is None:
        if C.USERS_MANAGE not in user_capabilities(user):
            return []
        memberships = list(with_liaison_flag(Membership.objects.filter(user=user, role=Role.ADMIN))
                           .select_related("region"))
    items = []
    for m in memberships:
        if m.role == Role.ADMIN and not m.has_liaison:
            items.append(WorkItem(
                "liaison", _("联络员名单"), _("填报%(region)s%(department)s部门的联络员") % {
                    "region": m.region.name, "department": Department(m.department).label},
                f"{reverse('worklist:liaisons')}?region={m.region.code}", None,
                detail=_("部门之间沟通时各页面显示联络员姓名、单位职务和电话。"), today=today))
    return items


def with_liaison_flag(memberships):
    from worklist.models import Liaison

    return memberships.annotate(has_liaison=Exists(Liaison.objects.filter(
        region=OuterRef("region"), department=OuterRef("department"))))


# ---- Reviewing one county: comparison with its previous period, figures that jumped, comments ----------------


# DHIS2-style min–max checks between an employer's record and its previous one: a count that
# grew or shrank by this factor or more, and coverage rates that went from none to all or back.
JUMP_FACTOR = 3
JUMP_FIELDS = [("total_workers", _("职工总人数")), ("exposed_workers", _("接尘人数")), ("exam_due", _("应检人数"))]
RATE_PAIRS = [("exam_done", "exam_due", _("在岗体检率")), ("surveillance_files", "exposed_workers", _("监护档案建档率")),
              ("workers_trained", "workers_training_due", _("劳动者培训率")),
              ("insured_workers", "total_workers", _("工伤保险参保率"))]
OUTLIERS_SHOWN = 200

_OUTLIER_SQL = """
SELECT r.id, e.id, e.name, {columns}
FROM ledger_employerrecord r
JOIN ledger_employer e ON e.id = r.employer_id
JOIN ledger_employerrecord p ON p.employer_id = r.employer_id AND p.period_id = %s
WHERE r.period_id = %s AND r.county_id = %s AND ({conditions})
ORDER BY e.name, r.id
LIMIT {limit}
"""


@dataclass
class Outlier:
    record_id: int
    employer_id: int
    employer_name: str
    reasons: list[str]


@dataclass
class CountyReview:
    submission: CountySubmission
    previous: ReportingPeriod | None
    indicators: list[dict]  # name, previous rate, rate, change (points)
    outliers: list[Outlier]
    comments: int


def _jump_sql() -> tuple[str, str]:
    columns, conditions = [], []
    for name, _label in JUMP_FIELDS:
        columns += [f"r.{name}", f"p.{name}"]
        conditions.append(f"(p.{name} > 0 AND (r.{name} >= {JUMP_FACTOR} * p.{name} "
                          f"OR {JUMP_FACTOR} * r.{name} <= p.{name}))")
    columns += ["r.exam_done", "p.exam_due"]
    conditions.append("(p.exam_due > 0 AND r.exam_done > p.exam_due * 2)")
    for numerator, denominator, _label in RATE_PAIRS:
        columns += [f"r.{numerator}", f"r.{denominator}", f"p.{numerator}", f"p.{denominator}"]
        conditions.append(f"(r.{denominator} > 0 AND p.{denominator} > 0 AND ("
                          f"(p.{numerator} = 0 AND r.{numerator} = r.{denominator}) OR "
                          f"(p.{numerator} = p.{denominator} AND r.{numerator} = 0)))")
    return ", ".join(columns), " OR ".join(conditions)


def _reasons(values: list) -> list[str]:
    reasons, i = [], 0
    for _field, label in JUMP_FIELDS:
        now, before = values[i], values[i + 1]
        i += 2
        if before and (now >= JUMP_FACTOR * before or JUMP_FACTOR * now <= before):
            reasons.append(_("%(label)s %(before)s → %(now)s") % {"label": label, "before": before, "now": now})
    done, due_before = values[i], values[i + 1]
    i += 2
    if due_before and done > due_before * 2:
        reasons.append(_("实检人数 %(done)s，超过上期应检人数 %(due)s 的两倍") % {"done": done, "due": due_before})
    for _n, _d, label in RATE_PAIRS:
        num, den, pnum, pden = values[i:i + 4]
        i += 4
        if den and pden and ((pnum == 0 and num == den) or (pnum == pden and num == 0)):
            reasons.append(_("%(label)s %(before)s%% → %(now)s%%") % {
                "label": label, "before": round(100 * pnum / pden), "now": round(100 * num / den)})
    return reasons


def county_review(*, actor, submission_pk: int) -> CountyReview:
    """What a reviewer reads before deciding on a county: each indicator against the county's
    previous period, the employers whose figures jumped, and how many comments are open.
    Raises CountySubmission.DoesNotExist outside the reviewer's scope."""
    from ledger.models import EmployerRecord as Record
    from worklist.models import RecordComment

    submission = scope_for(actor, C.LEDGER_REVIEW).filter(
        CountySubmission.objects.select_related("county", "period")).get(pk=submission_pk)
    period = submission.period
    previous = (ReportingPeriod.objects.filter(Q(year__lt=period.year) | Q(year=period.year, half__lt=period.half))
                .filter(pk__in=Record.objects.filter(county=submission.county).values("period_id"))
                .order_by("-year", "-half").first())
    rollups = {r.period_id: r.figures for r in RegionRollup.objects.filter(
        region=submission.county, period__in=[p for p in (period, previous) if p is not None])}
    from targets.indicators import rate

    indicators = []
    for indicator in INDICATORS:
        now = rate(*rollups.get(period.pk, {}).get(indicator.code, [0, 0]))
        before = rate(*rollups.get(previous.pk, {}).get(indicator.code, [0, 0])) if previous else None
        indicators.append({"name": indicator.name, "previous": before, "current": now,
                           "change": None if now is None or before is None else now - before})
    outliers = []
    if previous is not None:
        columns, conditions = _jump_sql()
        with connection.cursor() as cursor:
            cursor.execute(_OUTLIER_SQL.format(columns=columns, conditions=conditions, limit=OUTLIERS_SHOWN),
                           [previous.pk, period.pk, submission.county_id])
            outliers = [Outlier(row[0], row[1], row[2], _reasons(list(row[3:]))) for row in cursor.fetchall()]
    comments = RecordComment.objects.filter(record__period=period, record__county=submission.county,
                                            reply_to__isnull=True, answered_at__isnull=True).count()
    return CountyReview(submission, previous, indicators, outliers, comments)


def record_comments(*, actor, record_pk: int):
    """A record (in the user's ledger scope) and its comments, questions with their answers."""
    from ledger.models import EmployerRecord as Record
    from worklist.models import RecordComment

    record = scope_for(actor, C.LEDGER_VIEW).filter(
        Record.objects.select_related("employer", "period", "county")).get(pk=record_pk)
    comments = list(RecordComment.objects.filter(record=record).select_related("author"))
    answers: dict[int, list] = {}
    for c in comments:
        if c.reply_to_id:
            answers.setdefault(c.reply_to_id, []).append(c)
    threads = [(c, answers.get(c.pk, [])) for c in comments if not c.reply_to_id]
    return record, threads
