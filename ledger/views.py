"""HTML views of the ledger; thin: parse, call a service or selector, render."""

import datetime

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ledger import selectors, services
from ledger.forms import EmployerForm, ExposureFormSet, PeriodForm, RecordForm, ReturnForm, WorkerForm
from ledger.industries import KeyIndustryGroup
from ledger.models import (
    CountySubmission,
    Employer,
    Industry,
    OperatingStatus,
    ReportingPeriod,
    SubmissionStatus,
    Worker,
)
from ledger.validation import mask_id_number
from portal.forms import call_service
from portal.models import Region, RegionLevel
from portal.pagination import list_page
from portal.params import period_param, scoped_region_param
from portal.scoping import Capability, forbidden, found_or_404, has_capability, requires, scope_for
from portal.selectors import region_breadcrumbs

PAGE_SIZE = 30


@requires(Capability.LEDGER_VIEW)
def employer_list(request):
    region = scoped_region_param(request.scope, "region", request.GET)
    all_periods = list(selectors.periods())
    period = period_param(all_periods, request.GET, default=lambda: selectors.current_period(all_periods))
    in_scope = {"1": True, "0": False}.get(request.GET.get("in_scope", ""))
    filters = selectors.EmployerFilters(
        query=request.GET.get("q", "").strip(), region=region, township=scoped_region_param(request.scope, "township", request.GET),
        key_group=request.GET.get("key_group", ""), status=request.GET.get("status", ""), in_scope=in_scope,
        missing=request.GET.get("missing", ""), period=period, sort=request.GET.get("sort", "name"),
    )
    page = list_page(request, selectors.employer_list(actor=request.user, filters=filters),
                     order=selectors.employer_order(filters), per_page=PAGE_SIZE,
                     total=selectors.employer_list_total(actor=request.user, filters=filters))
    focus = region or (request.scope.top_regions().first() if len(request.scope.regions) == 1 else None)
    children = (Region.objects.filter(parent=focus).order_by("code")
                if focus is not None and focus.level < RegionLevel.TOWNSHIP else Region.objects.none())
    context = {
        "page": page, "filters": filters, "region": region, "period": period, "focus": focus,
        "breadcrumbs": region_breadcrumbs(region) if region else [],
        "children": children, "periods": all_periods,
        "key_groups": KeyIndustryGroup.choices, "statuses": OperatingStatus.choices,
        "missing_choices": selectors.missing_choices(),
        "missing_indicator": selectors.missing_indicator(filters.missing) if period else None,
        "can_edit": has_capability(request.user, Capability.LEDGER_EDIT),
        "export_query": request.GET.urlencode(),
    }
    template = "ledger/_employer_rows.html" if request.htmx else "ledger/employer_list.html"
    return render(request, template, context)


def _employer_or_404(request, pk: int) -> Employer:
    return found_or_404(selectors.employer_get, _("该单位不存在或不在您的管辖范围内。"), actor=request.user, pk=pk)


@requires(Capability.LEDGER_VIEW)
def employer_detail(request, pk: int):
    employer = _employer_or_404(request, pk)
    show_identity = selectors.may_see_identity(request.user, employer.county)
    workers = [
        {"worker": w, "id_number": w.id_number if show_identity else mask_id_number(w.id_number)}
        for w in selectors.worker_list(actor=request.user, employer=employer)
    ]
    history, history_next = selectors.employer_history(employer, cursor=request.GET.get("history", ""))
    return render(request, "ledger/employer_detail.html", {
        "employer": employer, "history_next": history_next, "history_page": bool(request.GET.get("history")),
        "records": selectors.employer_records(employer),
        "workers": workers,
        "history": history,
        "can_edit": scope_for(request.user, Capability.LEDGER_EDIT).contains(employer.county),
        "can_see_findings": has_capability(request.user, Capability.INSPECTION_VIEW),
    })


def _versioned_save(form, extra: dict, service, **kwargs):
    """call_service, plus the conflict of a stale version: the form keeps what the user typed
    and `extra` gets what the other save changed."""
    try:
        return call_service(form, service, **kwargs)
    except services.ConflictError as exc:
        extra.update({"conflict": exc, "conflict_changes": exc.changes})
        form.add_error(None, str(exc))
        return False, None


