"""The official ledger workbook in the browser: template download, upload and import (dry run,
progress, error report, commit) and export. Thin: parse, call a service, render."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ledger import columns as cols
from ledger import excel, imports
from ledger.forms import ImportForm
from ledger.models import ReportingPeriod
from ledger.selectors import county_choices, current_period, reference_lists
from portal import import_views
from portal.params import period_param
from portal.scoping import Capability, forbidden, requires
from portal.views_exports import export_response
from portal.workbook import xlsx_response

# ---- Template ------------------------------------------------------------------------------------


@requires(Capability.LEDGER_VIEW)
@require_GET
def template_download(request):
    """The blank official template; the county's name in the title when the user picks one (or
    has only one) and its townships in the dropdown."""
    counties = county_choices(request.user, Capability.LEDGER_VIEW)
    county = None
    if code := request.GET.get("county", "").strip():
        county = counties.filter(code=code).first()
        if county is None:
            return forbidden(request, _("所选县（市、区）不在您的管辖范围内。"))
    else:
        first_two = list(counties[:2])
        county = first_two[0] if len(first_two) == 1 else None
    period = period_param(ReportingPeriod.objects, request.GET) or current_period()
    reference = reference_lists(county)
    title = cols.title_for(county.name if county else None)
    return xlsx_response(
        lambda stream: excel.write_ledger(stream, region_name=county.name if county else None, period=period,
                                          reference=reference, expected_rows=0),
        f"{title}（模板）.xlsx",
    )


# ---- Import --------------------------------------------------------------------------------------


@requires(Capability.LEDGER_EDIT)
def import_upload(request):
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    return import_views.upload_page(request, imports.LEDGER, "ledger", form, "ledger/import_upload.html")


job_views = import_views.job_views(imports.LEDGER, "ledger", Capability.LEDGER_EDIT)


# ---- Export --------------------------------------------------------------------------------------


@requires(Capability.LEDGER_VIEW)
@require_GET
def export(request):
    """The ledger the user can see (scope, region, period and list filters), in the template's
    layout, written row by row; a large one is written by the worker while the page waits."""
    return export_response(request, "ledger")
