"""Every write of inspection plans, teams, checklists, findings and reports: plain functions
taking the acting user, one transaction each, permission checked, audit context written."""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from inspections import selectors
from inspections.models import (
    Answer,
    AnswerType,
    Assignment,
    AssignmentStatus,
    AssignmentUserObjectPermission,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    ChecklistVersion,
    Finding,
    FindingReview,
    FindingStatus,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    Photo,
    PlanStatus,
    RectificationEvidence,
    Severity,
    SyncReceipt,
    Team,
)
from inspections.reference import build_sections, version_as_spec
from portal.audit import AuditAction, audit
from portal.errors import ErrorCode
from portal.models import User
from portal.scoping import Capability, require_in_scope, scope_for
from portal.values import check_text
from worklist.models import NotificationKind
from worklist.services import notify

C = Capability
PERM = "inspections.fill_assignment"
SEVERITY_DAYS = {Severity.HIGH: 15, Severity.MEDIUM: 30, Severity.LOW: 60}
DEFAULT_PHOTO_MAX = 5 * 1024 * 1024


def _require_manage(actor: User, plan_or_region) -> None:
    region = plan_or_region.region if isinstance(plan_or_region, InspectionPlan) else plan_or_region
    require_in_scope(actor, C.INSPECTION_MANAGE, region)


# ---- Checklists ----------------------------------------------------------------------------


def _require_checklist_admin(actor: User) -> None:
    if not scope_for(actor, C.INSPECTION_MANAGE):
        raise PermissionDenied(_("只有卫生健康部门管理员可以维护检查表。"))


def issues_template(actor: User, template: ChecklistTemplate) -> bool:
    """Whether the actor administers the level that issued the checklist (or one above it)."""
    scope = scope_for(actor, C.INSPECTION_MANAGE)
    return scope.contains(template.region) if template.region_id else scope.unrestricted


def _require_version_admin(actor: User, version: ChecklistVersion) -> None:
    """The issuing level's versions belong to its admins; a lower level's own version to the admins
    of that region. Nobody else changes either."""
    _require_checklist_admin(actor)
    if version.region_id is None:
        if not issues_template(actor, version.template):
            raise PermissionDenied(_("检查表由发文单位维护，本级只能在本级版本中增加条目。"))
    else:
        require_in_scope(actor, C.INSPECTION_MANAGE, version.region)