@requires(Capability.LEDGER_EDIT)
def employer_edit(request, pk: int | None = None):
    employer = None
    if pk is not None:
        employer = _employer_or_404(request, pk)
        if not request.scope.contains(employer.county):
            return forbidden(request, _("该单位不在您的填报范围内。"))
    form = EmployerForm(request.POST or None, instance=employer, actor=request.user)
    extra = {}
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        if employer is None:
            saved, result = call_service(form, services.employer_create, actor=request.user, data=data)
        else:
            saved, result = _versioned_save(form, extra, services.employer_update, actor=request.user,
                                            employer=employer, data=data,
                                            expected_version=form.cleaned_data.get("version"))
        if saved:
            messages.success(request, _("已保存“%(name)s”。") % {"name": result.name})
            return redirect("ledger:employer-detail", pk=result.pk)
    return render(request, "ledger/employer_form.html", {
        "form": form, "employer": employer, "industries": Industry.objects.filter(level=4).only("code", "name"),
        **extra})


@requires(Capability.LEDGER_EDIT)
def record_edit(request, pk: int):
    record = found_or_404(selectors.record_get, _("该记录不存在或不在您的管辖范围内。"), actor=request.user, pk=pk)
    if not request.scope.contains(record.county):
        return forbidden(request, _("该记录不在您的填报范围内。"))
    form = RecordForm(request.POST or None, instance=record)
    initial = [{"dust_type": x.dust_type, "exposed_workers": x.exposed_workers} for x in record.exposures.all()]
    exposures = ExposureFormSet(request.POST or None, initial=initial, prefix="dust")
    extra = {}
    if request.method == "POST" and form.is_valid() and exposures.is_valid():
        by_dust = {}
        for row in exposures.cleaned_data:
            if row.get("dust_type") and row.get("exposed_workers"):
                by_dust[row["dust_type"]] = by_dust.get(row["dust_type"], 0) + row["exposed_workers"]
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        saved, _record = _versioned_save(form, extra, services.record_update, actor=request.user, record=record,
                                         data=data, exposures=by_dust, expected_version=form.cleaned_data["version"])
        if saved:
            messages.success(request, _("已保存 %(period)s 的填报记录。") % {"period": record.period})
            return redirect("ledger:employer-detail", pk=record.employer_id)
    submission = CountySubmission.objects.filter(period=record.period, county=record.county).first()
    return render(request, "ledger/record_form.html", {
        "form": form, "record": record, "exposures": exposures, "submission": submission, **extra})


@requires(Capability.LEDGER_EDIT)
def worker_edit(request, employer_pk: int, pk: int | None = None):
    employer = _employer_or_404(request, employer_pk)
    if not request.scope.contains(employer.county):
        return forbidden(request, _("该单位不在您的填报范围内。"))
    worker = get_object_or_404(Worker, pk=pk, employer=employer) if pk else None
    form = WorkerForm(request.POST or None, instance=worker)
    extra = {}
    if request.method == "POST" and request.POST.get("action") == "delete" and worker is not None:
        services.worker_delete(actor=request.user, worker=worker)
        messages.success(request, _("已从名册中删除。"))
        return redirect(f"{reverse('ledger:employer-detail', args=[employer.pk])}#roster")
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        saved, _worker = _versioned_save(form, extra, services.worker_save, actor=request.user, employer=employer,
                                         data=data, worker=worker, expected_version=form.cleaned_data.get("version"))
        if saved:
            messages.success(request, _("已保存劳动者信息。"))
            return redirect(f"{reverse('ledger:employer-detail', args=[employer.pk])}#roster")
    return render(request, "ledger/worker_form.html", {"form": form, "employer": employer, "worker": worker, **extra})


# ---- Periods, submission, review, completeness ------------------------------------------------


@requires(Capability.LEDGER_VIEW)
def period_overview(request):
    """The county's own ledger status per period (clerks open and submit here), and for
    reviewers the counties under them with approve / return / accept."""
    period = period_param(ReportingPeriod.objects, request.GET, default=selectors.current_period)
    edit_scope = scope_for(request.user, Capability.LEDGER_EDIT)
    review_scope = scope_for(request.user, Capability.LEDGER_REVIEW)
    own_counties = list(edit_scope.filter(Region.objects.filter(level=RegionLevel.COUNTY)).order_by("path")[:50])
    own = []
    if period is not None:
        submissions = {s.county_id: s for s in CountySubmission.objects.filter(period=period, county__in=own_counties)}
        own = [{"county": c, "submission": submissions.get(c.pk)} for c in own_counties]
    to_review = []
    if period is not None and review_scope:
        to_review = [
            s for s in selectors.submission_list(actor=request.user, period=period, capability=Capability.LEDGER_REVIEW)
            .order_by("county__path")
            if review_scope.contains_from_level(s.county, RegionLevel.CITY)
        ]
        for submission in to_review:
            submission.actions = selectors.review_actions(review_scope, submission)
    return render(request, "ledger/periods.html", {
        "period": period, "periods": selectors.periods(), "own": own, "to_review": to_review,
        "return_form": ReturnForm(), "statuses": SubmissionStatus,
        "can_create_period": has_capability(request.user, Capability.PERIODS_MANAGE),
        "deadline_regions": [r for r in review_scope.top_regions() if r.level <= RegionLevel.CITY],
        "period_form": PeriodForm(),
    })


