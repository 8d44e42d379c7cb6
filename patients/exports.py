"""The patient list as a workbook: an export kind of `portal.exports` (written in the request
when small, by the worker when large), with the list page's filters."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients import excel, selectors
from portal.exports import ExportKind, Prepared
from portal.models import User
from portal.params import export_region_param
from portal.scoping import Capability, scope_for


def patients_prepare(actor: User, params) -> Prepared:
    """PermissionDenied for a region outside the actor's scope or one that does not exist (the
    same answer: which codes exist elsewhere is not told, as the ledger's export does),
    ValidationError for a stage that is none."""
    region = export_region_param(scope_for(actor, Capability.PATIENT_VIEW), "region", params)
    if (stage := selectors.stage_filter(params.get("stage", ""))) is None:
        raise ValidationError(_("期别只能是壹期、贰期或叁期"))
    filters = selectors.PatientFilters(
        query=params.get("q", "").strip(), region=region, status=params.get("status", ""),
        category=params.get("category", ""), stage=stage, missing=params.get("missing", ""))
    queryset = selectors.patient_list(actor=actor, filters=filters)
    return Prepared(count=queryset.count(), filename="patients.xlsx",
                    write=lambda stream, progress: excel.export(stream, actor=actor, queryset=queryset,
                                                                progress=progress))


# An unmasked export writes the access log (patients.services.access_log) as it runs.
PATIENTS = ExportKind(name="patients", title=gettext_lazy("导出尘肺病患者名单"), unit=gettext_lazy("人"),
                      capability=Capability.PATIENT_VIEW, prepare=patients_prepare, writes=True)