@transaction.atomic
def checklist_version_create(*, actor: User, template: ChecklistTemplate, region=None) -> ChecklistVersion:
    """A new draft version, copied from the latest one. An admin of the issuing level makes the
    template's next version; an admin below it (`region`: one of their regions) makes their own
    version, which carries the issuing level's latest published items unchangeable and adds to them."""
    _require_checklist_admin(actor)
    if issues_template(actor, template) and region is None:
        local = None
    else:
        scope = scope_for(actor, C.INSPECTION_MANAGE)
        if region is None:
            tops = list(scope.top_regions())
            if len(tops) != 1:
                raise ValidationError({"region": _("请选择本级版本所属的区划。")})
            region = tops[0]
        require_in_scope(actor, C.INSPECTION_MANAGE, region)
        local = region
    latest = template.latest_version(region=local)
    if latest is not None and not latest.published:
        raise ValidationError(_("已有未发布的第%(n)s版草稿，请先编辑并发布它。") % {"n": latest.number})
    base = template.latest_published()
    number = (template.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    with audit(actor, AuditAction.CHECKLIST_VERSION_CREATE, template=template.code, region=local.code if local else ""):
        version = ChecklistVersion.objects.create(template=template, region=local, number=number, created_by=actor)
        if local is None:
            if base is not None:
                build_sections(version, version_as_spec(base))
        else:
            spec = version_as_spec(base) if base is not None else []
            own = version_as_spec(latest) if latest is not None else []
            _merge_own_items(spec, own)
            build_sections(version, spec, inherited=False)
    return version


def _merge_own_items(spec: list[dict], own: list[dict]) -> None:
    """The issuing level's items (marked inherited) followed by the level's own items of its previous
    version, section by section."""
    for section in spec:
        for item in section["items"]:
            item["inherited"] = True
    by_number = {section["number"]: section for section in spec}
    for section in own:
        target = by_number.get(section["number"])
        if target is None:
            continue
        for item in section["items"]:
            if not item.get("inherited"):
                target["items"].append({**item, "number": f"{section['number']}.{len(target['items']) + 1}"})


def _editable_version(version: ChecklistVersion) -> None:
    if version.published:
        raise ValidationError(_("已发布的检查表版本不能修改，请新建版本。"))


@transaction.atomic
def checklist_item_update(*, actor: User, item: ChecklistItem, text: str, answer_type: str, required: bool,
                          no_is_finding: bool, default_severity: str, guidance: str = "",
                          choices: list[str] | None = None) -> ChecklistItem:
    _require_version_admin(actor, item.section.version)
    _editable_version(item.section.version)
    if item.inherited:
        raise PermissionDenied(_("上级发布的检查项不能在本级版本中修改。"))
    if answer_type not in AnswerType.values:
        raise ValidationError({"answer_type": _("答案类型无效。")})
    if answer_type == AnswerType.SINGLE_CHOICE and not choices:
        raise ValidationError({"choices": _("单选题至少需要一个选项。")})
    if not text.strip():
        raise ValidationError({"text": _("检查内容不能为空。")})
    with audit(actor, AuditAction.CHECKLIST_ITEM_UPDATE, item=item.number):
        item.text, item.answer_type, item.required = text.strip(), answer_type, required
        item.no_is_finding = no_is_finding and answer_type == AnswerType.YES_NO_NA
        item.default_severity, item.guidance, item.choices = default_severity, guidance, choices or []
        item.save()
    return item


@transaction.atomic
def checklist_item_add(*, actor: User, version: ChecklistVersion, section_number: str, text: str,
                       answer_type: str = AnswerType.YES_NO_NA) -> ChecklistItem:
    _require_version_admin(actor, version)
    _editable_version(version)
    section = version.sections.filter(number=section_number).first()
    if section is None:
        raise ValidationError({"section": _("没有编号为“%(n)s”的部分。") % {"n": section_number}})
    count = section.items.count()
    with audit(actor, AuditAction.CHECKLIST_ITEM_ADD, version=version.pk):
        return ChecklistItem.objects.create(
            section=section, number=f"{section.number}.{count + 1}", text=text, answer_type=answer_type,
            order=count + 1, no_is_finding=answer_type == AnswerType.YES_NO_NA)


@transaction.atomic
def checklist_version_publish(*, actor: User, version: ChecklistVersion) -> ChecklistVersion:
    _require_version_admin(actor, version)
    _editable_version(version)
    if not ChecklistItem.objects.filter(section__version=version).exists():
        raise ValidationError(_("检查表没有任何条目，不能发布。"))
    with audit(actor, AuditAction.CHECKLIST_PUBLISH, version=version.pk):
        version.published = True
        version.save(update_fields=["published"])
    return version


# ---- Plans, teams, assignments --------------------------------------------------------------


@transaction.atomic
def plan_create(*, actor: User, region, name: str, window_start: dt.date, window_end: dt.date,
                report_deadline: dt.date, document_number: str = "") -> InspectionPlan:
    _require_manage(actor, region)
    errors = {}
    if not name.strip():
        errors["name"] = _("请填写计划名称。")
    if window_end < window_start:
        errors["window_end"] = _("检查结束日期不能早于开始日期。")
    if report_deadline < window_start:
        errors["report_deadline"] = _("报告报送截止日期不能早于检查开始日期。")
    if errors:
        raise ValidationError(errors)
    with audit(actor, AuditAction.INSPECTION_PLAN_CREATE):
        return InspectionPlan.objects.create(
            region=region, name=name.strip(), document_number=document_number.strip(), window_start=window_start,
            window_end=window_end, report_deadline=report_deadline, created_by=actor)


@transaction.atomic
def plan_close(*, actor: User, plan: InspectionPlan) -> InspectionPlan:
    _require_manage(actor, plan)
    with audit(actor, AuditAction.INSPECTION_PLAN_CLOSE, plan=plan.pk):
        plan.status = PlanStatus.CLOSED
        plan.save(update_fields=["status"])
    return plan


@transaction.atomic
def team_create(*, actor: User, plan: InspectionPlan, name: str, leader, members=(), liaison=None,
                liaison_phone: str = "") -> Team:
    _require_manage(actor, plan)
    if plan.status != PlanStatus.OPEN:
        raise ValidationError(_("检查计划已结束，不能再组建检查组。"))
    if liaison is not None and not liaison_phone.strip():
        raise ValidationError({"liaison_phone": _("请填写联络员电话。")})
    _check_team_people(plan, leader=leader, members=members, liaison=liaison)
    with audit(actor, AuditAction.TEAM_CREATE, plan=plan.pk):
        team = Team.objects.create(plan=plan, name=name.strip(), leader=leader, liaison=liaison,
                                   liaison_phone=liaison_phone.strip())
        team.members.set(members)
        _sync_team_permissions(team)
    return team


def _check_team_people(plan: InspectionPlan, *, leader, members, liaison) -> None:
    """Only the plan's candidates (selectors.team_candidates) join its team, whatever way the
    choice arrives; the message names nobody, so a guessed id reveals no one."""
    chosen = {"leader": [leader], "members": list(members), "liaison": [liaison] if liaison is not None else []}
    ids = {person.pk for people in chosen.values() for person in people}
    allowed = set(selectors.team_candidates(plan).filter(pk__in=ids).values_list("pk", flat=True))
    errors = {name: _("所选人员不是本计划区划内可参加检查的人员。")
              for name, people in chosen.items() if any(person.pk not in allowed for person in people)}
    if errors:
        raise ValidationError(errors)


def _sync_team_permissions(team: Team) -> None:
    """Each team user holds fill_assignment on the team's active assignments, nobody else does."""
    users = team.user_ids()
    for assignment in team.assignments.all():
        granted = set(AssignmentUserObjectPermission.objects.filter(
            content_object=assignment, permission__codename="fill_assignment").values_list("user_id", flat=True))
        for user in User.objects.filter(pk__in=users - granted):
            assign_perm(PERM, user, assignment)
        for user in User.objects.filter(pk__in=granted - users):
            remove_perm(PERM, user, assignment)


@transaction.atomic
def assignment_create(*, actor: User, team: Team, kind: str, region=None, employer=None,
                      checklist_version: ChecklistVersion | None = None) -> Assignment:
    plan = team.plan
    _require_manage(actor, plan)
    if plan.status != PlanStatus.OPEN:
        raise ValidationError(_("检查计划已结束，不能再分配任务。"))
    if kind == ChecklistKind.UNANNOUNCED:
        if employer is None:
            raise ValidationError({"employer": _("暗访检查须指定被检查单位。")})
        region = employer.county
    elif region is None:
        raise ValidationError({"region": _("综合检查须指定被检查地区。")})
    if not region.path.startswith(plan.region.path):
        raise ValidationError({"region": _("“%(r)s”不在本计划发文区划范围内。") % {"r": region.name}})
    if checklist_version is None:
        checklist_version = selectors.default_checklist_version(kind=kind, plan=plan)
    if checklist_version is None or not checklist_version.published:
        raise ValidationError({"checklist_version": _("请选择已发布的检查表版本。")})
    if checklist_version.region_id and not plan.region.path.startswith(checklist_version.region.path):
        raise ValidationError({"checklist_version": _("该检查表版本是其他地区的本级版本，不能用于本计划。")})
    if checklist_version.template.kind != kind:
        raise ValidationError({"checklist_version": _("检查表类型与检查类型不一致。")})
    with audit(actor, AuditAction.ASSIGNMENT_CREATE, plan=plan.pk):
        assignment = Assignment.objects.create(plan=plan, team=team, region=region, employer=employer, kind=kind,
                                               checklist_version=checklist_version)
        _sync_team_permissions(team)
        notify(NotificationKind.ASSIGNMENT_GIVEN, assignment=assignment.pk)
    return assignment


@transaction.atomic
def assignment_reassign(*, actor: User, assignment: Assignment, team: Team) -> Assignment:
    """The old assignment stays (read-only for its team, who are told it moved); the new team gets
    a fresh one."""
    _require_manage(actor, assignment.plan)
    if team.plan_id != assignment.plan_id:
        raise ValidationError(_("只能改派给同一计划内的检查组。"))
    if assignment.status != AssignmentStatus.ACTIVE:
        raise ValidationError(_("该任务已改派过。"))
    with audit(actor, AuditAction.ASSIGNMENT_REASSIGN, assignment=assignment.pk):
        assignment.status = AssignmentStatus.REASSIGNED
        assignment.save(update_fields=["status"])
        new = Assignment.objects.create(plan=assignment.plan, team=team, region=assignment.region,
                                        employer=assignment.employer, kind=assignment.kind,
                                        checklist_version=assignment.checklist_version)
        _sync_team_permissions(team)
        notify(NotificationKind.ASSIGNMENT_GIVEN, assignment=new.pk)
    return new


# ---- Filling ---------------------------------------------------------------------------------


def access_fill(actor: User, assignment: Assignment) -> None:
    """Refusals of a write to an assignment, each with its Chinese message."""
    if not selectors.may_fill(actor, assignment):
        if selectors.assignment_list_granted(actor, in_window=False).filter(pk=assignment.pk).exists():
            raise PermissionDenied(_("检查计划不在检查期内（%(a)s 至 %(b)s），不能填报。") % {
                "a": assignment.plan.window_start, "b": assignment.plan.access_until})
        raise PermissionDenied(_("只有本检查组成员可以填报该检查任务。"))
    if assignment.plan.status != PlanStatus.OPEN:
        raise ValidationError(_("检查计划已结束（关闭），不能再填报。"))
    if assignment.status != AssignmentStatus.ACTIVE:
        raise ValidationError(_("该检查任务已改派给其他检查组，本组不能再填报。"))


def inspection_for(assignment: Assignment) -> Inspection:
    inspection, _created = Inspection.objects.get_or_create(
        assignment=assignment, defaults={"version": assignment.checklist_version})
    return inspection


@transaction.atomic
def inspection_start(*, actor: User, assignment: Assignment) -> Inspection:
    access_fill(actor, assignment)
    with audit(actor, AuditAction.INSPECTION_START, assignment=assignment.pk):
        return inspection_for(assignment)


ANSWER_TEXT_MAX = 4000  # a text answer and an answer's note


def _labelled(label: str, rule, *args, **kwargs):
    """A portal.values rule, its message prefixed with the item ("第 1.2 项：…")."""
    try:
        return rule(*args, **kwargs)
    except ValidationError as exc:
        raise ValidationError(f"{label}：{exc.messages[0]}", code=exc.code) from None


def check_answer_note(item: ChecklistItem, note) -> str:
    """An answer's note: text without control characters, at most ANSWER_TEXT_MAX characters (refused
    with the limit named, never cut)."""
    return _labelled(_("第 %(n)s 项的备注") % {"n": item.number}, check_text, "" if note is None else note,
                     max_length=ANSWER_TEXT_MAX, multiline=True)


def validate_value(item: ChecklistItem, value):
    """The normalized value, or ValidationError with a Chinese message. None/"" clears."""
    if value in (None, ""):
        return None
    kind = item.answer_type
    label = f"第 {item.number} 项"
    if kind == AnswerType.YES_NO_NA:
        if value not in ("yes", "no", "na"):
            raise ValidationError(_("%(l)s只能回答“是”“否”或“不适用”。") % {"l": label})
        return value
    if kind in (AnswerType.NUMBER, AnswerType.RATE):
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ValidationError(_("%(l)s应填写数字，收到的是“%(v)s”。") % {"l": label, "v": value})
        if number < 0:
            raise ValidationError(_("%(l)s不能为负数。") % {"l": label})
        if kind == AnswerType.RATE and number > 100:
            raise ValidationError(_("%(l)s是百分比，应在 0 到 100 之间。") % {"l": label})
        return int(number) if float(number).is_integer() else number
    if kind == AnswerType.TEXT:
        if not isinstance(value, str):
            raise ValidationError(_("%(l)s应填写文字。") % {"l": label})
        return _labelled(label, check_text, value, max_length=ANSWER_TEXT_MAX, multiline=True) or None
    if kind == AnswerType.SINGLE_CHOICE:
        if value not in item.choices:
            raise ValidationError(_("%(l)s只能从以下选项中选择：%(c)s。") % {"l": label, "c": "、".join(item.choices)})
        return value
    if kind == AnswerType.PHOTO:
        values = value if isinstance(value, list) else [value]
        try:
            return [str(uuid.UUID(str(v))) for v in values]
        except ValueError:
            raise ValidationError(_("%(l)s应上传照片。") % {"l": label}) from None
    raise ValidationError(_("%(l)s的答案类型无法识别。") % {"l": label})


@dataclass
class SyncResult:
    client_uuid: str
    status: str  # applied | duplicate | conflict | error
    detail: str = ""
    answer: dict | None = None
    code: str = ""

    def as_dict(self) -> dict:
        return {"client_uuid": self.client_uuid, "status": self.status, "detail": self.detail,
                "answer": self.answer, "code": self.code}


@dataclass
class SyncOutcome:
    results: list[SyncResult] = field(default_factory=list)

    @property
    def http_status(self) -> int:
        statuses = {r.status for r in self.results}
        return 400 if "error" in statuses else 409 if "conflict" in statuses else 200


def answers_sync(*, actor: User, assignment: Assignment, changes: list[dict]) -> SyncOutcome:
    """Apply a batch from a tablet's outbox. Each change `{client_uuid, checklist_version,
    base_version, item, value, note}` is applied at most once; a stale base_version is a conflict
    answered with the server's copy; every valid change is kept even if another one is refused."""
    access_fill(actor, assignment)
    with transaction.atomic():
        inspection = inspection_for(assignment)
    if inspection.status != InspectionStatus.DRAFT:
        raise ValidationError(_("检查表已提交（%(s)s），不能再修改答案。") % {"s": inspection.get_status_display()})
    outcome = SyncOutcome()
    for change in changes:
        try:
            with transaction.atomic():
                outcome.results.append(_apply_change(actor, inspection, change))
        except ValidationError as exc:
            outcome.results.append(SyncResult(str(change.get("client_uuid", "")), "error", " ".join(exc.messages),
                                              code=getattr(exc, "code", "") or "invalid"))
        except IntegrityError:
            # The same change sent twice at the same moment (a retry racing the first request):
            # the other request stored it, so this one is a duplicate, not a conflict.
            receipt = SyncReceipt.objects.filter(client_uuid=_uuid_or_none(change.get("client_uuid")),
                                                 answer__inspection=inspection).select_related("answer").first()
            if receipt is not None:
                outcome.results.append(SyncResult(str(receipt.client_uuid), "duplicate",
                                                  _("该答案此前已同步，未重复保存。"),
                                                  selectors.answer_payload(receipt.answer)))
                continue
            # Another tablet created the same answer (or used the same uuid) at the same moment.
            answer = Answer.objects.filter(inspection=inspection, item_id=change.get("item")).first()
            outcome.results.append(SyncResult(
                str(change.get("client_uuid", "")), "conflict", _("该项刚被他人同时保存，请选择保留哪一份。"),
                selectors.answer_payload(answer) if answer else None, code=ErrorCode.STALE))
    return outcome


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _apply_change(actor: User, inspection: Inspection, change: dict) -> SyncResult:
    try:
        client_uuid = uuid.UUID(str(change.get("client_uuid")))
    except ValueError:
        raise ValidationError(_("缺少或无效的 client_uuid。"), code=ErrorCode.CLIENT_UUID) from None
    receipt = SyncReceipt.objects.filter(client_uuid=client_uuid).select_related("answer").first()
    if receipt is not None:
        if receipt.answer.inspection_id != inspection.pk:
            raise ValidationError(_("该 client_uuid 已用于其他检查。"), code=ErrorCode.CLIENT_UUID)
        return SyncResult(str(client_uuid), "duplicate", _("该答案此前已同步，未重复保存。"),
                          selectors.answer_payload(receipt.answer))
    if change.get("checklist_version") != inspection.version_id:
        raise ValidationError(
            _("检查表版本已变化：本检查使用第%(n)s版（编号 %(id)s），请刷新页面后重新填写该项。")
            % {"n": inspection.version.number, "id": inspection.version_id}, code=ErrorCode.CHECKLIST_VERSION)
    item = ChecklistItem.objects.filter(pk=change.get("item"), section__version=inspection.version).first()
    if item is None:
        raise ValidationError(_("检查项不属于本检查表。"), code=ErrorCode.ITEM)
    value = validate_value(item, change.get("value"))
    note = check_answer_note(item, change.get("note"))
    if item.answer_type == AnswerType.PHOTO and value:
        known = set(map(str, Photo.objects.filter(inspection=inspection, item=item).values_list("client_uuid",
                                                                                                  flat=True)))
        if missing := [v for v in value if v not in known]:
            raise ValidationError(_("第 %(n)s 项的照片尚未上传（%(c)s 张），请先同步照片。") % {
                "n": item.number, "c": len(missing)}, code=ErrorCode.PHOTO_MISSING)
    base_version = change.get("base_version") or 0
    answer = Answer.objects.select_for_update(no_key=True, of=("self",)).filter(inspection=inspection, item=item).first()
    if answer is not None and answer.client_uuid == client_uuid:
        # The same change, applied by an identical request that held the lock first.
        return SyncResult(str(client_uuid), "duplicate", _("该答案此前已同步，未重复保存。"),
                          selectors.answer_payload(answer))
    current = answer.version if answer else 0
    if base_version != current:
        return SyncResult(str(client_uuid), "conflict",
                          _("第 %(n)s 项已被他人修改（服务器版本 %(v)s），请选择保留哪一份。") % {"n": item.number, "v": current},
                          selectors.answer_payload(answer) if answer else None, code=ErrorCode.STALE)
    with audit(actor, AuditAction.ANSWER_SYNC, inspection=inspection.pk, item=item.number):
        if answer is None:
            answer = Answer.objects.create(inspection=inspection, item=item, value=value, note=note,
                                           client_uuid=client_uuid, updated_by=actor)
        else:
            answer.value, answer.note, answer.client_uuid = value, note, client_uuid
            answer.version += 1
            answer.updated_by = actor
            answer.save()
        SyncReceipt.objects.create(client_uuid=client_uuid, answer=answer, answer_version=answer.version)
        Inspection.objects.filter(pk=inspection.pk).update(base_version=F("base_version") + 1)
    return SyncResult(str(client_uuid), "applied", "", selectors.answer_payload(answer))


IMAGE_SIGNATURES = [(b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png")]


def image_extension(head: bytes) -> str | None:
    for magic, ext in IMAGE_SIGNATURES:
        if head.startswith(magic):
            return ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return None


def check_image(upload) -> str:
    limit = getattr(settings, "INSPECTION_PHOTO_MAX_BYTES", DEFAULT_PHOTO_MAX)
    if upload.size > limit:
        raise ValidationError({"file": _("照片过大（%(s).1f MB），最大 %(m).0f MB。") % {
            "s": upload.size / 1048576, "m": limit / 1048576}})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    ext = image_extension(head)
    if ext is None or not _pillow_accepts(upload):
        raise ValidationError({"file": _("文件不是有效的图片，只接受 JPEG、PNG 或 WebP 照片。")})
    return ext


def _pillow_accepts(upload) -> bool:
    """A full decode check when Pillow is installed (it is not in the venv today: the magic bytes
    above are then the check)."""
    try:
        from PIL import Image
    except ImportError:
        return True
    try:
        with Image.open(upload) as image:
            image.verify()
        return True
    except Exception:  # noqa: BLE001 - any decoder error means "not an image"
        return False
    finally:
        upload.seek(0)


@transaction.atomic
def photo_metadata(*, taken_at=None, latitude=None, longitude=None, accuracy=None) -> dict:
    """When and where the tablet took a photo, as the page sends it (ISO time, decimal degrees,
    metres); blanks are allowed, nonsense is refused in Chinese."""
    from decimal import Decimal, InvalidOperation

    from django.utils.dateparse import parse_datetime

    meta: dict = {"taken_at": None, "latitude": None, "longitude": None, "accuracy_m": None}
    if taken_at not in (None, ""):
        moment = parse_datetime(str(taken_at)) if not isinstance(taken_at, dt.datetime) else taken_at
        if moment is None:
            raise ValidationError({"taken_at": _("拍摄时间格式无效。")})
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if moment > timezone.now() + dt.timedelta(minutes=10):
            raise ValidationError({"taken_at": _("拍摄时间晚于当前时间，请检查平板的日期和时间设置后重新拍摄。")})
        meta["taken_at"] = moment
    if latitude in (None, "") and longitude in (None, ""):
        return meta
    try:
        lat, lon = Decimal(str(latitude)), Decimal(str(longitude))
    except (InvalidOperation, ValueError):
        raise ValidationError({"latitude": _("拍摄位置无效。")}) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"latitude": _("拍摄位置无效。")})
    meta["latitude"], meta["longitude"] = lat.quantize(Decimal("0.000001")), lon.quantize(Decimal("0.000001"))
    if accuracy not in (None, ""):
        try:
            meta["accuracy_m"] = max(0, min(int(float(accuracy)), 2_000_000))
        except ValueError:
            raise ValidationError({"accuracy": _("定位精度无效。")}) from None
    return meta


def photo_upload(*, actor: User, assignment: Assignment, item_id, client_uuid, upload, taken_at=None, latitude=None,
                 longitude=None, accuracy=None) -> Photo:
    access_fill(actor, assignment)
    try:
        client_uuid = uuid.UUID(str(client_uuid))
    except ValueError:
        raise ValidationError({"client_uuid": _("缺少或无效的 client_uuid。")}) from None
    inspection = inspection_for(assignment)
    existing = Photo.objects.filter(client_uuid=client_uuid).first()
    if existing is not None:
        if existing.inspection_id != inspection.pk:
            raise ValidationError({"client_uuid": _("该 client_uuid 已用于其他检查。")})
        return existing
    if inspection.status != InspectionStatus.DRAFT:
        raise ValidationError(_("检查表已提交，不能再上传照片。"))
    try:
        item_id = int(str(item_id).strip())
    except ValueError:
        raise ValidationError({"item": _("检查项编号应为整数。")}) from None
    item = ChecklistItem.objects.filter(pk=item_id, section__version=inspection.version).first()
    if item is None:
        raise ValidationError({"item": _("检查项不属于本检查表。")})
    if upload is None:
        raise ValidationError({"file": _("请选择照片。")})
    ext = check_image(upload)
    meta = photo_metadata(taken_at=taken_at, latitude=latitude, longitude=longitude, accuracy=accuracy)
    with audit(actor, AuditAction.PHOTO_UPLOAD, inspection=inspection.pk, item=item.number):
        photo = Photo(inspection=inspection, item=item, client_uuid=client_uuid, extension=ext, uploaded_by=actor,
                      **meta)
        photo.file.save(f"{client_uuid}{ext}", upload, save=False)
        try:
            with transaction.atomic():
                photo.save()
        except IntegrityError:
            return Photo.objects.get(client_uuid=client_uuid)
    return photo


def assignment_submit(*, actor: User, assignment: Assignment, highlights: str = "", problems: str = "") -> Inspection:
    """Submit the assignment's checklist (refused before anything is created when the actor may
    not fill it)."""
    access_fill(actor, assignment)
    return inspection_submit(actor=actor, inspection=inspection_for(assignment), highlights=highlights,
                             problems=problems)


@transaction.atomic
def inspection_submit(*, actor: User, inspection: Inspection, highlights: str = "", problems: str = "") -> Inspection:
    inspection = Inspection.objects.select_for_update(no_key=True, of=("self",)).get(pk=inspection.pk)
    access_fill(actor, inspection.assignment)
    if inspection.status != InspectionStatus.DRAFT:
        raise ValidationError(_("检查表已提交，不能重复提交。"))
    blanks = selectors.inspection_blank_items(inspection)
    if blanks:
        raise ValidationError(
            _("对表核查不得空项，以下 %(n)s 项尚未填写：%(items)s") % {
                "n": len(blanks), "items": "；".join(f"{i.number} {i.text}" for i in blanks)},
            code=ErrorCode.BLANK_ITEMS, params={"numbers": [i.number for i in blanks]})
    today = timezone.localdate()
    with audit(actor, AuditAction.INSPECTION_SUBMIT, inspection=inspection.pk):
        inspection.status = InspectionStatus.SUBMITTED
        inspection.highlights = highlights or inspection.highlights
        inspection.problems = problems or inspection.problems
        inspection.submitted_at, inspection.submitted_by = timezone.now(), actor
        inspection.inspected_on = inspection.inspected_on or today
        inspection.save()
        _drop_stale_findings(inspection)
        _create_findings(inspection, today)
        _record_employer_inspection(inspection)
    return inspection


def _drop_stale_findings(inspection: Inspection) -> None:
    """A resubmission after a return: a finding nobody has acted on whose answer is no longer
    "no" came from the wrong answer, so it goes; one the inspected side has rectified stays as the
    record of that work. Only OPEN is untouched: a rectification moves a finding on and nothing
    moves it back. Locking re-reads the status, so a rectification committed meanwhile wins."""
    still_no = inspection.answers.filter(value="no").values("item_id")
    stale = list(Finding.objects.select_for_update(no_key=True).filter(
        inspection=inspection, status=FindingStatus.OPEN).exclude(item_id__in=still_no).values_list("pk", flat=True))
    Finding.objects.filter(pk__in=stale).delete()


def _create_findings(inspection: Inspection, today: dt.date) -> None:
    assignment = inspection.assignment
    for answer in inspection.answers.select_related("item").filter(item__no_is_finding=True, value="no"):
        severity = answer.item.default_severity
        Finding.objects.get_or_create(
            inspection=inspection, item=answer.item, defaults={
                "region": assignment.region, "employer": assignment.employer, "severity": severity,
                "description": f"{answer.item.number} {answer.item.text}：否" + (f"（{answer.note}）" if answer.note else ""),
                "deadline": today + dt.timedelta(days=SEVERITY_DAYS.get(severity, 30)),
            })


def _record_employer_inspection(inspection: Inspection) -> None:
    """Feeds the supervision indicator without touching the ledger: the indicator derives the
    inspection date from the inspection itself (targets.indicators, `ins`), so a county's records
    (locked once its period is submitted) are never written by an inspection. Only the rollups of
    the periods that count it (its year, ending on or after the visit) are marked for recompute."""
    employer = inspection.assignment.employer
    if employer is None or inspection.inspected_on is None:
        return
    from ledger.models import ReportingPeriod
    from targets.services import rollup_mark_dirty

    day = inspection.inspected_on
    for period_id in ReportingPeriod.objects.filter(year=day.year, ends_on__gte=day).values_list("pk", flat=True):
        rollup_mark_dirty(employer.county_id, period_id)  # in the submit's transaction


def decode_signature(data_url: str) -> bytes:
    prefix = "data:image/png;base64,"
    if not isinstance(data_url, str) or not data_url.startswith(prefix):
        raise ValidationError({"signature": _("请在签字区手写签名后再确认。")})
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
    except ValueError:
        raise ValidationError({"signature": _("签名图片无法识别，请重新签字。")}) from None
    if not raw.startswith(b"\x89PNG\r\n\x1a\n") or len(raw) > 1024 * 1024:
        raise ValidationError({"signature": _("签名图片无法识别，请重新签字。")})
    return raw


def _submitted_for_leader(actor: User, inspection: Inspection, *, not_leader: str, draft: str,
                          signed: str) -> Inspection:
    """The inspection, locked, for its team leader's step on a submitted checklist (sign or
    return); each refusal in the step's own words."""
    inspection = Inspection.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "assignment__team", "assignment__plan").get(pk=inspection.pk)
    if inspection.assignment.team.leader_id != actor.pk:
        raise PermissionDenied(not_leader)
    if inspection.status == InspectionStatus.DRAFT:
        raise ValidationError(draft)
    if inspection.status == InspectionStatus.SIGNED:
        raise ValidationError(signed)
    return inspection


