"""Dashboards and targets pages; thin: parse, call a service or selector, render."""


from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ledger.selectors import periods
from portal.forms import call_service
from portal.models import RegionLevel
from portal.params import parse_id, period_param, scoped_region_param
from portal.scoping import Capability, found_or_404, has_capability, requires, scope_for
from portal.views_exports import export_response
from targets import selectors, services
from targets.forms import CampaignForm, ReportedFigureForm, TargetForm
from targets.indicators import CATALOGUE, CATALOGUE_BY_CODE, DASHBOARD_INDICATORS, SOURCE_LABELS, Source


def _dashboard_or_error(request, *, board: bool = True):
    """(the dashboard, None), or (None, the page that says what is missing: a region, a period).
    Without `board`, (the target, None): what the export needs to know before it is written."""
    target = selectors.dashboard_target(request.user, request.GET)
    request.dashboard_context = {"breadcrumbs": target.chain, "periods": target.periods}
    if target.region is None:
        return None, render(request, "targets/choose_region.html",
                            {"regions": selectors.dashboard_regions(request.user)})
    if target.period is None:
        return None, render(request, "targets/dashboard.html", {"region": target.region, "no_period": True})
    if not board:
        return target, None
    return selectors.dashboard(actor=request.user, region=target.region, period=target.period), None


@requires(Capability.DASHBOARD_VIEW)
def dashboard(request):
    board, error = _dashboard_or_error(request)
    if error is not None:
        return error
    return render(request, "targets/dashboard.html", {
        "board": board, "region": board.region, "period": board.period, **request.dashboard_context,
        "indicators": DASHBOARD_INDICATORS,
        "ledger_source": SOURCE_LABELS[Source.LEDGER],
        "child_is_township": board.region.level == RegionLevel.COUNTY,
        "lagging": board.lagging(),
        "trend_json": board.trend,
    })


@requires(Capability.DASHBOARD_VIEW)
def dashboard_export(request):
    """The dashboard's table as a workbook (a large one is written by the worker while the page
    waits); without a region or a period, the page that asks for one."""
    _target, error = _dashboard_or_error(request, board=False)
    return error if error is not None else export_response(request, "dashboard")


@requires(Capability.DASHBOARD_VIEW, write=Capability.TARGETS_EDIT)
def target_list(request):
    posted = request.POST if request.method == "POST" else None
    is_campaign = posted is not None and posted.get("form") == "campaign"
    form = TargetForm(None if is_campaign else posted, actor=request.user)
    campaign_form = CampaignForm(posted if is_campaign else None, actor=request.user)
    if is_campaign and campaign_form.is_valid():
        created, campaign = call_service(campaign_form, services.campaign_create, actor=request.user,
                                         **campaign_form.cleaned_data)
        if created:
            messages.success(request, _("已新增实施方案“%(name)s”。") % {"name": campaign})
            return redirect("targets:targets")
    if posted is not None and not is_campaign and form.is_valid():
        saved, _target = call_service(form, services.target_set, actor=request.user, **form.cleaned_data)
        if saved:
            messages.success(request, _("已保存目标。"))
            return redirect("targets:targets")
    # The plans that bind the asked region (or the user's first one): readable at every level.
    view_scope = scope_for(request.user, Capability.DASHBOARD_VIEW)
    focus = (scoped_region_param(view_scope, "region", request.GET)
             or selectors.dashboard_regions(request.user).first())
    return render(request, "targets/targets.html", {
        "focus": focus,
        "binding": selectors.binding_plans(region=focus) if focus else [],
        "targets": selectors.target_list(actor=request.user),
        "campaigns": selectors.campaign_list(actor=request.user),
        "form": form,
        "campaign_form": campaign_form,
        "can_edit": has_capability(request.user, Capability.TARGETS_EDIT),
        "edit_scope": scope_for(request.user, Capability.TARGETS_EDIT),
    })


@requires(Capability.DASHBOARD_VIEW)
def zero_penalty(request):
    """The "no zero-penalty" rule (杜绝零执法零处罚): counties under the region whose inspection
    this year found no enforcement with penalty. Loaded after the dashboard (htmx), so the
    dashboard itself keeps its fixed number of queries."""
    from inspections.selectors import zero_penalty_counties

    region = scoped_region_param(request.scope, "region", request.GET)
    if region is None:
        raise Http404(_("该区划不存在或不在您的管辖范围内。"))
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = None
    counties = zero_penalty_counties(year=year).filter(path__startswith=region.path).order_by("code")
    return render(request, "targets/_zero_penalty.html", {"counties": counties, "year": year})


def _period_from(request):
    all_periods = list(periods())
    return all_periods, period_param(all_periods, request.POST, request.GET,
                                     default=lambda: selectors.default_period(all_periods))


def _figure_or_404(request, pk: int | None):
    return found_or_404(selectors.reported_figure_get, _("找不到该报送指标，或不在您的管辖范围内。"),
                        actor=request.user, pk=pk)


@requires(Capability.DASHBOARD_VIEW, write=Capability.FIGURES_REPORT)
def reported_figures(request):
    """Figures the ledger does not hold: entered with evidence, submitted, reviewed above."""
    all_periods, period = _period_from(request)
    can_report = has_capability(request.user, Capability.FIGURES_REPORT)
    form = ReportedFigureForm(request.POST or None, request.FILES or None, actor=request.user)
    if request.method == "POST" and period is not None:
        action = request.POST.get("action", "save")
        if action == "submit":
            figure = _figure_or_404(request, parse_id(request.POST.get("figure")))
            submitted, _figure = call_service(request, services.reported_figure_submit, actor=request.user,
                                              figure=figure)
            if submitted:
                messages.success(request, _("已报送，等待上级审核。"))
            return redirect(f"{reverse('targets:reported')}?period={period.code}")
        if form.is_valid():
            saved, _figure = call_service(form, services.reported_figure_save, actor=request.user, period=period,
                                          **form.cleaned_data)
            if saved:
                messages.success(request, _("已保存，请核对后报送。"))
                return redirect(f"{reverse('targets:reported')}?period={period.code}")
    review_scope = scope_for(request.user, Capability.FIGURES_REVIEW)
    figures = list(selectors.reported_figure_list(actor=request.user, period=period)) if period else []
    for figure in figures:
        figure.can_review = (figure.status == figure.Status.SUBMITTED
                             and review_scope.contains_from_level(figure.region, figure.region.level - 1))
        figure.entry = CATALOGUE_BY_CODE[figure.indicator]
    return render(request, "targets/reported.html", {
        "periods": all_periods, "period": period, "figures": figures, "form": form, "can_report": can_report,
        "entries": [e for e in CATALOGUE if e.source != Source.LEDGER],
    })


@requires(Capability.FIGURES_REVIEW)
def reported_figure_review(request, pk: int):
    if request.method != "POST":
        return redirect("targets:reported")
    figure = _figure_or_404(request, pk)
    reviewed, _figure = call_service(request, services.reported_figure_review, actor=request.user, figure=figure,
                                     approve=request.POST.get("action") == "approve",
                                     reason=request.POST.get("reason", ""))
    if reviewed:
        messages.success(request, _("已审核。"))
    return redirect(f"{reverse('targets:reported')}?period={figure.period.code}")


@requires(Capability.DASHBOARD_VIEW)
def reported_figure_evidence(request, pk: int):
    figure = _figure_or_404(request, pk)
    return FileResponse(figure.evidence.open("rb"), as_attachment=True,
                        filename=figure.evidence.name.rsplit("/", 1)[-1])
