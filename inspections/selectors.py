"""Every read of inspection plans, teams, checklists, findings and reports that a view or the API
uses, always through portal.scoping (plus guardian grants for the teams)."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.models import (
    OPEN_FINDING_STATUSES,
    Answer,
    Assignment,
    AssignmentStatus,
    AssignmentUserObjectPermission,
    ChecklistKind,
    ChecklistTemplate,
    ChecklistVersion,
    Finding,
    Inspection,
    InspectionPlan,
    InspectionStatus,
)
from portal.models import Region, User
from portal.scoping import Capability, holders_of, scope_for

C = Capability
FILL_CODENAME = "fill_assignment"
VISIBLE_AFTER = [InspectionStatus.SUBMITTED, InspectionStatus.SIGNED]


def granted_assignment_ids(user, *, in_window: bool = True) -> QuerySet:
    """Assignments the user's team was granted (guardian direct-FK rows), while the plan runs."""
    if not user.is_authenticated:
        return Assignment.objects.none().values("pk")
    today = timezone.localdate()
    rows = AssignmentUserObjectPermission.objects.filter(user=user, permission__codename=FILL_CODENAME)
    if in_window:
        rows = rows.filter(content_object__plan__window_start__lte=today).filter(
            Q(content_object__plan__window_end__gte=today) | Q(content_object__plan__report_deadline__gte=today))
    return rows.values("content_object_id")


def assignment_list(*, actor: User) -> QuerySet[Assignment]:
    """Who sees an assignment:
    - the issuing side's admins (INSPECTION_MANAGE over the plan's region): all of the plan;
    - a team (guardian grant on the assignment): its own assignments while the plan runs;
    - the inspected side (INSPECTION_VIEW over the assignment's region, *below* the issuing
      region): announced assignments, and unannounced ones once submitted (and still after a
      leader's return for correction: the county has seen it and its findings).
    An inspector at the issuing level (a province official on another team) is none of these
    for another team's assignments, so they answer 404."""
    view = scope_for(actor, C.INSPECTION_VIEW)
    manage = scope_for(actor, C.INSPECTION_MANAGE)
    q = Q(pk__in=granted_assignment_ids(actor))
    if manage:
        q |= manage.q_path("plan__region__path")
    if view:
        q |= (view.q_path("region__path") & ~view.q_path("plan__region__path")
              & (Q(kind=ChecklistKind.COMPREHENSIVE) | Q(inspection__submitted_at__isnull=False)))
    # The inspection (a reverse one-to-one) comes along: the tablet's list reads its status.
    return (Assignment.objects.filter(q)
            .select_related("plan", "team", "region", "employer", "checklist_version__template", "inspection")
            .distinct())


def assignment_get(*, actor: User, pk: int) -> Assignment:
    return assignment_list(actor=actor).get(pk=pk)


def may_fill(actor: User, assignment: Assignment) -> bool:
    return assignment_list_granted(actor).filter(pk=assignment.pk).exists()


def assignment_list_granted(actor: User, *, in_window: bool = True) -> QuerySet[Assignment]:
    return Assignment.objects.filter(pk__in=granted_assignment_ids(actor, in_window=in_window)).select_related(
        "plan", "team", "region", "employer", "checklist_version__template")


TASK_STATES = {
    "not_started": _("未开始"), "filling": _("填写中"), "returned": _("已退回修改"),
    "submitted": _("已提交，待组长签字"), "signed": _("组长已签字"), "reassigned": _("已改派"),
}


def task_state(assignment: Assignment) -> str:
    """Where an inspector's task stands, for the task list."""
    if assignment.status == AssignmentStatus.REASSIGNED:
        return "reassigned"
    inspection = assignment.inspection if has_inspection(assignment) else None
    if inspection is None:
        return "not_started"
    if inspection.status == InspectionStatus.SIGNED:
        return "signed"
    if inspection.status == InspectionStatus.SUBMITTED:
        return "submitted"
    if inspection.is_returned:
        return "returned"
    return "filling" if getattr(assignment, "answered", 0) else "not_started"


def task_list(actor: User) -> list[Assignment]:
    """The inspector's own tasks (all plans, in window or not) with how far each has got:
    state, answered items and the checklist's item count."""
    tasks = list(assignment_list_granted(actor, in_window=False).select_related("inspection").annotate(
        answered=Count("inspection__answers", filter=Q(inspection__answers__value__isnull=False), distinct=True),
        items=Count("checklist_version__sections__items", distinct=True)).order_by("-plan__window_start", "pk"))
    for task in tasks:
        task.state = task_state(task)
        task.state_label = TASK_STATES[task.state]
    return tasks


def may_manage_plan(actor: User, plan: InspectionPlan) -> bool:
    return scope_for(actor, C.INSPECTION_MANAGE).contains(plan.region)


