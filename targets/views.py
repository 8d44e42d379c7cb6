"""Dashboards and targets pages; thin: parse, call a service or selector, render."""

import io

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ledger.selectors import periods
from portal.forms import call_service
from portal.models import Region, RegionLevel
from portal.scoping import Capability, forbidden, has_capability, requires, scope_for
from portal.selectors import region_with_ancestors
from targets import selectors, services
from targets.excel import dashboard_workbook
from targets.forms import CampaignForm, TargetForm
from targets.indicators import DASHBOARD_INDICATORS, SOURCE_LABELS, Source


def _focus(request) -> list[Region]:
    """The asked region with its ancestors (one query); without one, the user's only region."""
    code = request.GET.get("region", "").strip()
    if not code and len(request.scope.regions) == 1:
        code = request.scope.regions[0].path.rstrip("/").rsplit("/", 1)[-1]
    return region_with_ancestors(code) if code else []


def _dashboard_or_error(request):
    chain = _focus(request)
    region = chain[-1] if chain else None
    # Without a period asked for: the latest one with submitted data under the region.
    all_periods = selectors.dashboard_periods(region) if region is not None else list(periods())
    code = request.GET.get("period", "").strip()
    period = (next((p for p in all_periods if p.code == code), None) if code
              else selectors.default_period(all_periods))
    request.dashboard_context = {"breadcrumbs": chain, "periods": all_periods}
    if region is None:
        return None, render(request, "targets/choose_region.html",
                            {"regions": selectors.dashboard_regions(request.user)})
    if not request.scope.contains(region):
        return None, forbidden(request, _("该区划不在您的管辖范围内。"))
    if period is None:
        return None, render(request, "targets/dashboard.html", {"region": region, "no_period": True})
    return selectors.dashboard(actor=request.user, region=region, period=period), None


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
    board, error = _dashboard_or_error(request)
    if error is not None:
        return error
    buffer = io.BytesIO()
    dashboard_workbook(board).save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"indicators-{board.region.code}-{board.period.code}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    return render(request, "targets/targets.html", {
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

    chain = region_with_ancestors(request.GET.get("region", "").strip())
    if not chain or not request.scope.contains(chain[-1]):
        return forbidden(request, _("该区划不在您的管辖范围内。"))
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = None
    counties = zero_penalty_counties(year=year).filter(path__startswith=chain[-1].path).order_by("code")
    return render(request, "targets/_zero_penalty.html", {"counties": counties, "year": year})
