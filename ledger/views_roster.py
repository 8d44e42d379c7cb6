"""The worker roster workbook in the browser: template, import (all or nothing, with the per-cell
report) and export of an employer's or a county's workers. Thin: parse, call, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _

from ledger import roster
from ledger.models import Employer
from portal.models import Region, RegionLevel
from portal.scoping import Capability, requires, scope_for
from portal.views_exports import export_response
from portal.workbook import write_error_report, xlsx_response
from portal.xlsx import WorkbookFileError


def _employer(request, capability) -> Employer | None:
    return roster.roster_employer(request.user, capability, request.GET.get("employer", ""))


def _county(request, capability) -> Region | None:
    code = (request.GET.get("county") or request.POST.get("county") or "").strip()
    return roster.roster_county(request.user, capability, code)


@requires(Capability.LEDGER_EDIT)
def template(request):
    employer = _employer(request, Capability.LEDGER_EDIT)
    return xlsx_response(lambda s: roster.write_roster(s, title=_("接尘劳动者名册"),
                                                       rows=roster.template_rows(employer)), "roster-template.xlsx")


@requires(Capability.LEDGER_VIEW)
def export(request):
    """One employer's workers (?employer=) or one county's (?county=); masked unless the role needs IDs.
    A large roster is written by the worker while the page waits."""
    return export_response(request, "roster")


@requires(Capability.LEDGER_EDIT, write=Capability.LEDGER_EDIT)
def upload(request):
    counties = list(scope_for(request.user, Capability.LEDGER_EDIT).filter(
        Region.objects.filter(level=RegionLevel.COUNTY)).order_by("path")[:200])
    result, error = None, None
    if request.method == "POST":
        county = _county(request, Capability.LEDGER_EDIT)
        upload = request.FILES.get("file")
        if county is None:
            error = _("请选择您管辖范围内的县（市、区）。")
        elif upload is None:
            error = _("请选择要导入的名册文件。")
        elif upload.size > roster.MAX_BYTES:
            error = _("文件过大（上限 %(m)s MB）。") % {"m": roster.MAX_BYTES // (1024 * 1024)}
        else:
            try:
                result = roster.import_roster(actor=request.user, county=county, fileobj=upload)
            except (WorkbookFileError, ValidationError, PermissionDenied) as exc:
                error = " ".join(getattr(exc, "messages", [str(exc)]))
        if result is not None and not result.errors:
            messages.success(request, _("名册导入完成：新增 %(c)s 人，更新 %(u)s 人。") % {
                "c": result.created, "u": result.updated})
        if result is not None and result.errors and request.POST.get("report") == "xlsx":
            return xlsx_response(lambda s: write_error_report(s, result.errors), "roster-errors.xlsx")
    return render(request, "ledger/roster_import.html", {"counties": counties, "result": result, "error": error})