@transaction.atomic
def inspection_sign(*, actor: User, inspection: Inspection, signature: str, highlights: str | None = None,
                    problems: str | None = None) -> Inspection:
    inspection = _submitted_for_leader(actor, inspection, not_leader=_("只有检查组组长可以审阅签字。"),
                                       draft=_("检查表尚未提交，组长不能签字。"), signed=_("检查表已签字锁定。"))
    decode_signature(signature)
    with audit(actor, AuditAction.INSPECTION_SIGN, inspection=inspection.pk):
        if highlights is not None:
            inspection.highlights = highlights
        if problems is not None:
            inspection.problems = problems
        inspection.signature = signature
        inspection.signed_at, inspection.signed_by = timezone.now(), actor
        inspection.status = InspectionStatus.SIGNED
        inspection.save()
    return inspection


@transaction.atomic
def inspection_return(*, actor: User, inspection: Inspection, reason: str) -> Inspection:
    """The leader sends a submitted checklist back to the team to correct answers; the team
    resubmits it as usual."""
    inspection = _submitted_for_leader(actor, inspection, not_leader=_("只有检查组组长可以退回修改。"),
                                       draft=_("检查表尚未提交，无需退回。"), signed=_("检查表已签字锁定，不能退回修改。"))
    # Otherwise the team could not change or resubmit it: it would stay a draft for good.
    plan = inspection.assignment.plan
    if plan.status != PlanStatus.OPEN or not plan.in_window():
        raise ValidationError(_("检查计划已结束或已过报告报送截止日期，检查组无法再修改，不能退回。"))
    if inspection.assignment.status != AssignmentStatus.ACTIVE:
        raise ValidationError(_("该检查任务已改派给其他检查组，不能退回修改。"))
    reason = (reason or "").strip()
    limit = Inspection._meta.get_field("return_reason").max_length
    if not reason:
        raise ValidationError({"reason": _("请填写退回原因。")})
    if len(reason) > limit:
        raise ValidationError({"reason": _("退回原因过长（最多 %(m)s 字，现有 %(n)s 字）。") % {"m": limit, "n": len(reason)}})
    with audit(actor, AuditAction.INSPECTION_RETURN, inspection=inspection.pk):
        inspection.status = InspectionStatus.DRAFT
        inspection.returned_at, inspection.returned_by, inspection.return_reason = timezone.now(), actor, reason
        inspection.save()
        notify(NotificationKind.CHECKLIST_RETURNED, inspection=inspection.pk, at=inspection.returned_at.isoformat())
    return inspection