@requires(Capability.PERIODS_MANAGE)
@require_POST
def period_create(request):
    form = PeriodForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("ledger:periods")
    created, period = call_service(request, services.period_create, actor=request.user, **form.cleaned_data)
    if not created:
        return redirect("ledger:periods")
    messages.success(request, _("已设立填报期 %(period)s。") % {"period": period})
    return redirect(f"{reverse('ledger:periods')}?period={period.code}")


def _period_action(request, back_to: ReportingPeriod, message: str, service, **kwargs):
    """Run one action of the periods page (the service checks who may), show its outcome and go
    back to the page of the period."""
    done, _result = call_service(request, service, actor=request.user, **kwargs)
    if done:
        messages.success(request, message)
    return redirect(f"{reverse('ledger:periods')}?period={back_to.code}")


def _posted_period(request) -> ReportingPeriod:
    return get_object_or_404(ReportingPeriod, code=request.POST.get("period"))


def _submission(request, pk: int) -> CountySubmission:
    """A county's submission the user may see (else 404); the services decide who may act on it."""
    return get_object_or_404(request.scope.filter(CountySubmission.objects.select_related("county", "period")), pk=pk)


@requires(Capability.LEDGER_VIEW, write=Capability.LEDGER_VIEW)
@require_POST
def period_deadline(request):
    period = _posted_period(request)
    region = get_object_or_404(Region, code=request.POST.get("region"))
    try:
        deadline = datetime.date.fromisoformat(request.POST.get("deadline", ""))
    except ValueError:
        messages.error(request, _("请填写有效的截止日期（年-月-日）。"))
        return redirect(f"{reverse('ledger:periods')}?period={period.code}")
    return _period_action(
        request, period, _("已为%(region)s下辖县设定报送截止日期 %(deadline)s。") % {"region": region.name, "deadline": deadline},
        services.period_deadline_set, period=period, region=region, deadline=deadline)


@requires(Capability.LEDGER_VIEW, write=Capability.LEDGER_VIEW)
@require_POST
def period_open(request):
    period = _posted_period(request)
    county = get_object_or_404(Region, code=request.POST.get("county"), level=RegionLevel.COUNTY)
    return _period_action(
        request, period, _("已开始 %(county)s %(period)s 的填报，上一期数据已结转。") % {"county": county.name, "period": period},
        services.period_open_county, period=period, county=county)


def _submission_action(request, pk: int, message: str, service, **kwargs):
    """`message` may name the county as %(county)s."""
    submission = _submission(request, pk)
    return _period_action(request, submission.period, message % {"county": submission.county.name}, service,
                          submission=submission, **kwargs)


def _submission_view(message: str, service):
    """The view of one action on a submission that takes nothing but the submission."""

    @requires(Capability.LEDGER_VIEW, write=Capability.LEDGER_VIEW)
    @require_POST
    def view(request, pk: int):
        return _submission_action(request, pk, message, service)

    return view


submission_submit = _submission_view(gettext_lazy("已报送，数据已锁定。"), services.submission_submit)
submission_approve = _submission_view(gettext_lazy("已审核通过%(county)s。"), services.submission_approve)
submission_accept = _submission_view(gettext_lazy("已接收%(county)s。"), services.submission_accept)


@requires(Capability.LEDGER_VIEW, write=Capability.LEDGER_VIEW)
@require_POST
def submission_return(request, pk: int):
    return _submission_action(request, pk, _("已退回%(county)s。"), services.submission_return,
                              reason=request.POST.get("reason", ""))


@requires(Capability.LEDGER_VIEW)
def completeness(request):
    period = period_param(ReportingPeriod.objects, request.GET, default=selectors.current_period)
    region = scoped_region_param(request.scope, "region", request.GET)
    rows = selectors.completeness(actor=request.user, period=period, region=region) if period else []
    totals = {}
    for row in rows:
        totals[row.state] = totals.get(row.state, 0) + 1
    return render(request, "ledger/completeness.html", {
        "period": period, "periods": selectors.periods(), "rows": rows, "totals": totals, "region": region})