def team_candidates(plan: InspectionPlan) -> QuerySet:
    """Whom a plan's team may take (leader, members, liaison): the users who may fill checklists
    (INSPECTION_FILL) through a membership inside the plan's region, never the whole country's.
    Every department whose inspectors hold that capability: the campaign's teams are joint ones
    (seed 004: HRSS, emergency management, medical insurance, mine safety and the trade union lead
    groups whose members come from the health commission)."""
    return holders_of(Capability.INSPECTION_FILL, plan.region).order_by("username")


def plan_list(*, actor: User) -> QuerySet[InspectionPlan]:
    manage = scope_for(actor, C.INSPECTION_MANAGE)
    q = Q(pk__in=assignment_list(actor=actor).values("plan_id"))
    if manage:
        q |= manage.q_path("region__path")
    return InspectionPlan.objects.filter(q).select_related("region").distinct()


def plan_get(*, actor: User, pk: int) -> InspectionPlan:
    return plan_list(actor=actor).get(pk=pk)


def template_list(*, actor: User | None = None) -> QuerySet[ChecklistTemplate]:
    """Templates with the versions the actor may see: the issuing level's, and the own versions
    of regions inside the actor's scope."""
    versions = ChecklistVersion.objects.select_related("region").order_by("-number")
    if actor is not None:
        scope = scope_for(actor, C.INSPECTION_MANAGE)
        versions = versions.filter(Q(region__isnull=True) | scope.q_path("region__path"))
    return ChecklistTemplate.objects.prefetch_related(Prefetch("versions", queryset=versions))


def version_list(*, actor: User) -> QuerySet[ChecklistVersion]:
    """Versions a user may read: the issuing levels', a region's own ones inside their scope, and
    those their team's assignments use."""
    scope = scope_for(actor, C.INSPECTION_VIEW)
    granted = assignment_list_granted(actor, in_window=False).values("checklist_version_id")
    return ChecklistVersion.objects.filter(
        Q(region__isnull=True) | scope.q_path("region__path") | Q(pk__in=granted)).select_related("template")


def default_checklist_version(*, kind: str, plan) -> ChecklistVersion | None:
    """The version a new assignment uses: the latest published own version of the plan's region or
    the nearest region above it, else the issuing level's latest published version."""
    published = ChecklistVersion.objects.filter(template__kind=kind, published=True).select_related("region")
    ancestors = [region for region in published.filter(region__isnull=False).values_list("region__path", flat=True)
                 if plan.region.path.startswith(region)]
    if ancestors:
        nearest = max(ancestors, key=len)
        return published.filter(region__path=nearest).order_by("template__code", "-number").first()
    return published.filter(region__isnull=True).order_by("template__code", "-number").first()


def version_payload(version: ChecklistVersion) -> dict:
    """The checklist as the tablet caches it."""
    return {
        "id": version.pk, "template": version.template.code, "name": version.template.name,
        "number": version.number,
        "sections": [
            {"number": s.number, "title": s.title, "items": [
                {"id": i.pk, "number": i.number, "text": i.text, "answer_type": i.answer_type, "choices": i.choices,
                 "required": i.required, "guidance": i.guidance}
                for i in s.items.order_by("order")]}
            for s in version.sections.order_by("order").prefetch_related("items")
        ],
    }


def answer_payload(answer: Answer) -> dict:
    return {"item": answer.item_id, "value": answer.value, "note": answer.note, "version": answer.version,
            "client_uuid": str(answer.client_uuid), "updated_at": answer.updated_at.isoformat()}


def assignment_payload(assignment: Assignment) -> dict:
    """Everything the tablet needs offline: checklist answers so far and, for an employer, its
    ledger facts of the current period."""
    inspection = getattr(assignment, "inspection", None) if has_inspection(assignment) else None
    data = {
        "id": assignment.pk, "kind": assignment.kind, "target": assignment.target_name,
        "plan": {"id": assignment.plan_id, "name": assignment.plan.name, "status": assignment.plan.status},
        "team": assignment.team.name, "status": assignment.status,
        "checklist_version": assignment.checklist_version_id,
        "inspection": None, "answers": [], "employer": None,
    }
    if inspection is not None:
        data["inspection"] = {"id": inspection.pk, "status": inspection.status, "version": inspection.version_id,
                              "return_reason": return_reason(inspection)}
        data["answers"] = [answer_payload(a) for a in inspection.answers.all()]
    if assignment.employer_id:
        data["employer"] = employer_facts(assignment.employer)
    return data


def return_reason(inspection: Inspection) -> str | None:
    """The leader's reason while the team corrects a returned checklist, else None."""
    return inspection.return_reason if inspection.is_returned else None


def has_inspection(assignment: Assignment) -> bool:
    """Whether the team has started the checklist (the one-to-one inspection exists)."""
    try:
        return assignment.inspection is not None
    except Inspection.DoesNotExist:
        return False


