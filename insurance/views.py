"""HTML views and htmx partials for work-injury insurance coverage on the HRSS side; thin:
parse, call a service or selector, render."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from insurance import excel, selectors, services
from insurance.exports import work_list_query
from insurance.forms import CoverageForm, FollowUpForm, HandoverForm, ImportForm, PlanForm, TrainingForm
from insurance.models import CoverageImportJob, FollowUpAction
from ledger.industries import KeyIndustryGroup
from ledger.models import Employer, ReportingPeriod
from ledger.selectors import current_period
from portal.forms import REGISTERED_ELSEWHERE, call_service
from portal.importing import megabytes
from portal.models import Department, Region
from portal.params import period_param, scoped_region_param
from portal.scoping import Capability, found_or_404, has_capability, requires
from portal.views_exports import export_response
from portal.workbook import xlsx_response
from worklist.selectors import liaisons_of
from worklist.services import handover_viewed

C = Capability
PAGE_SIZE = 30


def _period(request) -> ReportingPeriod | None:
    return period_param(ReportingPeriod.objects, request.GET, default=current_period)


def _region(request) -> Region | None:
    return scoped_region_param(request.scope, "region", request.GET)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _common(request, period=None, region=None) -> dict:
    return {"period": period, "periods": ReportingPeriod.objects.order_by("-year", "-half"), "region": region,
            "can_edit": has_capability(request.user, C.INSURANCE_EDIT)}


# ---- 1. Hand-over --------------------------------------------------------------------------------------


@requires(C.INSURANCE_VIEW)
def index(request):
    """The ledgers the county health bureaus have shared, newest first."""
    can_hand_over = has_capability(request.user, C.LEDGER_EDIT)
    return render(request, "insurance/index.html", {
        "page": _page(request, selectors.handover_list(actor=request.user)),
        "handover_form": HandoverForm(actor=request.user) if can_hand_over else None,
    })


@requires(C.LEDGER_EDIT)
@require_POST
def handover_create(request):
    form = HandoverForm(request.POST, actor=request.user)
    if not form.is_valid():
        messages.error(request, _("请选择县（市、区）和填报期。"))
        return redirect("insurance:index")
    handed_over, _handover = call_service(request, services.ledger_handover, actor=request.user, **form.cleaned_data)
    if handed_over:
        messages.success(request, _("已将%(county)s %(period)s 台帐移交同级人力资源社会保障部门。") % {
            "county": form.cleaned_data["county"].name, "period": form.cleaned_data["period"]})
    return redirect("insurance:index")


def _handover_or_404(request, pk):
    return found_or_404(selectors.handover_get, _("该移交记录不存在或不在您的管辖范围内。"), actor=request.user, pk=pk)


@requires(C.INSURANCE_VIEW)
def handover_detail(request, pk: int):
    handover = _handover_or_404(request, pk)
    handover_viewed(actor=request.user, handover=handover)
    return render(request, "insurance/handover_detail.html", {
        "liaison_region": handover.county,
        "liaisons": liaisons_of([handover.county], [Department.HEALTH, Department.HRSS]),
        "handover": handover, "page": _page(request, selectors.handover_records(handover)),
        "diff": selectors.handover_diff(handover),
    })


@requires(C.INSURANCE_VIEW)
def handover_roster(request, pk: int, employer_pk: int):
    handover = _handover_or_404(request, pk)
    employer, workers = found_or_404(selectors.handover_roster, _("该单位不在此次移交的台帐中。"),
                                     actor=request.user, handover=handover, employer_pk=employer_pk)
    return render(request, "insurance/handover_roster.html",
                  {"handover": handover, "employer": employer, "workers": workers})


# ---- 2. Coverage -----------------------------------------------------------------------------------------


@requires(C.INSURANCE_VIEW, write=C.INSURANCE_EDIT)
def coverage(request):
    period, region = _period(request), _region(request)
    form = CoverageForm(request.POST or None, initial={"period": period})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        employer = Employer.objects.select_related("county").filter(uscc=data["uscc"].strip().upper()).first()
        if employer is None:
            form.add_error("uscc", _("台帐中没有该统一社会信用代码的单位。"))
        elif not request.scope.contains(employer.county):
            form.add_error("uscc", REGISTERED_ELSEWHERE)
        else:
            saved, _coverage = call_service(form, services.coverage_save, actor=request.user, employer=employer,
                                            period=data["period"], insured_workers=data["insured_workers"],
                                            as_of=data["as_of"])
            if saved:
                messages.success(request, _("已保存“%(name)s”的参保人数。") % {"name": employer.name})
                return redirect(f"{reverse('insurance:coverage')}?period={data['period'].code}")
    query = request.GET.get("q", "").strip()
    rows = selectors.coverage_list(actor=request.user, period=period, region=region, query=query) if period else []
    return render(request, "insurance/coverage.html", {
        **_common(request, period, region), "page": _page(request, rows), "form": form, "query": query})


@requires(C.INSURANCE_VIEW, write=C.INSURANCE_EDIT)
def coverage_import(request):
    """A small export is imported in the request; a large one is stored and imported by a
    Celery task while the job page shows its progress."""
    form = ImportForm(request.POST or None, request.FILES or None, actor=request.user)
    errors, result = None, None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload, persons = data["file"], data.get("persons_file")
        try:
            if not services.import_runs_inline(upload, persons):
                job = services.coverage_import_enqueue(actor=request.user, region=data["region"],
                                                       period=data["period"], upload=upload, persons_upload=persons)
                return redirect("insurance:import-job", pk=job.pk)
            files = [(upload.name, upload)] + ([(persons.name, persons)] if persons else [])
            result = services.coverage_import(actor=request.user, region=data["region"], period=data["period"],
                                              files=files, original_name=upload.name)
        except services.ImportRejected as exc:
            errors = services.report_errors(exc.errors)
            form.add_error(None, str(exc))
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("导入完成：%(n)s 行，匹配台帐单位 %(m)s 家，未匹配 %(u)s 家。") % {
                "n": result.rows_total, "m": result.rows_matched, "u": len(result.unmatched)})
    can_import = has_capability(request.user, C.INSURANCE_EDIT)
    return render(request, "insurance/import.html", {
        "form": form, "errors": errors, "result": result,
        "max_mb": megabytes(services.import_max_bytes()),
        "imports": selectors.import_list(actor=request.user)[:20],
        "jobs": selectors.import_job_list(actor=request.user)[:5] if can_import else []})


def _import_job_or_404(request, pk: int) -> CoverageImportJob:
    return found_or_404(selectors.import_job_get, _("找不到该导入记录，或它不在您的管辖范围内。"), actor=request.user, pk=pk)


@requires(C.INSURANCE_EDIT)
@require_GET
def import_job(request, pk: int):
    return render(request, "insurance/import_job.html", {"job": _import_job_or_404(request, pk)})


@requires(C.INSURANCE_EDIT)
@require_GET
def import_job_status(request, pk: int):
    """The htmx partial polled every second while the job runs."""
    return render(request, "insurance/_import_job_status.html", {"job": _import_job_or_404(request, pk)})


@requires(C.INSURANCE_VIEW)
def import_template(request):
    return xlsx_response(lambda stream: excel.write_coverage_workbook(stream, [], persons=[]), "参保数据模板.xlsx")


# ---- 3. Reconciliation ------------------------------------------------------------------------------------


@requires(C.INSURANCE_VIEW)
def reconciliation(request):
    period, region = _period(request), _region(request)
    tab = request.GET.get("tab", "differences")
    if period is None:
        rows = []
    elif tab == "missing":
        rows = selectors.records_without_coverage(actor=request.user, period=period, region=region)
    elif tab == "unmatched":
        latest = selectors.import_list(actor=request.user).filter(period=period).first()
        rows = latest.unmatched if latest else []
    else:
        tab = "differences"
        rows = selectors.reconciliation(actor=request.user, period=period, region=region)
    return render(request, "insurance/reconciliation.html", {
        **_common(request, period, region), "tab": tab, "page": _page(request, rows)})


# ---- 4. Work list and follow-ups ---------------------------------------------------------------------------


@requires(C.INSURANCE_VIEW)
def work_list(request):
    period, region, filters, rows = work_list_query(request.user, request.GET)
    return render(request, "insurance/work_list.html", {
        **_common(request, period, region), "filters": filters, "page": _page(request, rows or []),
        "key_groups": KeyIndustryGroup.choices, "actions": dict(FollowUpAction.choices),
        "export_query": request.GET.urlencode()})


@requires(C.INSURANCE_VIEW)
def work_list_export(request):
    """The work list as a workbook; a large one is written by the worker while the page waits."""
    return export_response(request, "work-list")


@requires(C.INSURANCE_VIEW, write=C.INSURANCE_EDIT)
def follow_ups(request, employer_pk: int):
    employer = found_or_404(selectors.employer_in_scope, _("该单位不存在或不在您的管辖范围内。"), actor=request.user, pk=employer_pk)
    period = _period(request)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and period is not None:
        saved, _follow_up = call_service(form, services.follow_up_create, actor=request.user, employer=employer,
                                         period=period, **{**form.cleaned_data,
                                                           "enrolled": form.cleaned_data.get("enrolled") or 0})
        if saved:
            messages.success(request, _("已记录跟进情况。"))
            return redirect(f"{reverse('insurance:follow-ups', args=[employer.pk])}?period={period.code}")
    return render(request, "insurance/follow_ups.html", {
        **_common(request, period), "employer": employer, "form": form,
        "can_edit": services.can_edit(request.user, employer.county),
        "page": _page(request, selectors.follow_up_list(actor=request.user, employer=employer, period=period))})


# ---- 5. Plans ------------------------------------------------------------------------------------------------


@requires(C.INSURANCE_VIEW, write=C.INSURANCE_EDIT)
def plans(request):
    form = PlanForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved, plan = call_service(form, services.plan_save, actor=request.user, region=data["region"],
                                   title=data["title"], start_year=data["start_year"], targets=form.targets())
        if saved:
            messages.success(request, _("已保存“%(title)s”。") % {"title": plan.title})
            return redirect("insurance:plan-detail", pk=plan.pk)
    return render(request, "insurance/plans.html", {
        **_common(request), "form": form, "page": _page(request, selectors.plan_list(actor=request.user))})


@requires(C.INSURANCE_VIEW)
def plan_detail(request, pk: int):
    plan = found_or_404(selectors.plan_list(actor=request.user).get, _("该计划不存在或不在您的管辖范围内。"), pk=pk)
    return render(request, "insurance/plan_detail.html",
                  {"plan": plan, "rows": selectors.plan_progress(actor=request.user, plan=plan)})


# ---- 6. Training ---------------------------------------------------------------------------------------------


@requires(C.INSURANCE_VIEW, write=C.INSURANCE_EDIT)
def training(request):
    form = TrainingForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        usccs = form.uscc_list()
        # Only the user's scope is searched; a code held elsewhere is said to be registered elsewhere,
        # without naming the employer or its region.
        employers = list(request.scope.filter(Employer.objects.filter(uscc__in=usccs)))
        missing = sorted(set(usccs) - {e.uscc for e in employers})
        elsewhere = set(Employer.objects.filter(uscc__in=missing).values_list("uscc", flat=True)) if missing else set()
        if missing:
            unknown = [code for code in missing if code not in elsewhere]
            parts = [_("台帐中没有这些统一社会信用代码：%(codes)s") % {"codes": "、".join(unknown)}] if unknown else []
            if elsewhere:
                parts.append(_("%(codes)s：已在其他地区登记。") % {"codes": "、".join(sorted(elsewhere))})
            form.add_error("employers", "；".join(parts))
        else:
            saved, _event = call_service(form, services.training_create, actor=request.user, region=data["region"],
                                         kind=data["kind"], title=data["title"], held_on=data["held_on"],
                                         participants=data["participants"], employers=employers)
            if saved:
                messages.success(request, _("已记录“%(title)s”。") % {"title": data["title"]})
                return redirect("insurance:training")
    return render(request, "insurance/training.html", {
        **_common(request), "form": form, "summary": selectors.training_summary(actor=request.user),
        "page": _page(request, selectors.training_list(actor=request.user))})
