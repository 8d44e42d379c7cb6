"""The patient list import, run by the shared import runner (portal.importing), as the ledger's:
upload → dry run with the per-cell report (in the request, or a Celery task for a large file)
→ 确认导入 → every row written in one transaction or none. The upload holds ID numbers, so it is
deleted as soon as the job ends; the report keeps the values as typed and shows ID numbers
masked to whoever may not see them unmasked (PATIENT_IDENTITY)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients import excel, services
from patients.models import PatientImportJob, Stage
from portal.audit import AuditAction, audit
from portal.importing import Importer, Outcome, max_import_bytes
from portal.models import User
from portal.scoping import Capability, scope_for

PREVIEW_ROWS = 20
ID_COLUMN = excel.BY_KEY["id_number"].header


class PatientImporter(Importer):
    kind = "patients"
    model = PatientImportJob
    capability = Capability.PATIENT_EDIT
    stored_name = "patients"
    delete_upload_when_ended = True
    title = gettext_lazy("患者名单导入")
    preview_template = "patients/_import_preview.html"

    def done_message(self, job: PatientImportJob) -> str:
        return _("导入完成：新建 %(c)s 份，更新 %(u)s 份档案。") % {"c": job.rows_created, "u": job.rows_updated}

    def check(self, job: PatientImportJob, *, use_cache: bool) -> Outcome:
        with job.file.open("rb") as fileobj:
            checked = excel.check_patients(actor=job.created_by, county=job.county, fileobj=fileobj,
                                           max_bytes=max_import_bytes(), progress=self.progress(job))
        matched = {number: instance.pk for number, instance, _cleaned in checked.rows if instance is not None}
        preview = [{"row": number, "name": cleaned["name"], "id_number": services.mask_id(cleaned["id_number"]),
                    "township": cleaned["township"].name if cleaned.get("township") else "",
                    "stage": str(Stage(cleaned["stage"]).label) if cleaned.get("stage") else "", "action": "update" if instance is not None else "create"}
                   for number, instance, cleaned in checked.rows[:PREVIEW_ROWS]]
        return Outcome(rows=checked.rows, errors=checked.errors, matched=matched, preview=preview)

    def write(self, actor: User, job: PatientImportJob, outcome: Outcome) -> tuple[int, int]:
        with audit(actor, AuditAction.PATIENT_IMPORT, file=job.original_name, import_job=job.pk,
                   county=job.county.code):
            return excel.write_checked(actor=actor, county=job.county, rows=outcome.rows)

    def report_errors(self, job: PatientImportJob, user: User) -> list[dict]:
        """Values as typed, but an ID number masked unless the user may see it unmasked."""
        errors = job.errors or []
        if scope_for(user, Capability.PATIENT_IDENTITY).contains(job.county):
            return errors
        return [{**e, "value": services.mask_id(e["value"])} if e.get("column") == ID_COLUMN and e.get("value") else e
                for e in errors]


PATIENTS = PatientImporter()
