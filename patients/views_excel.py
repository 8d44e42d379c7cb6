"""The patient list workbook in the browser: template, import (the shared import pages:
portal.import_views) and export. Thin: parse, call a service, render."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from patients import excel, imports
from patients.forms import ImportForm
from portal import import_views
from portal.forms import apply_errors
from portal.importing import max_import_bytes, megabytes
from portal.scoping import Capability, requires
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
            imports.job_validate_start(actor=request.user, job=job)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("patients:import-job", pk=job.pk)
    jobs = imports.PATIENTS.jobs_in_scope(request.user).select_related("county", "created_by")[:10]
    return render(request, "patients/import.html", {"form": form, "recent": jobs,
                                                    "max_mb": megabytes(max_import_bytes())})


@requires(C.PATIENT_EDIT)
@require_GET
def import_job(request, pk: int):
    return import_views.job_page(request, imports.PATIENTS, "patients", pk)


@requires(C.PATIENT_EDIT)
@require_GET
def import_status(request, pk: int):
    return import_views.job_status(request, imports.PATIENTS, "patients", pk)


@requires(C.PATIENT_EDIT)
@require_POST
def import_commit(request, pk: int):
    return import_views.job_commit(request, imports.PATIENTS, "patients", pk)


@requires(C.PATIENT_EDIT)
@require_GET
def import_errors(request, pk: int):
    return import_views.job_errors(request, imports.PATIENTS, pk)