# ---- Findings --------------------------------------------------------------------------------


@transaction.atomic
def finding_rectify(*, actor: User, finding: Finding, note: str, upload=None) -> Finding:
    finding = Finding.objects.select_for_update(no_key=True, of=("self",)).get(pk=finding.pk)
    require_in_scope(actor, C.INSPECTION_VIEW, finding.region)
    if finding.status not in (FindingStatus.OPEN, FindingStatus.REOPENED):
        raise ValidationError(_("该问题当前状态为“%(s)s”，不能提交整改。") % {"s": finding.get_status_display()})
    if not note.strip():
        raise ValidationError({"note": _("请填写整改情况说明。")})
    ext = ""
    if upload is not None:
        ext = check_image(upload) if upload.size else ""
    with audit(actor, AuditAction.FINDING_RECTIFY, finding=finding.pk):
        evidence = RectificationEvidence(finding=finding, note=note.strip(), extension=ext, uploaded_by=actor)
        if upload is not None:
            evidence.file.save(f"e{ext}", upload, save=False)
        evidence.save()
        finding.status = FindingStatus.RECTIFIED
        finding.save(update_fields=["status", "updated_at"])
    return finding


def access_review(actor: User, finding: Finding) -> None:
    """Only the team or the issuing region's admins verify a rectification."""
    assignment = finding.inspection.assignment
    team_member = selectors.assignment_list_granted(actor, in_window=False).filter(pk=assignment.pk).exists()
    if not team_member and not selectors.may_manage_plan(actor, assignment.plan):
        raise PermissionDenied(_("只有检查组或发文单位管理员可以核实整改。"))


