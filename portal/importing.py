"""The one import job runner (ledger and patient lists alike): upload → dry run in the request or a
Celery task (every problem of every row, by cell) → the user confirms → the commit re-checks and
writes every row in one transaction or none, in the request or a task, with progress.

An import is an `Importer` subclass that says what its job model is, which capability it needs,
how to check a file (`check`: an `Outcome` with the parsed rows, the per-cell errors and a
preview) and how to write the checked rows (`write`, called inside the commit's transaction).
Everything else is here: claiming a job with one conditional UPDATE (so 确认导入 pressed twice, a
resubmitted page or a redelivered task gets the first run's result), the lease (portal.jobs),
the final status with the import-outcome metric, the upload's lifecycle (a kind whose uploads
hold ID numbers deletes them as soon as the job ends; every upload is purged after the
retention period), closing jobs whose worker died, and the Celery tasks (`celery_tasks`).
"""

from __future__ import annotations

import datetime
import importlib
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.aftercommit import enqueue_after_commit
from portal.errors import ErrorCode
from portal.jobs import ImportJobBase, ImportStatus, close_interrupted, lease
from portal.metrics import import_ended
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, require_in_scope, scope_for
from portal.xlsx import WorkbookFileError

log = logging.getLogger(__name__)

MAX_STORED_ERRORS = 5000
IN_PROGRESS = {ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.IMPORTING}


def max_import_bytes() -> int:
    return settings.PNEUMO_IMPORT_MAX_BYTES


def inline_max_bytes() -> int:
    """Uploads up to this size are checked in the request; larger ones go to a Celery task."""
    return settings.PNEUMO_IMPORT_INLINE_MAX_BYTES


def inline_max_rows() -> int:
    """Commits of up to this many rows run in the request; larger ones go to a Celery task."""
    return settings.PNEUMO_IMPORT_INLINE_MAX_ROWS


def import_file_retention_days() -> int:
    return settings.PNEUMO_IMPORT_FILE_RETENTION_DAYS


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def too_large_message(size: int, limit: int) -> str:
    return _("文件大小为 %(size)s MB，超过 %(limit)s MB 的上限。请删除无关的工作表、图片，或拆分后分批导入。") % {
        "size": megabytes(size), "limit": megabytes(limit)}


# ---- The per-cell report ------------------------------------------------------------------------


