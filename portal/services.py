"""Every write to regions, users and memberships. Each function takes the acting user,
checks permission through portal.scoping, runs in one transaction and records audit context."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from portal.audit import AuditAction, audit
from portal.models import CODE_LENGTH, Membership, Region, RegionLevel, Role, User
from portal.scoping import ROLE_RANK, Capability, capabilities_of, forget_cached_scope, require_in_scope

# ---- Regions ------------------------------------------------------------------------------


def _check_region_fields(*, code: str, level: int, parent: Region | None, is_nonstandard: bool) -> None:
    if level == RegionLevel.NATIONAL:
        if parent is not None:
            raise ValidationError({"parent": _("全国不能有上级区划。")})
    elif parent is None or parent.level != level - 1:
        raise ValidationError({"parent": _("上级区划的级别不对：%(level)s的上级必须是%(parent_level)s。") % {
            "level": RegionLevel(level).label, "parent_level": RegionLevel(level - 1).label}})
    if not code.isdigit():
        raise ValidationError({"code": _("区划代码只能由数字组成。")})
    expected = CODE_LENGTH[RegionLevel(level)]
    # Township statistical codes are 9 digits, or 12 when a unit below is used as a township.
    allowed_lengths = {expected, 12} if level == RegionLevel.TOWNSHIP else {expected}
    if len(code) not in allowed_lengths:
        raise ValidationError({"code": _("%(level)s的区划代码应为%(digits)s位数字，实际为%(actual)s位。") % {
            "level": RegionLevel(level).label, "digits": expected, "actual": len(code)}})
    # Codes below a province start with their parent's code; the national root's does not
    # prefix the province codes.
    coded_parent = parent is not None and parent.level > RegionLevel.NATIONAL
    if coded_parent and not code.startswith(parent.code) and not is_nonstandard:
        raise ValidationError({"code": _("区划代码 %(code)s 与上级区划代码 %(parent)s 不一致。") % {
            "code": code, "parent": parent.code}})
    if parent is not None and parent.level == RegionLevel.COUNTY - 1 and not code.startswith(parent.code[:2]):
        raise ValidationError({"code": _("区划代码 %(code)s 不属于上级所在省份。") % {"code": code}})


def region_create(*, actor: User, code: str, name: str, level: int, parent: Region | None,
                  is_nonstandard: bool = False) -> Region:
    """Admins add non-standard county-level units (开发区, 高新区) under a city in their scope."""
    code, name = code.strip(), name.strip()
    if not name:
        raise ValidationError({"name": _("请填写区划名称。")})
    _check_region_fields(code=code, level=level, parent=parent, is_nonstandard=is_nonstandard)
    if parent is None or parent.level == RegionLevel.NATIONAL:
        if not actor.is_superuser:
            raise PermissionDenied(_("只有系统管理员可以新增省级区划。"))
    else:
        require_in_scope(actor, Capability.REGIONS_MANAGE, parent)
    if Region.objects.filter(code=code).exists():
        raise ValidationError({"code": _("区划代码 %(code)s 已存在。") % {"code": code}})
    with transaction.atomic(), audit(actor, AuditAction.REGION_CREATE):
        return Region.objects.create(
            code=code, name=name, level=level, parent=parent, is_nonstandard=is_nonstandard,
            path=f"{parent.path if parent else ''}{code}/",
        )


def region_models_with_level_fields():
    """Models that carry their own denormalized province/city/county keys (declared for
    scoping); models that reach them through a relation (employer__county) follow it."""
    return [
        model for model in apps.get_models()
        if getattr(model, "SCOPE_LEVEL_FIELDS", None)
        and not any("__" in field for field in model.SCOPE_LEVEL_FIELDS.values())
    ]


@transaction.atomic
def region_update(*, actor: User, region: Region, name: str | None = None, code: str | None = None,
                  parent: Region | None = None) -> Region:
    """Rename, recode or move a region. The materialized paths of its whole subtree and the
    denormalized region keys of every scoped model are rewritten in the same transaction."""
    require_in_scope(actor, Capability.REGIONS_MANAGE, region)
    new_parent = parent if parent is not None else region.parent
    new_code = (code or region.code).strip()
    if new_parent is not None and new_parent.is_within(region):
        raise ValidationError({"parent": _("不能把区划移动到它自己的下级区划之下。")})
    _check_region_fields(code=new_code, level=region.level, parent=new_parent, is_nonstandard=region.is_nonstandard)
    if new_parent is not None and new_parent.pk != region.parent_id:
        require_in_scope(actor, Capability.REGIONS_MANAGE, new_parent)
    if new_code != region.code and Region.objects.filter(code=new_code).exists():
        raise ValidationError({"code": _("区划代码 %(code)s 已存在。") % {"code": new_code}})

    with audit(actor, AuditAction.REGION_UPDATE, region=region.code):
        old_path = region.path
        new_path = f"{new_parent.path if new_parent else ''}{new_code}/"
        if name is not None:
            region.name = name.strip()
        region.code, region.parent = new_code, new_parent
        region.save(update_fields=["name", "code", "parent"])
        if new_path != old_path:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE portal_region SET path = %s || substr(path, %s) WHERE path LIKE %s",
                    [new_path, len(old_path) + 1, old_path + "%"],  # paths hold only digits and "/"
                )
            region.path = new_path
            _rewrite_denormalized_ancestors(region)
    return region


def _rewrite_denormalized_ancestors(region: Region) -> None:
    ancestors = {r.level: r for r in Region.objects.filter(code__in=region.ancestor_codes)}
    for model in region_models_with_level_fields():
        fields = model.SCOPE_LEVEL_FIELDS
        if region.level not in fields:
            continue
        updates = {f"{fields[level]}_id": ancestors[level].pk for level in fields if level < region.level}
        if updates:
            model.objects.filter(**{f"{fields[region.level]}_id": region.pk}).update(**updates)


# ---- Users and memberships ----------------------------------------------------------------


def can_grant(actor: User, *, region: Region, department: str, role: str) -> bool:
    """An admin grants, in their own subtree and department, roles up to their own rank."""
    if actor.is_superuser:
        return True
    for membership in actor.memberships.select_related("region"):
        if (
            Capability.USERS_MANAGE in capabilities_of(membership.department, membership.role)
            and membership.department == department
            and region.is_within(membership.region)
            and ROLE_RANK[Role(role)] <= ROLE_RANK[Role(membership.role)]
        ):
            return True
    return False


def _require_grant(actor: User, *, region: Region, department: str, role: str) -> None:
    if not can_grant(actor, region=region, department=department, role=role):
        raise PermissionDenied(
            _("您无权在“%(region)s”授予“%(department)s %(role)s”岗位：只能在本人管辖的区划和部门内授予不高于本人的角色。") % {
                "region": region.name,
                "department": dict(Membership._meta.get_field("department").choices)[department],
                "role": Role(role).label,
            }
        )


def can_manage_user(actor: User, user: User) -> bool:
    """A user is managed by an admin who could have granted every one of their memberships."""
    if actor.is_superuser:
        return True
    if user.is_superuser or user.is_staff or user.pk == actor.pk:
        return False
    memberships = list(user.memberships.select_related("region"))
    return bool(memberships) and all(
        can_grant(actor, region=m.region, department=m.department, role=m.role) for m in memberships
    )


def _require_manage(actor: User, user: User) -> None:
    if not can_manage_user(actor, user):
        raise PermissionDenied(_("用户“%(user)s”有超出您管辖范围的岗位，您不能修改该用户。") % {"user": user})


def user_create(*, actor: User, username: str, display_name: str, password: str, region: Region, department: str,
                role: str, phone: str = "") -> User:
    username, display_name = username.strip(), display_name.strip()
    _require_grant(actor, region=region, department=department, role=role)
    errors = {}
    if not username:
        errors["username"] = _("请填写登录名。")
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("登录名“%(username)s”已被使用。") % {"username": username}
    if not display_name:
        errors["display_name"] = _("请填写姓名。")
    candidate = User(username=username, display_name=display_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), audit(actor, AuditAction.USER_CREATE, username=username):
        user = User(username=username, display_name=display_name, phone=phone.strip())
        user.set_password(password)
        user.save()
        Membership.objects.create(user=user, region=region, department=department, role=role, created_by=actor)
    return user


def membership_grant(*, actor: User, user: User, region: Region, department: str, role: str) -> Membership:
    _require_grant(actor, region=region, department=department, role=role)
    if user.is_superuser:
        raise PermissionDenied(_("不能修改系统管理员的岗位。"))
    if Membership.objects.filter(user=user, region=region, department=department, role=role).exists():
        raise ValidationError(_("该用户已有此岗位。"))
    with transaction.atomic(), audit(actor, AuditAction.MEMBERSHIP_GRANT, username=user.username):
        membership = Membership.objects.create(
            user=user, region=region, department=department, role=role, created_by=actor
        )
    forget_cached_scope(user)
    return membership


def membership_revoke(*, actor: User, membership: Membership) -> None:
    _require_grant(actor, region=membership.region, department=membership.department, role=membership.role)
    with transaction.atomic(), audit(actor, AuditAction.MEMBERSHIP_REVOKE, username=membership.user.username):
        membership.delete()
    forget_cached_scope(membership.user)


def user_set_active(*, actor: User, user: User, is_active: bool) -> User:
    _require_manage(actor, user)
    with transaction.atomic(), audit(actor, AuditAction.USER_SET_ACTIVE, username=user.username):
        user.is_active = is_active
        user.save(update_fields=["is_active"])
    return user


def user_update(*, actor: User, user: User, display_name: str, phone: str) -> User:
    _require_manage(actor, user)
    if not display_name.strip():
        raise ValidationError({"display_name": _("请填写姓名。")})
    with transaction.atomic(), audit(actor, AuditAction.USER_UPDATE, username=user.username):
        user.display_name, user.phone = display_name.strip(), phone.strip()
        user.save(update_fields=["display_name", "phone"])
    return user


def user_reset_password(*, actor: User, user: User, password: str) -> User:
    _require_manage(actor, user)
    validate_password(password, user=user)
    with transaction.atomic(), audit(actor, AuditAction.USER_RESET_PASSWORD, username=user.username):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def regions_load_reference(*, rows: list[dict]) -> int:
    """Upsert the published divisions by code (parents first). Units added by admins
    (development zones) are kept; names and parents follow the published list."""
    by_code = {r.code: r for r in Region.objects.all()}
    written = 0
    with transaction.atomic(), audit(None, AuditAction.REGIONS_LOAD_REFERENCE):
        for row in sorted(rows, key=lambda r: (r["level"], r["code"])):
            parent = by_code[row["parent"]] if row["parent"] else None
            path = f"{parent.path if parent else ''}{row['code']}/"
            region = by_code.get(row["code"])
            if region is None:
                region = Region.objects.create(
                    code=row["code"], name=row["name"], level=row["level"], parent=parent, path=path
                )
                written += 1
            elif (region.name, region.parent_id, region.path) != (row["name"], parent and parent.pk, path):
                region.name, region.parent, region.path = row["name"], parent, path
                region.save(update_fields=["name", "parent", "path"])
                written += 1
            by_code[row["code"]] = region
    return written