@transaction.atomic
def finding_review(*, actor: User, finding: Finding, outcome: str, comment: str = "") -> Finding:
    finding = Finding.objects.select_for_update(no_key=True, of=("self",)).select_related("inspection__assignment__plan").get(pk=finding.pk)
    access_review(actor, finding)
    if outcome not in (FindingStatus.VERIFIED, FindingStatus.REOPENED):
        raise ValidationError({"outcome": _("核实结论只能是“核实销号”或“重新整改”。")})
    if finding.status != FindingStatus.RECTIFIED:
        raise ValidationError(_("该问题尚未提交整改，不能核实。"))
    if outcome == FindingStatus.REOPENED and not comment.strip():
        raise ValidationError({"comment": _("要求重新整改时请说明原因。")})
    with audit(actor, AuditAction.FINDING_VERIFY, finding=finding.pk, outcome=outcome):
        FindingReview.objects.create(finding=finding, outcome=outcome, comment=comment.strip(), reviewed_by=actor)
        finding.status = outcome
        finding.save(update_fields=["status", "updated_at"])
    return finding




@transaction.atomic
def plans_close_expired(*, today: dt.date | None = None) -> int:
    """System action (no actor): close open plans whose report deadline has passed. Idempotent."""
    today = today or timezone.localdate()
    with audit(None, AuditAction.INSPECTION_PLANS_EXPIRE):
        return InspectionPlan.objects.filter(status=PlanStatus.OPEN, report_deadline__lt=today).update(
            status=PlanStatus.CLOSED)