def shown(value) -> str:
    """A cell's content as the error report shows it (as typed)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date() if not (value.hour or value.minute or value.second) else value
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


def error(row, column: str, value, problem, expected="") -> dict:
    """One line of the report: 行号, 列名, 填写内容, 问题, 应填写."""
    return {"row": row, "column": column, "value": shown(value), "problem": str(problem), "expected": str(expected)}


def store_errors(errors: list[dict]) -> list[dict]:
    if len(errors) <= MAX_STORED_ERRORS:
        return errors
    extra = len(errors) - MAX_STORED_ERRORS
    return errors[:MAX_STORED_ERRORS] + [error(None, "", "", _(
        "另有 %(n)s 处问题未列出：请先改正以上问题后重新上传") % {"n": extra})]


@dataclass
class Outcome:
    """What a check found: the parsed rows, the problems (none: the file may be written), the
    rows that update an existing object (row number → its id), and why a file was refused."""

    rows: list = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    matched: dict = field(default_factory=dict)
    refused: str | None = None
    preview: list[dict] = field(default_factory=list)


class Refused(Exception):  # noqa: N818 - reads as what happened
    """The whole commit is refused (the data changed since the check…): nothing is written."""


# ---- The runner -------------------------------------------------------------------------------------


class Importer:
    """One kind of import. Subclasses set the class attributes and implement `check` and `write`."""

    kind: str  # the metric's label and the tasks' prefix ("ledger", "patients")
    model: type[ImportJobBase]
    capability: Capability
    noun: str  # what the upload is, for log lines
    stored_name: str  # the stored upload's name prefix
    delete_upload_when_ended = False  # uploads holding ID numbers are deleted as soon as the job ends
    related = ("county__parent", "created_by")
    title = ""  # the pages' title (台帐导入)
    preview_template = ""  # the table of the first rows shown before 确认导入

    def done_message(self, job) -> str:
        """The message after a commit that wrote the file."""
        raise NotImplementedError

    def report_errors(self, job, user: User) -> list[dict]:
        """The per-cell report as this user may read it (values as typed)."""
        return job.errors or []

    # ---- what each import provides

    def check(self, job, *, use_cache: bool) -> Outcome:
        """Read and check every row (raise WorkbookFileError for a file that cannot be read)."""
        raise NotImplementedError

    def write(self, actor: User, job, outcome: Outcome) -> tuple[int, int]:
        """Write the checked rows (inside the commit's transaction); (created, updated)."""
        raise NotImplementedError

    def job_fields(self, *, county: Region, **extra) -> dict:
        city = county.parent
        return {"province_id": city.parent_id, "city": city, "county": county, **extra}

    # ---- reading jobs

    def jobs_in_scope(self, user: User):
        return scope_for(user, self.capability).filter(self.model.objects)

    def get(self, job_id: int):
        return self.model.objects.select_related(*self.related).get(pk=job_id)

    # ---- the job's life

    def create(self, *, actor: User, county: Region, upload, **extra):
        """Store an upload as a pending job (nothing else is touched)."""
        require_in_scope(actor, self.capability, county)
        if county.level != RegionLevel.COUNTY:
            raise ValidationError({"county": _("请选择县（市、区）。")})
        limit = max_import_bytes()
        if upload.size > limit:
            raise ValidationError({"file": too_large_message(upload.size, limit)})
        original = (getattr(upload, "name", "") or "upload.xlsx").replace("\\", "/").rsplit("/", 1)[-1][:255]
        upload.name = f"{self.stored_name}-{uuid.uuid4().hex}.xlsx"  # a neutral name; the original is kept
        job = self.model.objects.create(created_by=actor, file=upload, original_name=original,
                                        **self.job_fields(county=county, **extra))
        log.info("%s import %s created by user %s for county %s", self.kind, job.pk, actor.pk, county.code)
        return job

    def validate_start(self, *, actor: User, job):
        """Check a small file now, a large one in a Celery task (the page polls the job)."""
        require_in_scope(actor, self.capability, job.county)
        if job.file and job.file.size <= inline_max_bytes():
            return self.validate(actor=actor, job=job)
        enqueue_after_commit(self.tasks["validate"], job.pk, actor.pk)
        return job

    def validate(self, *, actor: User, job):
        """The dry run: check every row, store the errors (all of them) or the preview. Writes
        nothing but the job's own status. Runs under the job's lease (portal.jobs): if this
        process dies, the beat check closes the job as interrupted."""
        require_in_scope(actor, self.capability, job.county)
        with lease(job):
            self._claim(job, {ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.VALIDATED,
                              ImportStatus.INVALID, ImportStatus.FAILED, ImportStatus.REFUSED}, ImportStatus.VALIDATING)
            try:
                outcome = self._check(job, use_cache=False)
            except Exception:
                log.exception("%s import %s: validation failed", self.kind, job.pk)
                self.finish(job, ImportStatus.FAILED, [error(None, "", "", _(
                    "校验时发生系统错误，未写入任何数据。请稍后重试或联系管理员。"))])
                return job
            rows = len(outcome.rows)
            job.rows_total = job.rows_done = rows
            job.rows_updated = len(outcome.matched) if not outcome.errors else 0
            job.rows_created = rows - job.rows_updated if not outcome.errors else 0
            job.preview = [] if outcome.errors else outcome.preview
            if outcome.refused:
                self.finish(job, self._refused_status(outcome), outcome.errors)
            else:
                # A job found invalid can be checked again, unless its upload goes when it ends.
                self.finish(job, ImportStatus.INVALID if outcome.errors else ImportStatus.VALIDATED, outcome.errors,
                            finished=bool(outcome.errors) and self.delete_upload_when_ended)
        log.info("%s import %s validated: %s rows, %s problems", self.kind, job.pk, rows, len(outcome.errors))
        return job

    def commit_start(self, *, actor: User, job):
        """Commit a small job now, hand a large one to a Celery task. A job whose commit already
        began (确认导入 pressed twice, or the page resubmitted) is returned as it is: the first
        request's run answers, never a second run."""
        require_in_scope(actor, self.capability, job.county)
        if job.status != ImportStatus.VALIDATED:
            if job.status == ImportStatus.IMPORTING or job.finished_at is not None:
                return job
            raise ValidationError(_("只有校验通过的导入才能确认导入（当前状态：%(status)s）。") % {
                "status": job.get_status_display()})
        if job.rows_total <= inline_max_rows():
            return self.commit(actor=actor, job=job)
        claimed = self.model.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.IMPORTING, rows_done=0, queued_at=timezone.now(), started_at=None)
        job.refresh_from_db()
        if claimed:
            enqueue_after_commit(self.tasks["commit"], job.pk, actor.pk)
        return job

    def commit(self, *, actor: User, job, queued: bool = False):
        """Re-check (the database may have changed since the dry run), then write everything in
        one transaction, or nothing. Runs once: a second request or a redelivered task finds the
        job claimed and gets it back as the first run leaves it. Runs under the job's lease."""
        require_in_scope(actor, self.capability, job.county)
        with lease(job):
            if queued:
                # Handed to this task by commit_start; a redelivered task finds it started.
                claimed = self._try_claim(job, {ImportStatus.IMPORTING}, ImportStatus.IMPORTING, unstarted_only=True)
            else:
                claimed = self._try_claim(job, {ImportStatus.VALIDATED}, ImportStatus.IMPORTING)
            if not claimed:
                if job.status != ImportStatus.IMPORTING and job.finished_at is None:
                    raise ValidationError(_("该导入当前状态为“%(status)s”，不能执行此操作。") % {
                        "status": job.get_status_display()})
                log.info("%s import %s is %s: not committed again", self.kind, job.pk, job.status)
                return job
            return self._commit(actor, job)

    def _commit(self, actor: User, job):
        try:
            outcome = self._check(job, use_cache=True)
            if outcome.errors:
                job.rows_created = job.rows_updated = 0
                self.finish(job, self._refused_status(outcome) if outcome.refused else ImportStatus.INVALID,
                            outcome.errors)
                return job
            with transaction.atomic():
                created, updated = self.write(actor, job, outcome)
                # The job's result commits with the data: whatever happens after the commit
                # cannot turn it into "nothing was written".
                job.rows_created, job.rows_updated = created, updated
                job.rows_done = job.rows_total = len(outcome.rows)
                self.finish(job, ImportStatus.DONE, [])
        except Refused as exc:
            job.rows_created = job.rows_updated = 0
            self.finish(job, ImportStatus.INVALID, [error(None, "", "", str(exc), _("重新校验后再导入"))])
            return job
        except Exception:
            log.exception("%s import %s: commit failed, nothing written", self.kind, job.pk)
            job.rows_created = job.rows_updated = 0
            self.finish(job, ImportStatus.FAILED, [error(None, "", "", _(
                "导入时发生系统错误，已全部撤销，未写入任何数据。请稍后重试或联系管理员。"))])
            return job
        log.info("%s import %s committed: %s created, %s updated", self.kind, job.pk, created, updated)
        return job

    def refused(self, job, message: str) -> None:
        """A queued job that may no longer run (its user lost the right to edit the county)."""
        job.rows_created = job.rows_updated = 0
        self.finish(job, ImportStatus.FAILED, [error(None, "", "", message)])

    def finish(self, job, status: str, errors: list[dict], *, finished: bool = True) -> None:
        job.status = status
        job.errors = store_errors(errors)
        fields = ["status", "errors", "preview", "rows_total", "rows_done", "rows_created", "rows_updated",
                  "finished_at"]
        if finished:
            job.finished_at = timezone.now()
            import_ended(self.kind, status)
        if finished and self.delete_upload_when_ended and job.file:
            self._delete_upload(job)
            fields.append("file")
        job.save(update_fields=fields)

    # ---- checking

    def _check(self, job, *, use_cache: bool) -> Outcome:
        try:
            if not job.file or not job.file.storage.exists(job.file.name):
                raise WorkbookFileError(_("上传的文件已不存在（可能已超过保存期限被清理，或系统从备份恢复时未包含上传的文件），"
                                          "本次导入未写入任何数据。请重新上传该文件。"), ErrorCode.UPLOAD_MISSING)
            limit = max_import_bytes()
            if (size := job.file.size) > limit:
                raise WorkbookFileError(too_large_message(size, limit))
            outcome = self.check(job, use_cache=use_cache)
        except WorkbookFileError as exc:
            expected = _("请重新上传") if exc.code == ErrorCode.UPLOAD_MISSING else _("官方模板格式的 Excel 工作簿（.xlsx）")
            return Outcome(errors=[error(None, "", job.original_name, str(exc), expected)],
                           refused=exc.code or "unreadable")
        outcome.errors.sort(key=lambda e: (e["row"] or 0))
        return outcome

    def progress(self, job):
        """A callback (rows done, rows estimated) that shows the progress at once: a plain UPDATE
        in autocommit (tasks and views hold no transaction while checking)."""
        def report(done: int, estimate: int) -> None:
            job.rows_done, job.rows_total = done, max(estimate, done)
            self.model.objects.filter(pk=job.pk).update(rows_done=job.rows_done, rows_total=job.rows_total)
        return report

    @staticmethod
    def _refused_status(outcome: Outcome) -> str:
        """A file that could not be read ends "refused"; one whose stored upload is gone, "failed"."""
        return ImportStatus.FAILED if outcome.refused == ErrorCode.UPLOAD_MISSING else ImportStatus.REFUSED

    def _try_claim(self, job, from_statuses, to_status, *, unstarted_only: bool = False) -> bool:
        """Move the job to `to_status` and mark it started, if it is in one of `from_statuses`
        (and, with `unstarted_only`, no worker began it): one conditional UPDATE, so of two
        concurrent runs exactly one proceeds."""
        jobs = self.model.objects.filter(pk=job.pk, status__in=list(from_statuses))
        if unstarted_only:
            jobs = jobs.filter(started_at__isnull=True)
        claimed = jobs.update(status=to_status, started_at=timezone.now())
        job.refresh_from_db()
        return bool(claimed)

    def _claim(self, job, from_statuses, to_status) -> None:
        if not self._try_claim(job, from_statuses, to_status):
            raise ValidationError(_("该导入当前状态为“%(status)s”，不能执行此操作。") % {
                "status": job.get_status_display()})

    # ---- housekeeping (beat)

    def _delete_upload(self, job) -> None:
        try:
            job.file.delete(save=False)
        except OSError as exc:
            log.error("%s import %s: upload not deleted (%s)", self.kind, job.pk, type(exc).__name__)
        job.file = ""

    def purge_files(self) -> int:
        """Delete the uploaded workbooks of jobs older than the retention period (uploads hold
        personal details and would otherwise pile up for ever). The job, its error list and the
        audit entry stay; a job that was never committed can no longer be, and says so. Jobs
        being checked or written are left alone. Returns the number of files deleted."""
        cutoff = timezone.now() - datetime.timedelta(days=import_file_retention_days())
        stale = (self.model.objects.filter(created_at__lt=cutoff).exclude(file="")
                 .exclude(status__in=[ImportStatus.VALIDATING, ImportStatus.IMPORTING]))
        deleted = 0
        for job in stale.iterator():
            job.file.delete(save=False)
            changes = {"file": ""}
            if job.status in (ImportStatus.PENDING, ImportStatus.VALIDATED):
                changes.update(status=ImportStatus.FAILED, finished_at=timezone.now(), errors=[error(
                    None, "", job.original_name, _("上传的文件已超过%(days)s天的保存期限并被清理，本次导入未写入任何数据。") % {
                        "days": import_file_retention_days()}, _("如需导入，请重新上传"))])
            self.model.objects.filter(pk=job.pk).update(**changes)
            deleted += 1
        if deleted:
            log.info("%s import: %s uploaded files past retention deleted", self.kind, deleted)
        return deleted

    def close_interrupted(self) -> int:
        """Close the jobs whose worker died while checking or writing them (their lease is free),
        or whose task was lost, deleting their uploads; returns how many. Run by beat every two
        minutes. The commit is one transaction, so nothing of an interrupted one was written."""
        return close_interrupted(self.model, running=[ImportStatus.VALIDATING, ImportStatus.IMPORTING],
                                 queued=[ImportStatus.PENDING, ImportStatus.IMPORTING], close=self._close_interrupted,
                                 import_kind=self.kind)

    def _close_interrupted(self, job) -> bool:
        closed = self.model.objects.filter(pk=job.pk, status=job.status, started_at=job.started_at).update(
            file="", status=ImportStatus.INTERRUPTED, finished_at=timezone.now(), rows_created=0, rows_updated=0,
            preview=[], errors=[error(None, "", job.original_name, _(
                "后台处理中断（处理它的进程意外退出），本次导入未写入任何数据。请重新上传该文件导入。"), _("重新上传"))])
        if closed and job.file:
            self._delete_upload(job)
        return bool(closed)

    # ---- Celery

    @property
    def tasks(self) -> dict:
        importlib.import_module(f"{self.model._meta.app_label}.tasks")  # registers them (celery_tasks)
        return _TASKS[self.kind]

    def actor_for(self, job, actor_id: int | None) -> User:
        return User.objects.get(pk=actor_id) if actor_id else job.created_by


