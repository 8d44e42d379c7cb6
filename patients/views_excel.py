"""The patient list workbook in the browser: template, import (the shared import pages:
portal.import_views) and export. Thin: parse, call a service, render."""

from django.utils.translation import gettext as _

from patients import excel, imports
from patients.forms import ImportForm
from portal import import_views
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
    return import_views.upload_page(request, imports.PATIENTS, "patients", form, "patients/import.html")


job_views = import_views.job_views(imports.PATIENTS, "patients", C.PATIENT_EDIT)
