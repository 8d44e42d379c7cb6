"""HTML views and htmx partials for inspection plans, teams, checklists, findings and reports;
thin: parse, call a service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from inspections import excel, selectors, services
from inspections.forms import (
    AssignmentForm,
    ItemForm,
    NewItemForm,
    PlanForm,
    ReassignForm,
    RectifyForm,
    ReturnForm,
    ReviewForm,
    SignForm,
    TeamForm,
)
from inspections.models import (
    Assignment,
    AssignmentStatus,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistVersion,
    Finding,
    FindingStatus,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    Photo,
    PlanStatus,
)
from portal.errors import ErrorCode
from portal.files import bytes_response, stored_file_response
from portal.forms import apply_errors, call_service, error_text
from portal.params import parse_id
from portal.scoping import Capability, found_or_404, has_capability, public, requires
from portal.workbook import xlsx_response

C = Capability


def _plan(request, pk) -> InspectionPlan:
    return found_or_404(selectors.plan_get, _("检查计划不存在或您无权查看。"), actor=request.user, pk=pk)


def _assignment(request, pk) -> Assignment:
    return found_or_404(selectors.assignment_get, _("检查任务不存在或您无权查看。"), actor=request.user, pk=pk)


def _finding(request, pk) -> Finding:
    return found_or_404(selectors.finding_get, _("检查发现的问题不存在或您无权查看。"), actor=request.user, pk=pk)


def _managed_plan(request, pk) -> InspectionPlan:
    """A plan the user manages. A plan they only see (an assignment in their county) answers 403:
    its teams, the unannounced ones included, are not theirs to list."""
    plan = _plan(request, pk)
    if not selectors.may_manage_plan(request.user, plan):
        raise PermissionDenied(_("只有计划发文单位的管理员可以管理检查组和任务。"))
    return plan


@requires(C.INSPECTION_VIEW)
def index(request):
    mine = selectors.task_list(request.user)
    return render(request, "inspections/index.html", {
        "plans": selectors.plan_list(actor=request.user),
        "mine": mine,
        "can_manage": has_capability(request.user, C.INSPECTION_MANAGE),
    })


def _form_page(request, form, title: str, service, *, done: str, back, arguments=dict, **fixed):
    """A page of one form (inspections/form.html): a valid post calls `service` with the actor,
    `fixed` and `arguments(cleaned_data)`; on success it says `done` and goes to `back(result)`."""
    if request.method == "POST" and form.is_valid():
        ok, result = call_service(form, service, actor=request.user, **fixed, **arguments(form.cleaned_data))
        if ok:
            messages.success(request, done)
            return redirect(*back(result))
    return render(request, "inspections/form.html", {"form": form, "title": title})


@requires(C.INSPECTION_MANAGE)
def plan_create(request):
    return _form_page(request, PlanForm(request.POST or None, actor=request.user), _("新建检查计划"),
                      services.plan_create, done=_("检查计划已创建。"), back=lambda plan: ("inspections:plan", plan.pk))


@requires(C.INSPECTION_VIEW)
def plan_detail(request, pk):
    plan = _plan(request, pk)
    can_manage = selectors.may_manage_plan(request.user, plan)
    visible = selectors.assignment_list(actor=request.user).filter(plan=plan)
    return render(request, "inspections/plan_detail.html", {
        "plan": plan, "can_manage": can_manage, "assignments": visible,
        "teams": plan.teams.select_related("leader", "liaison").prefetch_related("members") if can_manage else [],
        "team_form": TeamForm(plan=plan) if can_manage else None,
        "assignment_form": AssignmentForm(plan=plan) if can_manage else None,
    })


@requires(C.INSPECTION_MANAGE)
def team_create(request, pk):
    plan = _managed_plan(request, pk)
    return _form_page(request, TeamForm(request.POST or None, plan=plan), _("组建检查组"), services.team_create,
                      done=_("检查组已组建。"), back=lambda _team: ("inspections:plan", plan.pk), plan=plan)


@requires(C.INSPECTION_MANAGE)
def assignment_create(request, pk):
    plan = _managed_plan(request, pk)
    return _form_page(request, AssignmentForm(request.POST or None, plan=plan), _("分配检查任务"),
                      services.assignment_create, done=_("检查任务已分配。"),
                      back=lambda _assignment: ("inspections:plan", plan.pk),
                      arguments=lambda d: {"team": d["team"], "kind": d["kind"], "region": d.get("region"),
                                           "employer": d.get("employer")})


@requires(C.INSPECTION_MANAGE)
def assignment_reassign(request, pk):
    """The issuing side moves an active assignment to another team of its plan: the old one stays,
    read-only for its team (who are told it moved)."""
    assignment = get_object_or_404(selectors.assignment_list(actor=request.user).select_related("plan"), pk=pk)
    plan = _managed_plan(request, assignment.plan_id)
    return _form_page(request, ReassignForm(request.POST or None, assignment=assignment),
                      _("改派检查任务：%(target)s") % {"target": assignment.target_name}, services.assignment_reassign,
                      done=_("检查任务已改派。"), back=lambda _new: ("inspections:plan", plan.pk), assignment=assignment)


@requires(C.INSPECTION_MANAGE)
@require_POST
def plan_close(request, pk):
    plan = _plan(request, pk)
    closed, _result = call_service(request, services.plan_close, actor=request.user, plan=plan)
    if closed:
        messages.success(request, _("检查计划已结束。"))
    return redirect("inspections:plan", plan.pk)


@requires(C.INSPECTION_VIEW)
def plan_report(request, pk):
    plan = _plan(request, pk)
    if not selectors.may_manage_plan(request.user, plan):
        raise Http404
    return render(request, "inspections/plan_report.html", selectors.plan_report(plan))


@requires(C.INSPECTION_VIEW)
def plan_report_xlsx(request, pk):
    plan = _plan(request, pk)
    if not selectors.may_manage_plan(request.user, plan):
        raise Http404
    return xlsx_response(excel.plan_workbook(plan), f"inspection-plan-{plan.pk}.xlsx")


# ---- Tablet filling ---------------------------------------------------------------------------


@requires(C.INSPECTION_VIEW)
def assignment_fill(request, pk):
    assignment = _assignment(request, pk)
    inspection = assignment.inspection if selectors.has_inspection(assignment) else None
    writable = (selectors.may_fill(request.user, assignment) and assignment.status == AssignmentStatus.ACTIVE
                and assignment.plan.status == PlanStatus.OPEN)
    if writable and inspection is None:
        inspection = services.inspection_start(actor=request.user, assignment=assignment)
    can_fill = writable
    version = inspection.version if inspection else assignment.checklist_version
    sections = version.sections.prefetch_related("items").order_by("order")
    # After a refused submission (?blank=1), the blank required items are marked in their cards.
    blank = ({i.pk for i in selectors.inspection_blank_items(inspection)}
             if inspection is not None and request.GET.get("blank") else set())
    return render(request, "inspections/fill.html", {
        "assignment": assignment, "inspection": inspection, "version": version, "sections": sections,
        "blank_items": blank,
        "can_fill": can_fill and inspection is not None and inspection.status == InspectionStatus.DRAFT,
        "employer": selectors.employer_facts(assignment.employer) if assignment.employer_id else None,
        "photo_max": getattr(settings, "INSPECTION_PHOTO_MAX_BYTES", services.DEFAULT_PHOTO_MAX),
    })


@requires(C.INSPECTION_VIEW, write=C.INSPECTION_FILL)
@require_POST
def assignment_submit(request, pk):
    assignment = _assignment(request, pk)
    try:
        inspection = services.assignment_submit(actor=request.user, assignment=assignment,
                                                highlights=request.POST.get("highlights", ""),
                                                problems=request.POST.get("problems", ""))
    except (ValidationError, PermissionDenied) as exc:  # not call_service: the page marks the blank items
        messages.error(request, error_text(exc), extra_tags="submit-error")
        blank = isinstance(exc, ValidationError) and getattr(exc, "code", None) == ErrorCode.BLANK_ITEMS
        return redirect(reverse("inspections:fill", args=[assignment.pk]) + ("?blank=1" if blank else ""))
    messages.success(request, _("检查表已提交，请组长审阅签字。"))
    return redirect("inspections:report", inspection.pk)


def _inspection(request, pk) -> Inspection:
    inspection = get_object_or_404(Inspection.objects.select_related("assignment"), pk=pk)
    _assignment(request, inspection.assignment_id)
    return inspection


@requires(C.INSPECTION_VIEW)
def inspection_report(request, pk):
    return _render_report(request, _inspection(request, pk))


def _render_report(request, inspection: Inspection, return_form: ReturnForm | None = None):
    answers = {a.item_id: a for a in inspection.answers.all()}
    photos = {}
    for photo in inspection.photos.all():
        photos.setdefault(str(photo.client_uuid), photo)
    rows = []
    for item in inspection.version.items():
        answer = answers.get(item.pk)
        rows.append({"item": item, "answer": answer,
                     "photos": [photos[v] for v in (answer.value or []) if v in photos]
                     if answer and item.answer_type == "photo" else []})
    is_leader = inspection.assignment.team.leader_id == request.user.pk
    form = SignForm(initial={"highlights": inspection.highlights, "problems": inspection.problems})
    return render(request, "inspections/report.html", {
        "inspection": inspection, "assignment": inspection.assignment, "rows": rows,
        "figures": selectors.inspection_figures(inspection), "findings": inspection.findings.select_related("item"),
        "can_sign": is_leader and inspection.status == InspectionStatus.SUBMITTED, "form": form,
        "return_form": return_form or ReturnForm(),
    })


@requires(C.INSPECTION_VIEW, write=C.INSPECTION_FILL)
@require_POST
def inspection_sign(request, pk):
    inspection = _inspection(request, pk)
    form = SignForm(request.POST)
    form.is_valid()
    signed, _result = call_service(request, services.inspection_sign, actor=request.user, inspection=inspection,
                                        signature=form.cleaned_data.get("signature", ""),
                                        highlights=form.cleaned_data.get("highlights", ""),
                                        problems=form.cleaned_data.get("problems", ""))
    if signed:
        messages.success(request, _("组长已签字，检查报告已锁定。"))
    return redirect("inspections:report", inspection.pk)


@requires(C.INSPECTION_VIEW, write=C.INSPECTION_FILL)
@require_POST
def inspection_return(request, pk):
    """A non-leader's PermissionDenied is left to answer 403."""
    inspection = _inspection(request, pk)
    form = ReturnForm(request.POST)
    form.is_valid()
    try:
        services.inspection_return(actor=request.user, inspection=inspection, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        apply_errors(form, exc)
        inspection.refresh_from_db()
        return _render_report(request, inspection, return_form=form)
    messages.success(request, _("检查表已退回检查组修改。"))
    return redirect("inspections:report", inspection.pk)


@requires(C.INSPECTION_VIEW)
def inspection_xlsx(request, pk):
    inspection = _inspection(request, pk)
    return xlsx_response(excel.inspection_workbook(inspection), f"inspection-{inspection.pk}.xlsx")


# ---- Stored files, each through its owner's scope ----------------------------------------------


@requires(C.INSPECTION_VIEW)
def photo(request, client_uuid):
    """A checklist photo: whoever may read the inspection (the team, the issuing office, the
    inspected region once an unannounced visit is submitted) may see its photos."""
    photo = get_object_or_404(Photo.objects.only("pk", "inspection_id", "file", "extension"), client_uuid=client_uuid)
    _inspection(request, photo.inspection_id)
    return stored_file_response(photo.file.name)


@requires(C.INSPECTION_VIEW)
def signature(request, pk):
    inspection = _inspection(request, pk)
    if not inspection.signature:
        raise Http404
    try:
        data = services.decode_signature(inspection.signature)
    except ValidationError:
        raise Http404 from None
    return bytes_response(data, content_type="image/png", filename=f"signature-{inspection.pk}.png")


@requires(C.INSPECTION_VIEW)
def evidence(request, pk, evidence_pk):
    """Rectification evidence: as visible as its finding."""
    finding = _finding(request, pk)
    item = get_object_or_404(finding.evidence.all(), pk=evidence_pk)
    return stored_file_response(item.file.name)


# ---- PWA -------------------------------------------------------------------------------------


@public
def service_worker(request):
    from django.contrib.staticfiles import finders

    path = finders.find("inspections/sw.js")
    with open(path, encoding="utf-8") as handle:
        response = HttpResponse(handle.read(), content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/inspections/"
    response["Cache-Control"] = "no-cache"
    return response


@public
def manifest(request):
    from django.templatetags.static import static

    return JsonResponse({
        "name": "尘肺病防治监督检查", "short_name": "监督检查", "lang": "zh-CN",
        "start_url": reverse("inspections:index"), "scope": "/inspections/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#0d6efd",
        "icons": [{"src": static("inspections/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                  {"src": static("inspections/icon-512.png"), "sizes": "512x512", "type": "image/png"}],
    }, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})


# ---- Checklists ------------------------------------------------------------------------------


def _visible_version(request, queryset, pk, lookup="region"):
    """A version (or item) of the issuing level, or of a region in the admin's scope; else 404."""
    scope = request.scope
    visible = queryset.filter(Q(**{f"{lookup}__isnull": True}) | scope.q_path(f"{lookup}__path"))
    return get_object_or_404(visible, pk=pk)


@requires(C.INSPECTION_MANAGE)
def checklists(request):
    regions = list(request.scope.top_regions())
    if request.method == "POST":
        template = get_object_or_404(ChecklistTemplate, pk=parse_id(request.POST.get("template")))
        region = None
        if request.POST.get("region"):
            region = get_object_or_404(request.scope.region_queryset(), code=request.POST["region"])
        created, version = call_service(request, services.checklist_version_create, actor=request.user,
                                        template=template, region=region)
        if created:
            return redirect("inspections:checklist-version", version.pk)
    templates = list(selectors.template_list(actor=request.user))
    for template in templates:
        template.issued_here = services.issues_template(request.user, template)
    return render(request, "inspections/checklists.html", {"templates": templates, "regions": regions})


@requires(C.INSPECTION_MANAGE)
def checklist_version(request, pk):
    version = _visible_version(request, ChecklistVersion.objects.select_related("template", "region"), pk)
    new_item_form = NewItemForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST" and request.POST.get("action") == "publish":
        published, _version = call_service(request, services.checklist_version_publish, actor=request.user,
                                           version=version)
        if published:
            messages.success(request, _("检查表版本已发布。"))
            return redirect("inspections:checklists")
    elif request.method == "POST" and request.POST.get("action") == "add" and new_item_form.is_valid():
        d = new_item_form.cleaned_data
        added, _item = call_service(request, services.checklist_item_add, actor=request.user, version=version,
                                    section_number=d["section"], text=d["text"], answer_type=d["answer_type"])
        if added:
            return redirect("inspections:checklist-version", version.pk)
    return render(request, "inspections/checklist_version.html", {
        "version": version, "sections": version.sections.prefetch_related("items").order_by("order"),
        "new_item_form": new_item_form,
    })


@requires(C.INSPECTION_MANAGE)
def checklist_item_edit(request, pk):
    item = _visible_version(request, ChecklistItem.objects.select_related("section__version"), pk,
                            lookup="section__version__region")
    initial = {"text": item.text, "answer_type": item.answer_type, "choices": "、".join(item.choices),
               "required": item.required, "no_is_finding": item.no_is_finding,
               "default_severity": item.default_severity, "guidance": item.guidance}
    return _form_page(request, ItemForm(request.POST or None, initial=initial), _("修改检查项 %(n)s") % {"n": item.number},
                      services.checklist_item_update, done=_("检查项已保存。"),
                      back=lambda _item: ("inspections:checklist-version", item.section.version_id), item=item)


# ---- Findings --------------------------------------------------------------------------------


@requires(C.INSPECTION_VIEW)
def finding_list(request):
    open_only = request.GET.get("open", "1") == "1"
    level = int(request.GET.get("level", "3")) if request.GET.get("level", "3") in ("2", "3") else 3
    return render(request, "inspections/findings.html", {
        "findings": selectors.finding_list(actor=request.user, open_only=open_only),
        "overdue": selectors.overdue_findings(actor=request.user),
        "overdue_by_region": selectors.overdue_by_region(actor=request.user, level=level),
        "level": level, "open_only": open_only,
    })


@requires(C.INSPECTION_VIEW)
def finding_detail(request, pk):
    finding = _finding(request, pk)
    rectify_form = RectifyForm()
    review_form = ReviewForm()
    if request.method == "POST":
        if request.POST.get("action") == "rectify":
            rectify_form = RectifyForm(request.POST, request.FILES)
            if rectify_form.is_valid():
                ok, _f = call_service(rectify_form, services.finding_rectify, actor=request.user, finding=finding,
                                      note=rectify_form.cleaned_data["note"],
                                      upload=rectify_form.cleaned_data.get("file"))
                if ok:
                    messages.success(request, _("整改情况已提交，等待检查组核实。"))
                    return redirect("inspections:finding", finding.pk)
        else:
            review_form = ReviewForm(request.POST)
            if review_form.is_valid():
                ok, _f = call_service(review_form, services.finding_review, actor=request.user, finding=finding,
                                      **review_form.cleaned_data)
                if ok:
                    messages.success(request, _("核实结论已保存。"))
                    return redirect("inspections:finding", finding.pk)
    return render(request, "inspections/finding_detail.html", {
        "finding": finding, "rectify_form": rectify_form, "review_form": review_form,
        "can_rectify": finding.status in (FindingStatus.OPEN, FindingStatus.REOPENED),
        "can_review": finding.status == FindingStatus.RECTIFIED,
    })


@requires(C.INSPECTION_VIEW)
def employer_findings(request, employer_pk):
    """htmx partial for the ledger's employer page. An employer outside the scope is 404."""
    from ledger.models import Employer

    get_object_or_404(request.scope.filter(Employer.objects), pk=employer_pk)
    findings = selectors.finding_list(actor=request.user, open_only=True).filter(employer_id=employer_pk)
    return render(request, "inspections/_employer_findings.html", {"findings": findings})
