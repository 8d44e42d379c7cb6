"""The official ledger workbook in the browser: template download, upload and import (dry run,
progress, error report, commit) and export. Thin: parse, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ledger import columns as cols
from ledger import excel, imports
from ledger.forms import ImportForm
from ledger.models import ImportJob, ImportStatus, ReportingPeriod
from ledger.selectors import county_choices, current_period, reference_lists
from portal.forms import apply_errors
from portal.params import period_param
from portal.scoping import Capability, forbidden, requires, scope_for
from portal.views_exports import export_response
from portal.workbook import xlsx_response

ERRORS_PER_PAGE = 100
IN_PROGRESS = {ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.IMPORTING}


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


def _jobs_in_scope(user):
    return scope_for(user, Capability.LEDGER_EDIT).filter(ImportJob.objects)


@requires(Capability.LEDGER_EDIT)
def import_upload(request):
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.import_job_create(actor=request.user, county=form.cleaned_data["county"],
                                            period=form.cleaned_data["period"], upload=form.cleaned_data["file"])
            imports.import_validate_start(actor=request.user, job=job)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("ledger:import-job", pk=job.pk)
    recent = _jobs_in_scope(request.user).select_related("county", "period", "created_by")[:10]
    return render(request, "ledger/import_upload.html", {"form": form, "recent": recent,
                                                         "max_mb": imports.megabytes(imports.max_import_bytes())})


def _job_or_404(request, pk: int) -> ImportJob:
    job = _jobs_in_scope(request.user).select_related("county__parent", "period", "created_by").filter(pk=pk).first()
    if job is None:
        raise Http404(_("找不到该导入记录，或它不在您的管辖范围内。"))
    return job


def _job_context(request, job: ImportJob) -> dict:
    errors = job.errors or []
    page = Paginator(errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "job": job,
        "in_progress": job.status in IN_PROGRESS,
        "errors_page": page,
        "error_count": len(errors),
        "unchanged": max(job.rows_total - job.rows_created - job.rows_updated, 0),
    }


@requires(Capability.LEDGER_EDIT)
@require_GET
def import_job(request, pk: int):
    job = _job_or_404(request, pk)
    return render(request, "ledger/import_job.html", _job_context(request, job))


@requires(Capability.LEDGER_EDIT)
@require_GET
def import_job_status(request, pk: int):
    """The htmx partial polled every second while the job runs."""
    job = _job_or_404(request, pk)
    return render(request, "ledger/_import_job_status.html", _job_context(request, job))


@requires(Capability.LEDGER_EDIT)
@require_POST
def import_job_commit(request, pk: int):
    job = _job_or_404(request, pk)
    try:
        job = imports.import_commit_start(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    else:
        if job.status == ImportStatus.DONE:
            messages.success(request, _("导入完成：新增 %(c)s 个单位，更新 %(u)s 个单位。") % {
                "c": job.rows_created, "u": job.rows_updated})
        elif job.status == ImportStatus.INVALID:
            messages.error(request, _("重新校验时发现问题，未写入任何数据，请查看错误列表。"))
        elif job.status in (ImportStatus.FAILED, ImportStatus.REFUSED, ImportStatus.INTERRUPTED):
            messages.error(request, _("导入失败，未写入任何数据。"))
    return redirect("ledger:import-job", pk=job.pk)


@requires(Capability.LEDGER_EDIT)
@require_GET
def import_job_errors(request, pk: int):
    """The error report as a workbook: 行号, 列名, 填写内容, 问题, 应填写."""
    job = _job_or_404(request, pk)
    stem = job.original_name.rsplit(".", 1)[0] or "台帐"
    return xlsx_response(lambda stream: excel.write_error_report(stream, job.errors or []),
                          f"{stem}-错误报告.xlsx")


# ---- Export --------------------------------------------------------------------------------------


@requires(Capability.LEDGER_VIEW)
@require_GET
def export(request):
    """The ledger the user can see (scope, region, period and list filters), in the template's
    layout, written row by row; a large one is written by the worker while the page waits."""
    return export_response(request, "ledger")
