"""The inspections app recorded its audit actions under Chinese names; they are now snake_case
names of portal.audit.AuditAction (the Chinese text is the label shown). Rewrite the stored
history contexts so the audit search reads old entries like new ones."""

from django.db import migrations

RENAMED = {
    "检查表新建版本": "checklist_version_create", "检查表条目修改": "checklist_item_update",
    "检查表条目新增": "checklist_item_add", "检查表发布": "checklist_publish",
    "检查计划新建": "inspection_plan_create", "检查计划结束": "inspection_plan_close",
    "检查计划到期自动结束": "inspection_plans_expire", "检查组组建": "team_create",
    "检查组成员调整": "team_update_members", "检查任务分配": "assignment_create",
    "检查任务改派": "assignment_reassign", "检查开始": "inspection_start", "检查答案同步": "answer_sync",
    "检查照片上传": "photo_upload", "检查表提交": "inspection_submit", "检查报告组长签字": "inspection_sign",
    "检查报告编写": "inspection_report_update", "检查表退回修改": "inspection_return",
    "问题整改提交": "finding_rectify", "问题整改核实": "finding_verify",
}


def rename(old_to_new):
    def run(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            for old, new in old_to_new.items():
                cursor.execute(
                    "UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{action}', to_jsonb(%s::text)) "
                    "WHERE metadata->>'action' = %s", [new, old])
    return run


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_national_root"), ("pghistory", "0007_auto_20250421_0444")]

    operations = [
        migrations.RunPython(rename(RENAMED), rename({new: old for old, new in RENAMED.items()})),
    ]
