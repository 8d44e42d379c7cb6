"""The patient list workbook in the browser: template, import (job page with progress and the
per-cell report) and export. Thin: parse, call a service, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from patients import excel, imports
from patients.forms import ImportForm
from patients.models import ImportStatus, PatientImportJob
from portal.forms import apply_errors
from portal.scoping import Capability, forbidden, requires
from portal.views_exports import export_response
from portal.workbook import xlsx_response

C = Capability


@requires(C.PATIENT_EDIT)
def template(request):
    return xlsx_response(lambda s: excel.write_patients(s, title=_("尘肺病患者名单（一人一档）")), "patients-template.xlsx")


@requires(C.PATIENT_VIEW)
def export(request):
    """The list's patients as a workbook; a large one is written by the worker while the page waits."""
    return export_response(request, "patients")


@requires(C.PATIENT_EDIT)
def upload(request):
    form = ImportForm(request.POST or None, request.FILES or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.job_create(actor=request.user, county=form.cleaned_data["county"],
                                     upload=form.cleaned_data["file"])
        except (ValidationError, PermissionDenied) as exc:
            apply_errors(form, exc) if isinstance(exc, ValidationError) else form.add_error(None, str(exc))
        else:
            return redirect("patients:import-job", pk=job.pk)
    jobs = request.scope.filter(PatientImportJob.objects.all()).select_related("county", "created_by")[:10]
    return render(request, "patients/import.html", {"form": form, "jobs": jobs})


def _job(request, pk: int):
    return request.scope.filter(PatientImportJob.objects.all()).select_related("county").filter(pk=pk).first()


@requires(C.PATIENT_EDIT)
def import_job(request, pk: int):
    job = _job(request, pk)
    if job is None:
        return forbidden(request, _("该导入任务不存在或不在您的管辖范围内。"))
    if job.status == ImportStatus.DONE and request.GET.get("notice") != "0":
        messages.success(request, _("导入完成：新建 %(c)s 份，更新 %(u)s 份档案。") % {
            "c": job.rows_created, "u": job.rows_updated})
    page = Paginator(job.errors, 100).get_page(request.GET.get("page"))
    template_name = "patients/_import_status.html" if request.htmx else "patients/import_job.html"
    return render(request, template_name, {"job": job, "page": page,
                                           "running": job.status in (ImportStatus.PENDING, ImportStatus.RUNNING)})


@requires(C.PATIENT_EDIT)
def import_errors(request, pk: int):
    job = _job(request, pk)
    if job is None:
        return forbidden(request, _("该导入任务不存在或不在您的管辖范围内。"))
    return xlsx_response(lambda s: excel.error_report(s, job.errors), f"patients-import-{job.pk}-errors.xlsx")
