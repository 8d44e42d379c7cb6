"""The patient import job joins the shared import runner (portal.importing, portal.jobs.ImportJobBase):
the ledger job's fields and statuses. Existing jobs keep their outcome: a failure's message becomes
a line of the per-cell report; a job still queued or running under the old one-step runner (which
no worker runs any more) ends "interrupted" with its upload (ID numbers) deleted, as the shared
runner ends a job whose worker died."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F

INTERRUPTED = "后台处理中断（处理它的进程意外退出），本次导入未写入任何数据。请重新上传该文件导入。"


def line(problem: str, value: str = "", expected: str = "") -> dict:
    return {"row": None, "column": "", "value": value, "problem": problem, "expected": expected}


def forwards(apps, schema_editor):
    from django.core.files.storage import default_storage

    Job = apps.get_model("patients", "PatientImportJob")
    Job.objects.update(queued_at=F("created_at"), rows_total=F("rows_done"))
    for job in Job.objects.filter(status="failed", errors=[]).exclude(message=""):
        job.errors = [line(job.message, job.original_name)]
        job.save(update_fields=["errors"])
    for job in Job.objects.filter(status__in=["pending", "running"]):
        if job.file:
            default_storage.delete(job.file.name)
        job.file = ""
        job.status = "interrupted"
        job.finished_at = django.utils.timezone.now()
        job.rows_created = job.rows_updated = 0
        job.errors = [line(INTERRUPTED, job.original_name, "重新上传")]
        job.save(update_fields=["file", "status", "finished_at", "rows_created", "rows_updated", "errors"])
    # The rows' deferred foreign-key checks run now: PostgreSQL refuses the ALTER TABLE below
    # (removing `message`) while trigger events of the table are pending in the transaction.
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def backwards(apps, schema_editor):
    Job = apps.get_model("patients", "PatientImportJob")
    for job in Job.objects.exclude(errors=[]).filter(status__in=["failed", "interrupted"]):
        job.message = job.errors[0]["problem"][:500]
        job.save(update_fields=["message"])
    Job.objects.filter(status__in=["validating", "validated", "importing", "refused", "interrupted"]).update(
        status="failed", finished_at=django.utils.timezone.now())
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0003_patient_rollup_summary'),
    ]

    operations = [
        migrations.AddField(
            model_name='patientimportjob',
            name='preview',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='patientimportjob',
            name='queued_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='patientimportjob',
            name='rows_total',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='patientimportjob',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name='patientimportjob',
            name='message',
        ),
        migrations.AlterField(
            model_name='patientimportjob',
            name='status',
            field=models.CharField(choices=[('pending', '排队中'), ('validating', '校验中'), ('invalid', '校验未通过'), ('validated', '校验通过，待确认导入'), ('importing', '导入中'), ('done', '导入完成'), ('failed', '导入失败'), ('refused', '文件无法读取'), ('interrupted', '已中断')], default='pending', max_length=16),
        ),
    ]
