"""The employer dust-hazard ledger (存在粉尘危害用人单位信息台帐)."""

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.industries import KeyIndustryGroup, LookbackGroup
from portal.models import Region, RegionLevel


class Industry(models.Model):
    """GB/T 4754-2017 国民经济行业分类, all four levels (reference data)."""

    code = models.CharField(_("行业代码"), max_length=4, unique=True)
    name = models.CharField(_("行业名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"))  # 1 门类, 2 大类, 3 中类, 4 小类
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    key_group = models.CharField(_("重点行业类别"), max_length=32, choices=KeyIndustryGroup.choices, blank=True)
    lookback_group = models.CharField(_("回头看行业"), max_length=32, choices=LookbackGroup.choices, blank=True)

    class Meta:
        verbose_name = _("行业")
        verbose_name_plural = _("行业")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DustType(models.Model):
    """Dusts of 职业病危害因素分类目录 (2015), reference data."""

    code = models.CharField(_("编号"), max_length=8, unique=True)
    name = models.CharField(_("粉尘名称"), max_length=64, unique=True)
    note = models.CharField(_("说明"), max_length=128, blank=True)
    pneumoconiosis = models.CharField(_("对应尘肺病"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("粉尘种类")
        verbose_name_plural = _("粉尘种类")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class EnterpriseSize(models.TextChoices):
    LARGE = "large", _("大型")
    MEDIUM = "medium", _("中型")
    SMALL = "small", _("小型")
    MICRO = "micro", _("微型")


class OwnershipType(models.TextChoices):
    STATE = "state", _("国有")
    COLLECTIVE = "collective", _("集体")
    JOINT_STOCK_COOPERATIVE = "joint_stock_cooperative", _("股份合作")
    LIMITED_LIABILITY = "limited_liability", _("有限责任公司")
    JOINT_STOCK = "joint_stock", _("股份有限公司")
    PRIVATE = "private", _("私营")
    HK_MACAO_TAIWAN = "hk_macao_taiwan", _("港澳台商投资")
    FOREIGN = "foreign", _("外商投资")
    INDIVIDUAL = "individual", _("个体经营")
    OTHER = "other", _("其他")


class OperatingStatus(models.TextChoices):
    OPERATING = "operating", _("正常")
    SUSPENDED = "suspended", _("停产整顿")
    CLOSED = "closed", _("关闭")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Employer(models.Model):
    """An employer with dust hazards. Province, city and county are denormalized from the
    county (set by the service layer) so scoping is one indexed equality."""

    SCOPE_LEVEL_FIELDS = {
        RegionLevel.PROVINCE: "province",
        RegionLevel.CITY: "city",
        RegionLevel.COUNTY: "county",
        RegionLevel.TOWNSHIP: "township",
    }

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, null=True, blank=True)
    registration_number = models.CharField(
        _("工商注册号（旧）"), max_length=15, null=True, blank=True,
        help_text=_("仅有 15 位旧注册号、尚未换领统一社会信用代码的单位填写"),
    )
    name = models.CharField(_("单位名称"), max_length=200)
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("省"))
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("市"))
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("县（市、区）"))
    township = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("乡镇（街道）")
    )
    registered_address = models.CharField(_("注册地址"), max_length=200, blank=True)
    workplace_address = models.CharField(_("作业场所地址"), max_length=200)
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, verbose_name=_("行业"))
    key_group = models.CharField(_("重点行业类别"), max_length=32, choices=KeyIndustryGroup.choices, blank=True)
    size = models.CharField(_("企业规模"), max_length=16, choices=EnterpriseSize.choices)
    ownership = models.CharField(_("经济类型"), max_length=32, choices=OwnershipType.choices)
    business_scope = models.TextField(_("经营范围"), blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=64)
    legal_representative_phone = models.CharField(_("法定代表人电话"), max_length=32, blank=True)
    health_manager = models.CharField(_("职业健康管理人员"), max_length=64, blank=True)
    health_manager_phone = models.CharField(_("职业健康管理人员电话"), max_length=32, blank=True)
    status = models.CharField(
        _("经营状态"), max_length=16, choices=OperatingStatus.choices, default=OperatingStatus.OPERATING
    )
    in_governance_scope = models.BooleanField(_("是否纳入治理范围"), default=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("用人单位")
        verbose_name_plural = _("用人单位")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uscc__isnull=False) | models.Q(registration_number__isnull=False),
                name="employer_has_identifier",
            ),
            models.UniqueConstraint(
                fields=["registration_number"], condition=models.Q(registration_number__isnull=False),
                name="employer_registration_number_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["county", "name"]),
            models.Index(fields=["city", "name"]),
            models.Index(fields=["province", "name"]),
            models.Index(fields=["township"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_legacy_identifier_only(self) -> bool:
        return not self.uscc and bool(self.registration_number)