_TASKS: dict[str, dict] = {}


def celery_tasks(importer: Importer) -> dict:
    """The import's Celery tasks (`<kind>.validate_import`, `<kind>.commit_import`,
    `<kind>.close_interrupted_imports`), one-line wrappers around the runner; call once from the
    app's tasks module. Not `acks_late`: a task whose worker died is not run again (a file that
    killed a worker would kill the next); the job's lease lets the beat check close it."""
    from celery import shared_task

    @shared_task(name=f"{importer.kind}.validate_import", ignore_result=True)
    def validate_import(job_id: int, actor_id: int | None = None) -> None:
        job = importer.get(job_id)
        try:
            importer.validate(actor=importer.actor_for(job, actor_id), job=job)
        except PermissionDenied as exc:
            importer.refused(job, str(exc))

    @shared_task(name=f"{importer.kind}.commit_import", ignore_result=True)
    def commit_import(job_id: int, actor_id: int | None = None) -> None:
        job = importer.get(job_id)
        try:
            importer.commit(actor=importer.actor_for(job, actor_id), job=job, queued=True)
        except PermissionDenied as exc:
            importer.refused(job, str(exc))

    @shared_task(name=f"{importer.kind}.close_interrupted_imports", ignore_result=True)
    def close_interrupted_imports() -> None:
        importer.close_interrupted()

    _TASKS[importer.kind] = {"validate": validate_import, "commit": commit_import,
                             "close_interrupted": close_interrupted_imports}
    return _TASKS[importer.kind]
