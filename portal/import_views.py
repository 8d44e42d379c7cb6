"""The pages of an import, the same for every import (portal.importing): the upload form with the
recent jobs, the job page with its status partial (polled while the job runs), 确认导入, and the
error report workbook. An app builds its job views with `job_views` (its importer, URL namespace
and capability) and its upload view with `upload_page` (its form and template)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.forms import apply_errors
from portal.importing import IN_PROGRESS, Importer, max_import_bytes, megabytes
from portal.jobs import ImportStatus
from portal.scoping import Capability, forbidden, requires
from portal.workbook import write_error_report, xlsx_response

ERRORS_PER_PAGE = 100
RECENT_JOBS = 10


def upload_page(request, importer: Importer, namespace: str, form, template: str):
    """The upload form and the user's recent jobs. A valid upload becomes a job, checked at once
    (a small file) or by a task (a large one), and the user is sent to its page. The form's fields
    besides `file` (the county, the ledger's period) are what the job is created for."""
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        upload = fields.pop("file")
        try:
            job = importer.create(actor=request.user, upload=upload, **fields)
            importer.validate_start(actor=request.user, job=job)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(f"{namespace}:import-job", pk=job.pk)
    recent = importer.jobs_in_scope(request.user).select_related(*importer.related)[:RECENT_JOBS]
    return render(request, template, {"form": form, "recent": recent, "max_mb": megabytes(max_import_bytes())})


def job_or_404(request, importer: Importer, pk: int):
    job = importer.jobs_in_scope(request.user).select_related(*importer.related).filter(pk=pk).first()
    if job is None:
        raise Http404(_("找不到该导入记录，或它不在您的管辖范围内。"))
    return job


def _context(request, importer: Importer, namespace: str, job) -> dict:
    errors = importer.report_errors(job, request.user)
    page = Paginator(errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "job": job,
        "kind": importer.kind,
        "title": importer.title,
        "preview_template": importer.preview_template,
        "upload_url": reverse(f"{namespace}:import"),
        "status_url": reverse(f"{namespace}:import-status", args=[job.pk]),
        "commit_url": reverse(f"{namespace}:import-commit", args=[job.pk]),
        "errors_url": reverse(f"{namespace}:import-errors", args=[job.pk]),
        "in_progress": job.status in IN_PROGRESS,
        "errors_page": page,
        "error_count": len(errors),
        "unchanged": max(job.rows_total - job.rows_created - job.rows_updated, 0),
    }


def job_page(request, pk: int, *, importer: Importer, namespace: str):
    job = job_or_404(request, importer, pk)
    return render(request, "portal/import_job.html", _context(request, importer, namespace, job))


def job_status(request, pk: int, *, importer: Importer, namespace: str):
    """The htmx partial polled every second while the job runs."""
    job = job_or_404(request, importer, pk)
    return render(request, "portal/_import_job_status.html", _context(request, importer, namespace, job))


def job_commit(request, pk: int, *, importer: Importer, namespace: str):
    job = job_or_404(request, importer, pk)
    try:
        job = importer.commit_start(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        return forbidden(request, str(exc))
    else:
        if job.status == ImportStatus.DONE:
            messages.success(request, importer.done_message(job))
        elif job.status == ImportStatus.INVALID:
            messages.error(request, _("重新校验时发现问题，未写入任何数据，请查看错误列表。"))
        elif job.status in (ImportStatus.FAILED, ImportStatus.REFUSED, ImportStatus.INTERRUPTED):
            messages.error(request, _("导入失败，未写入任何数据。"))
    return redirect(f"{namespace}:import-job", pk=job.pk)


def job_errors(request, pk: int, *, importer: Importer, namespace: str):
    """The error report as a workbook: 行号, 列名, 填写内容, 问题, 应填写. (`namespace`: every job
    view takes the same arguments, see `job_views`.)"""
    job = job_or_404(request, importer, pk)
    errors = importer.report_errors(job, request.user)
    stem = job.original_name.rsplit(".", 1)[0] or importer.title
    return xlsx_response(lambda stream: write_error_report(stream, errors), f"{stem}-错误报告.xlsx")


@dataclass(frozen=True)
class JobViews:
    page: Callable
    status: Callable
    commit: Callable
    errors: Callable


def job_views(importer: Importer, namespace: str, capability: Capability) -> JobViews:
    """An app's views of its import jobs (for its URLs `import-job`, `import-status`,
    `import-commit` and `import-errors`), each declaring `capability`."""

    def declared(view, method_check):
        bound = functools.update_wrapper(functools.partial(view, importer=importer, namespace=namespace), view)
        return requires(capability)(method_check(bound))

    return JobViews(page=declared(job_page, require_GET), status=declared(job_status, require_GET),
                    commit=declared(job_commit, require_POST), errors=declared(job_errors, require_GET))
