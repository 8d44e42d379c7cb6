"""The shared core: the administrative tree, users and their memberships."""

import pghistory
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.IntegerChoices):
    NATIONAL = 0, _("全国")
    PROVINCE = 1, _("省")
    CITY = 2, _("市")
    COUNTY = 3, _("县（市、区）")
    TOWNSHIP = 4, _("乡镇（街道）")


# The national root's code: GB/T 2260 has none; 100000 is the one map and statistics
# services use for 中华人民共和国. It is not a prefix of the province codes.
NATIONAL_CODE = "100000"

# Digits per level in GB/T 2260 and the statistical division codes.
CODE_LENGTH = {RegionLevel.NATIONAL: 6, RegionLevel.PROVINCE: 2, RegionLevel.CITY: 4, RegionLevel.COUNTY: 6, RegionLevel.TOWNSHIP: 9}


class Region(models.Model):
    """One unit of the administrative tree. `path` is the codes from the national root (全国)
    down, each followed by '/', so a subtree is one indexed prefix match."""

    code = models.CharField(
        _("区划代码"), max_length=12, unique=True, validators=[RegexValidator(r"^\d{2,12}$", _("区划代码只能由数字组成"))]
    )
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("级别"), choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级区划"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=80, unique=True, editable=False)
    is_nonstandard = models.BooleanField(
        _("非标准区划"), default=False, help_text=_("开发区、高新区等不在国家区划代码表中的县级单位")
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["path"]
        indexes = [models.Index(fields=["path"], name="region_path_prefix", opclasses=["varchar_pattern_ops"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level=0, parent__isnull=True) | models.Q(level__gt=0, parent__isnull=False),
                name="region_parent_matches_level",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_codes(self) -> list[str]:
        return [code for code in self.path.split("/") if code]

    def full_name(self) -> str:
        """"山东省聊城市东昌府区": names from the province down (the national root is named
        only when it is the region itself), one query."""
        if self.level == RegionLevel.NATIONAL:
            return self.name
        names = dict(Region.objects.filter(code__in=self.ancestor_codes, level__gt=RegionLevel.NATIONAL)
                     .values_list("code", "name"))
        return "".join(names[code] for code in self.ancestor_codes if code in names)

    def is_within(self, other: "Region") -> bool:
        return self.path.startswith(other.path)


class Department(models.TextChoices):
    HEALTH = "health", _("卫生健康")
    HRSS = "hrss", _("人力资源社会保障")
    EMERGENCY = "emergency", _("应急管理")
    MINE_SAFETY = "mine_safety", _("煤矿安全监察")
    MEDICAL_INSURANCE = "medical_insurance", _("医疗保障")
    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    JUSTICE = "justice", _("司法行政")
    TRADE_UNION = "trade_union", _("总工会")


class Role(models.TextChoices):
    CLERK = "clerk", _("录入")
    REVIEWER = "reviewer", _("审核")
    VIEWER = "viewer", _("查看")
    INSPECTOR = "inspector", _("检查员")
    ADMIN = "admin", _("管理员")


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=64, help_text=_("显示在页面和审计记录中的中文姓名"))
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Membership(models.Model):
    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="memberships")
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="memberships")
    department = models.CharField(_("部门"), max_length=32, choices=Department.choices)
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("授予时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("授予人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("岗位授权")
        verbose_name_plural = _("岗位授权")
        constraints = [
            models.UniqueConstraint(fields=["user", "region", "department", "role"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.get_department_display()} {self.get_role_display()}"
