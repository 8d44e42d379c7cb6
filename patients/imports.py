"""The patient list import as a job: small files in the request, larger ones in a Celery task
(the ledger's threshold, PNEUMO_IMPORT_INLINE_MAX_BYTES), with the uploader's rights checked at
run time. The job is claimed by a conditional UPDATE so it never runs twice; whatever happens,
it ends done, invalid (the per-cell report) or failed, with nothing written unless done."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from patients import excel
from patients.models import ImportStatus, PatientImportJob
from portal.metrics import import_ended
from portal.models import Region, User
from portal.scoping import Capability, require_in_scope
from portal.xlsx import WorkbookFileError

log = logging.getLogger(__name__)
MAX_STORED_ERRORS = 5000


def job_create(*, actor: User, county: Region, upload) -> PatientImportJob:
    require_in_scope(actor, Capability.PATIENT_EDIT, county)
    if upload.size > settings.PNEUMO_IMPORT_MAX_BYTES:
        raise ValidationError(_("文件超过 %(mb)s MB，请拆分后分批导入。") % {
            "mb": settings.PNEUMO_IMPORT_MAX_BYTES // (1024 * 1024)})
    job = PatientImportJob(created_by=actor, original_name=upload.name[:255])
    job.set_region(county, None)
    job.file.save(f"{timezone.now():%Y%m%d%H%M%S}.xlsx", upload, save=False)
    job.save()
    if upload.size <= settings.PNEUMO_IMPORT_INLINE_MAX_BYTES:
        job_run(job.pk)
        job.refresh_from_db()
    else:
        from django.db import transaction

        from patients.tasks import run_import

        transaction.on_commit(lambda: run_import.delay(job.pk))
    return job


def _finish(job: PatientImportJob, status: str, **fields) -> None:
    fields.update(status=status, finished_at=timezone.now())
    PatientImportJob.objects.filter(pk=job.pk).update(**fields)
    import_ended("patients", status)
    if job.file:
        job.file.delete(save=False)
        PatientImportJob.objects.filter(pk=job.pk).update(file="")


def job_run(job_id: int) -> None:
    claimed = PatientImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING)
    if not claimed:
        return
    job = PatientImportJob.objects.select_related("county__parent", "created_by").get(pk=job_id)

    def progress(rows: int) -> None:
        PatientImportJob.objects.filter(pk=job.pk).update(rows_done=rows)

    try:
        with job.file.open("rb") as fileobj:
            result = excel.import_patients(actor=job.created_by, county=job.county, fileobj=fileobj,
                                           max_bytes=settings.PNEUMO_IMPORT_MAX_BYTES, progress=progress)
    except (WorkbookFileError, PermissionDenied, ValidationError) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _finish(job, ImportStatus.FAILED, message=message)
        return
    except Exception:
        log.exception("patient import %s failed", job.pk)
        _finish(job, ImportStatus.FAILED, message=_("导入时发生内部错误，未写入任何数据。请稍后重试或联系管理员。"))
        return
    if result.errors:
        _finish(job, ImportStatus.INVALID, errors=result.errors[:MAX_STORED_ERRORS], rows_done=result.rows,
                message=_("共发现 %(n)s 处问题，未写入任何数据。") % {"n": len(result.errors)})
    else:
        _finish(job, ImportStatus.DONE, rows_done=result.rows, rows_created=result.created,
                rows_updated=result.updated)
