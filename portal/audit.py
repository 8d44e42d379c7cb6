"""Audit context for writes. pghistory's triggers record every row change (including bulk
imports and raw SQL); this adds who acted and why to the same context, so a history entry
reads "张三 (county_health_clerk) 台帐导入: 单位名称 A → B"."""

import contextlib

import pghistory
import pghistory.middleware
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """What a write did, stored in snake_case in the history context; the audit search shows the label."""

    EMPLOYER_CREATE = "employer_create", _("新增用人单位")
    EMPLOYER_UPDATE = "employer_update", _("修改用人单位")
    RECORD_UPDATE = "record_update", _("修改填报记录")
    PERIOD_CREATE = "period_create", _("设立填报期")
    PERIOD_OPEN = "period_open", _("开始填报")
    PERIOD_DEADLINE_SET = "period_deadline_set", _("设定报送截止日期")
    SUBMISSION_SUBMIT = "submission_submit", _("报送")
    SUBMISSION_RETURN = "submission_return", _("退回")
    SUBMISSION_APPROVE = "submission_approve", _("市级审核通过")
    SUBMISSION_ACCEPT = "submission_accept", _("省级接收")
    WORKER_CREATE = "worker_create", _("新增劳动者")
    WORKER_UPDATE = "worker_update", _("修改劳动者")
    WORKER_DELETE = "worker_delete", _("删除劳动者")
    LEDGER_IMPORT = "ledger_import", _("台帐导入")
    ROSTER_IMPORT = "roster_import", _("名册导入")
    LEDGER_HANDOVER = "ledger_handover", _("移交台帐")
    HANDOVER_DEADLINE_SET = "handover_deadline_set", _("设定移交截止日期")
    RECORD_COMMENT = "record_comment", _("提出批注")
    RECORD_COMMENT_ANSWER = "record_comment_answer", _("答复批注")
    LIAISON_SAVE = "liaison_save", _("保存联络员")
    LIAISON_DELETE = "liaison_delete", _("删除联络员")
    COVERAGE_SAVE = "coverage_save", _("录入参保人数")
    COVERAGE_IMPORT = "coverage_import", _("导入参保数据")
    FOLLOW_UP_CREATE = "follow_up_create", _("记录跟进")
    PLAN_SAVE = "plan_save", _("保存扩面计划")
    TRAINING_CREATE = "training_create", _("记录培训")
    REGION_CREATE = "region_create", _("新增区划")
    REGION_UPDATE = "region_update", _("修改区划")
    REGIONS_LOAD_REFERENCE = "regions_load_reference", _("导入区划参考数据")
    USER_CREATE = "user_create", _("新增用户")
    USER_UPDATE = "user_update", _("修改用户")
    USER_SET_ACTIVE = "user_set_active", _("停用或启用账号")
    USER_RESET_PASSWORD = "user_reset_password", _("重置密码")
    MEMBERSHIP_GRANT = "membership_grant", _("授予岗位")
    MEMBERSHIP_REVOKE = "membership_revoke", _("撤销岗位")
    CAMPAIGN_CREATE = "campaign_create", _("新增攻坚方案")
    CAMPAIGN_UPDATE = "campaign_update", _("修改攻坚方案")
    CAMPAIGNS_LOAD_REFERENCE = "campaigns_load_reference", _("导入攻坚方案参考数据")
    TARGET_SET = "target_set", _("设定目标")
    TARGET_DELETE = "target_delete", _("删除目标")
    REPORTED_FIGURE_SAVE = "reported_figure_save", _("保存报送指标")
    REPORTED_FIGURE_SUBMIT = "reported_figure_submit", _("报送指标")
    REPORTED_FIGURE_REVIEW = "reported_figure_review", _("审核报送指标")
    PATIENT_CREATE = "patient_create", _("新增患者档案")
    PATIENT_UPDATE = "patient_update", _("修改患者档案")
    PATIENT_MOVE = "patient_move", _("患者迁移")
    PATIENT_IMPORT = "patient_import", _("患者名单导入")
    FOLLOWUP_RECORD = "followup_record", _("记录随访")
    RELIEF_RECORD = "relief_record", _("记录救治救助")
    REHAB_SITE_CREATE = "rehab_site_create", _("新增康复站（点）")
    REHAB_SITE_UPDATE = "rehab_site_update", _("修改康复站（点）")
    CHECKLIST_VERSION_CREATE = "checklist_version_create", _("检查表新建版本")
    CHECKLIST_ITEM_UPDATE = "checklist_item_update", _("检查表条目修改")
    CHECKLIST_ITEM_ADD = "checklist_item_add", _("检查表条目新增")
    CHECKLIST_PUBLISH = "checklist_publish", _("检查表发布")
    INSPECTION_PLAN_CREATE = "inspection_plan_create", _("检查计划新建")
    INSPECTION_PLAN_CLOSE = "inspection_plan_close", _("检查计划结束")
    INSPECTION_PLANS_EXPIRE = "inspection_plans_expire", _("检查计划到期自动结束")
    TEAM_CREATE = "team_create", _("检查组组建")
    ASSIGNMENT_CREATE = "assignment_create", _("检查任务分配")
    ASSIGNMENT_REASSIGN = "assignment_reassign", _("检查任务改派")
    INSPECTION_START = "inspection_start", _("检查开始")
    ANSWER_SYNC = "answer_sync", _("检查答案同步")
    PHOTO_UPLOAD = "photo_upload", _("检查照片上传")
    INSPECTION_SUBMIT = "inspection_submit", _("检查表提交")
    INSPECTION_SIGN = "inspection_sign", _("检查报告组长签字")
    INSPECTION_RETURN = "inspection_return", _("检查表退回修改")
    FINDING_RECTIFY = "finding_rectify", _("问题整改提交")
    FINDING_VERIFY = "finding_verify", _("问题整改核实")
    # Recorded by earlier versions only; kept so their history reads in Chinese.
    TEAM_UPDATE_MEMBERS = "team_update_members", _("检查组成员调整")
    INSPECTION_REPORT_UPDATE = "inspection_report_update", _("检查报告编写")
    SEED_DEMO_USERS = "seed_demo_users", _("生成演示用户")
    SEED_DEMO_PATIENTS = "seed_demo_patients", _("生成演示患者")
    SEED_DEMO_REPORTED_FIGURES = "seed_demo_reported_figures", _("生成演示报送指标")


def action_label(value: str) -> str:
    """The label the audit search shows for a stored action name (an unknown one as stored)."""
    return str(AuditAction(value).label) if value in AuditAction.values else value


@contextlib.contextmanager
def audit(actor, action: AuditAction, **metadata):
    with pghistory.context(
        user=actor.pk if actor is not None and actor.is_authenticated else None,
        actor_name=str(actor) if actor is not None and actor.is_authenticated else "system",
        action=str(action),
        **metadata,
    ):
        yield


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's request context (user, url) plus where the request came from, for the audit
    search. Behind the compose nginx (PNEUMO_BEHIND_PROXY=1) the address is the one nginx saw."""

    def get_context(self, request):
        from django.conf import settings

        context = super().get_context(request)
        address = request.META.get("REMOTE_ADDR", "")
        if getattr(settings, "PNEUMO_BEHIND_PROXY", False):
            address = request.META.get("HTTP_X_REAL_IP") or address
        context["ip"] = address
        return context