def employer_facts(employer) -> dict:
    from ledger.selectors import current_period

    facts = {"name": employer.name, "uscc": employer.uscc or employer.registration_number,
             "address": employer.workplace_address, "legal_representative": employer.legal_representative,
             "period": None, "record": None}
    period = current_period()
    if period is None:
        return facts
    record = employer.records.filter(period=period).first()
    facts["period"] = str(period)
    if record is not None:
        facts["record"] = {f: getattr(record, f) for f in (
            "total_workers", "exposed_workers", "hazard_declared", "warning_signs", "exam_due", "exam_done",
            "surveillance_files", "principal_trained", "contract_workers", "insured_workers")}
    return facts


def inspection_blank_items(inspection: Inspection) -> list:
    answered = {a.item_id for a in inspection.answers.all() if not a.is_blank}
    return [i for i in inspection.version.items() if i.required and i.pk not in answered]


def inspection_figures(inspection: Inspection) -> dict:
    answers = list(inspection.answers.select_related("item"))
    yes_no = Counter(a.value for a in answers if a.item.answer_type == "yes_no_na")
    return {
        "items": inspection.version.items().count(),
        "answered": sum(1 for a in answers if not a.is_blank),
        "yes": yes_no.get("yes", 0), "no": yes_no.get("no", 0), "na": yes_no.get("na", 0),
        "findings": inspection.findings.count(),
        "findings_by_severity": dict(inspection.findings.values_list("severity").annotate(n=Count("id"))),
    }


def finding_list(*, actor: User, open_only: bool = False, employer=None) -> QuerySet[Finding]:
    view = scope_for(actor, C.INSPECTION_VIEW)
    manage = scope_for(actor, C.INSPECTION_MANAGE)
    q = Q(pk__in=[])
    if view:
        q |= view.q_path("region__path")
    if manage:
        q |= manage.q_path("inspection__assignment__plan__region__path")
    q |= Q(inspection__assignment__in=assignment_list_granted(actor, in_window=False))
    qs = Finding.objects.filter(q).select_related("item", "region", "employer", "inspection__assignment__team")
    if open_only:
        qs = qs.filter(status__in=OPEN_FINDING_STATUSES)
    if employer is not None:
        qs = qs.filter(employer=employer)
    return qs.distinct()


def finding_get(*, actor: User, pk: int) -> Finding:
    return finding_list(actor=actor).get(pk=pk)


def overdue_findings(*, actor: User) -> QuerySet[Finding]:
    return finding_list(actor=actor, open_only=True).filter(deadline__lt=timezone.localdate())


def overdue_by_region(*, actor: User, level: int) -> list[dict]:
    """Overdue findings counted per region at one level (2 city, 3 county)."""
    counts: Counter = Counter()
    for path in overdue_findings(actor=actor).values_list("region__path", flat=True):
        parts = path.strip("/").split("/")  # from the national root (level 0): a level's code is at its index
        if len(parts) > level:
            counts[parts[level]] += 1
    names = dict(Region.objects.filter(code__in=counts).values_list("code", "name"))
    return [{"code": code, "name": names.get(code, code), "count": n} for code, n in sorted(counts.items())]


def plan_report(plan: InspectionPlan) -> dict:
    inspections = Inspection.objects.filter(assignment__plan=plan).select_related(
        "assignment__team", "assignment__region", "assignment__employer")
    rows = [{"inspection": i, "figures": inspection_figures(i)} for i in inspections]
    return {
        "plan": plan, "rows": rows,
        "assignments": plan.assignments.filter(status=AssignmentStatus.ACTIVE).count(),
        "submitted": sum(1 for i in inspections if i.status in VISIBLE_AFTER),
        "signed": sum(1 for i in inspections if i.status == InspectionStatus.SIGNED),
        "findings": Finding.objects.filter(inspection__assignment__plan=plan).count(),
        "open_findings": Finding.objects.filter(inspection__assignment__plan=plan,
                                                status__in=OPEN_FINDING_STATUSES).count(),
    }


def zero_penalty_counties(*, actor: User | None = None, year: int | None = None) -> QuerySet:
    """Counties whose latest submitted comprehensive inspection of the year answered “否” to the
    item keyed `no_zero_penalty` (杜绝零执法零处罚), or reported 0 penalty cases."""
    year = year or timezone.localdate().year
    answers = Answer.objects.filter(
        inspection__status__in=VISIBLE_AFTER, inspection__submitted_at__year=year,
        inspection__assignment__kind=ChecklistKind.COMPREHENSIVE, inspection__assignment__region__level=3,
    ).filter(Q(item__key="no_zero_penalty", value="no") | Q(item__key="penalty_cases", value=0))
    regions = Region.objects.filter(pk__in=answers.values("inspection__assignment__region_id"))
    if actor is not None:
        regions = scope_for(actor, C.INSPECTION_VIEW).filter(regions)
    return regions
