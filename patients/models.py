"""Pneumoconiosis patients (保障存量): one file per patient (一人一档), their follow-ups (随访),
what each department did for them (分类救治救助), rehabilitation stations and points, and the
log of who read a file or an unmasked ID number."""

import datetime

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.jobs import ImportJobBase, ImportStatus  # noqa: F401 - ImportStatus is imported from here too
from portal.models import Region, RegionLevel

LEVEL_FIELDS = {
    RegionLevel.PROVINCE: "province", RegionLevel.CITY: "city", RegionLevel.COUNTY: "county",
    RegionLevel.TOWNSHIP: "township",
}


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Disease(models.TextChoices):
    """The 13 pneumoconioses of 职业病分类和目录 (2013)."""

    SILICOSIS = "silicosis", _("矽肺")
    COAL_WORKER = "coal_worker", _("煤工尘肺")
    GRAPHITE = "graphite", _("石墨尘肺")
    CARBON_BLACK = "carbon_black", _("炭黑尘肺")
    ASBESTOSIS = "asbestosis", _("石棉肺")
    TALC = "talc", _("滑石尘肺")
    CEMENT = "cement", _("水泥尘肺")
    MICA = "mica", _("云母尘肺")
    POTTER = "potter", _("陶工尘肺")
    ALUMINIUM = "aluminium", _("铝尘肺")
    WELDER = "welder", _("电焊工尘肺")
    FOUNDRY = "foundry", _("铸工尘肺")
    OTHER = "other", _("其他尘肺")


class DiagnosisKind(models.TextChoices):
    OCCUPATIONAL = "occupational", _("职业性尘肺病")
    UNPROVEN = "unproven", _("仅诊断为尘肺病（职业史无法证明）")


class Stage(models.IntegerChoices):
    ONE = 1, _("壹期")
    TWO = 2, _("贰期")
    THREE = 3, _("叁期")


class LifeStatus(models.TextChoices):
    ALIVE = "alive", _("存活")
    MOVED_AWAY = "moved_away", _("迁出（失访）")
    DIED = "died", _("死亡")


class ReliefCategory(models.TextChoices):
    """Seed 001 二、2: four ways a patient is helped, derived from the file, never typed."""

    INSURED = "a", _("（一）职业性、已参加工伤保险：落实工伤保险待遇")
    EMPLOYER_PAYS = "b", _("（二）职业性、未参保、用人单位仍存在：由用人单位承担")
    EMPLOYER_GONE = "c", _("（三）职业性、未参保、用人单位已不存在：医疗救助和生活帮扶")
    UNPROVEN = "d", _("（四）仅诊断为尘肺病：医疗救助和生活帮扶")


def derive_relief(*, occupational: bool, insured: bool, employer_exists: bool) -> tuple[str, str]:
    """The category and the reason a reader sees beside it."""
    if not occupational:
        return ReliefCategory.UNPROVEN, str(_("未能证明职业病因（仅诊断为尘肺病）"))
    if insured:
        return ReliefCategory.INSURED, str(_("职业性尘肺病，已参加工伤保险"))
    if employer_exists:
        return ReliefCategory.EMPLOYER_PAYS, str(_("职业性尘肺病，未参加工伤保险，接尘用人单位仍存在"))
    return ReliefCategory.EMPLOYER_GONE, str(_("职业性尘肺病，未参加工伤保险，接尘用人单位已不存在（关闭或注销）"))


class RegionKeys(models.Model):
    """Denormalized region keys (set by the services from the county) so scoping is one
    indexed equality and rollups group without joins."""

    SCOPE_LEVEL_FIELDS = LEVEL_FIELDS

    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("省"))
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("市"))
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("县（市、区）"))
    township = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                 verbose_name=_("乡镇（街道）"))

    class Meta:
        abstract = True

    def set_region(self, county: Region, township: Region | None) -> None:
        city = county.parent
        self.county, self.township = county, township
        self.city_id, self.province_id = city.pk, city.parent_id


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Patient(RegionKeys):
    """一人一档. ID numbers are stored whole and masked on the way out unless the role needs them."""

    name = models.CharField(_("姓名"), max_length=64)
    id_number = models.CharField(_("居民身份证号"), max_length=18, unique=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    village = models.CharField(_("村（社区）"), max_length=64, blank=True)
    address = models.CharField(_("现住址"), max_length=200, blank=True)

    employer = models.ForeignKey("ledger.Employer", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("接尘用人单位（台帐）"))
    employer_name = models.CharField(_("接尘用人单位名称"), max_length=200, blank=True)
    employer_uscc = models.CharField(_("接尘用人单位统一社会信用代码"), max_length=18, blank=True)
    employer_gone = models.BooleanField(_("单位已不存在"), default=False)
    exposure_years = models.DecimalField(_("接尘工龄（年）"), max_digits=4, decimal_places=1, null=True, blank=True)
    dust_type = models.ForeignKey("ledger.DustType", on_delete=models.PROTECT, null=True, blank=True,
                                  verbose_name=_("粉尘种类"))

    diagnosis_kind = models.CharField(_("诊断类别"), max_length=16, choices=DiagnosisKind.choices)
    disease = models.CharField(_("尘肺病种类"), max_length=16, choices=Disease.choices, blank=True)
    stage = models.PositiveSmallIntegerField(_("期别"), choices=Stage.choices)
    diagnosed_on = models.DateField(_("诊断日期"))
    diagnosis_institution = models.CharField(_("诊断机构"), max_length=200, blank=True)
    certificate_number = models.CharField(_("诊断证明书编号"), max_length=64, blank=True)

    injury_insured = models.BooleanField(_("参加工伤保险"), default=False)
    injury_recognized = models.BooleanField(_("已认定工伤"), default=False)
    disability_grade = models.PositiveSmallIntegerField(_("伤残等级"), null=True, blank=True,
                                                        choices=[(n, f"{n}级") for n in range(1, 11)])

    status = models.CharField(_("生存状态"), max_length=16, choices=LifeStatus.choices, default=LifeStatus.ALIVE)
    died_on = models.DateField(_("死亡日期"), null=True, blank=True)
    death_cause = models.CharField(_("死亡原因"), max_length=200, blank=True)

    rehab_filed_on = models.DateField(_("肺康复建档日期"), null=True, blank=True)
    relief_category = models.CharField(_("救治救助类别"), max_length=1, choices=ReliefCategory.choices,
                                       editable=False)
    last_followup_on = models.DateField(_("最近随访日期"), null=True, blank=True, editable=False)
    next_followup_due = models.DateField(_("下次随访应于"), null=True, blank=True, editable=False)
    # Kept by the services in the transaction that changes them, so the rollup reads the files
    # alone (1.06 M follow-ups took 3.4 s to scan per period at 200,000 files): every follow-up's
    # date, ascending (a period's latest one is found by width_bucket's binary search), and the
    # day a department serving the patient's category first recorded a measure.
    followup_dates = ArrayField(models.DateField(), default=list, blank=True, editable=False,
                                verbose_name=_("随访日期"))
    relief_acted_on = models.DateField(_("救治救助首次落实日期"), null=True, blank=True, editable=False)

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("尘肺病患者")
        verbose_name_plural = _("尘肺病患者")
        indexes = [
            models.Index(fields=["county", "name"]),
            models.Index(fields=["county", "status", "next_followup_due"]),
            models.Index(fields=["city", "name"]),
            models.Index(fields=["province", "name"]),
            models.Index(fields=["township", "status"]),
            models.Index(fields=["county", "relief_category"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(stage__in=[1, 2, 3]), name="patient_stage_valid"),
            models.CheckConstraint(
                condition=~models.Q(status="died") | models.Q(died_on__isnull=False), name="patient_died_has_date"),
            models.CheckConstraint(condition=models.Q(diagnosed_on__gte=models.F("birth_date")),
                                   name="patient_diagnosis_after_birth"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_occupational(self) -> bool:
        return self.diagnosis_kind == DiagnosisKind.OCCUPATIONAL

    @property
    def employer_exists(self) -> bool:
        """A ledger employer exists unless it is closed; an unlisted one unless marked gone."""
        if self.employer_id is not None:
            return self.employer.status != "closed"
        return not self.employer_gone

    def relief(self) -> tuple[str, str]:
        return derive_relief(occupational=self.is_occupational, insured=self.injury_insured,
                             employer_exists=self.employer_exists)

    @property
    def relief_reason(self) -> str:
        return self.relief()[1]

    @property
    def employer_display(self) -> str:
        return self.employer.name if self.employer_id else self.employer_name

    def followup_overdue(self, today: datetime.date) -> bool:
        return self.status == LifeStatus.ALIVE and self.next_followup_due is not None and self.next_followup_due < today


@pghistory.track(pghistory.InsertEvent())
class PatientMove(models.Model):
    """A file handed from one county to another (the patient moved house): kept, never edited."""

    SCOPE_LEVEL_FIELDS = {RegionLevel.COUNTY: "to_county", RegionLevel.CITY: "patient__city",
                          RegionLevel.PROVINCE: "patient__province"}

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="moves")
    from_county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("迁出县"))
    from_township = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    from_village = models.CharField(max_length=64, blank=True)
    to_county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("迁入县"))
    moved_on = models.DateField(_("迁移日期"))
    reason = models.CharField(_("迁移原因"), max_length=200, blank=True)
    moved_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-moved_on", "-id"]

    def __str__(self) -> str:
        return f"{self.patient_id} → {self.to_county_id} {self.moved_on}"


class FollowUpWay(models.TextChoices):
    HOME = "home", _("入户随访")
    PHONE = "phone", _("电话随访")
    CLINIC = "clinic", _("门诊随访")


class HealthStatus(models.TextChoices):
    STABLE = "stable", _("病情稳定")
    IMPROVED = "improved", _("好转")
    WORSE = "worse", _("加重")
    BEDRIDDEN = "bedridden", _("卧床、生活不能自理")


class OxygenUse(models.TextChoices):
    NONE = "none", _("未吸氧")
    OCCASIONAL = "occasional", _("间断吸氧")
    LONG_TERM = "long_term", _("长期家庭氧疗")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class FollowUp(RegionKeys):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="followups")
    followed_on = models.DateField(_("随访日期"))
    way = models.CharField(_("随访方式"), max_length=16, choices=FollowUpWay.choices)
    health_status = models.CharField(_("健康状况"), max_length=16, choices=HealthStatus.choices)
    fev1_percent = models.DecimalField(_("FEV1占预计值%"), max_digits=5, decimal_places=1, null=True, blank=True)
    fvc_percent = models.DecimalField(_("FVC占预计值%"), max_digits=5, decimal_places=1, null=True, blank=True)
    oxygen_use = models.CharField(_("吸氧情况"), max_length=16, choices=OxygenUse.choices, default=OxygenUse.NONE)
    rehab_received = models.BooleanField(_("接受康复治疗"), default=False)
    rehab_note = models.CharField(_("康复内容"), max_length=200, blank=True)
    note = models.TextField(_("备注"), blank=True)
    recorded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("随访记录")
        verbose_name_plural = _("随访记录")
        ordering = ["-followed_on", "-id"]
        indexes = [models.Index(fields=["patient", "-followed_on"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.followed_on}"


class ReliefKind(models.TextChoices):
    INSURANCE_BENEFIT = "insurance_benefit", _("工伤保险待遇已落实")
    EMPLOYER_PAID = "employer_paid", _("用人单位已承担医疗和生活保障费用")
    MEDICAL_AID = "medical_aid", _("纳入医疗救助（含资助参保）")
    BASIC_LIVING = "basic_living", _("纳入基本生活救助（低保、特困等）")
    LEGAL_AID = "legal_aid", _("法律援助立案")
    UNION_ASSISTANCE = "union_assistance", _("工会帮扶慰问")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ReliefAction(RegionKeys):
    """What a department did for a patient of its categories (benefit started, aid granted…)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="relief_actions")
    department = models.CharField(_("部门"), max_length=32)
    kind = models.CharField(_("救助措施"), max_length=32, choices=ReliefKind.choices)
    acted_on = models.DateField(_("落实日期"))
    reference = models.CharField(_("文书或案件编号"), max_length=64, blank=True)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("救治救助措施")
        verbose_name_plural = _("救治救助措施")
        ordering = ["-acted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.kind} {self.acted_on}"


class SiteKind(models.TextChoices):
    STATION = "station", _("康复站（乡镇、街道）")
    POINT = "point", _("康复点（村居）")


# Seed 001 三、2: what a station and a point have.
STATION_ROOMS = [("oxygen", _("氧疗室")), ("treatment", _("治疗室")), ("education", _("教育室")), ("rescue", _("抢救室"))]
STATION_EQUIPMENT = [("ecg", _("心电图机")), ("oxygen_supply", _("吸氧装置")), ("ventilator", _("呼吸机")),
                     ("concentrator", _("制氧机")), ("beds", _("医疗床位"))]
SITE_MINIMUM = {
    SiteKind.STATION: {"rooms": ["oxygen", "treatment", "education", "rescue"],
                       "equipment": ["ecg", "oxygen_supply", "ventilator"]},
    SiteKind.POINT: {"rooms": [], "equipment": ["concentrator", "beds"]},
}


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class RehabSite(RegionKeys):
    kind = models.CharField(_("类型"), max_length=16, choices=SiteKind.choices)
    name = models.CharField(_("名称"), max_length=200)
    village = models.CharField(_("村（社区）"), max_length=64, blank=True)
    host_institution = models.CharField(_("依托机构"), max_length=200,
                                        help_text=_("乡镇卫生院、社区卫生服务中心或村卫生室"))
    rooms = ArrayField(models.CharField(max_length=16, choices=STATION_ROOMS), default=list, blank=True,
                       verbose_name=_("功能用房"))
    equipment = ArrayField(models.CharField(max_length=16, choices=STATION_EQUIPMENT), default=list, blank=True,
                           verbose_name=_("设备"))
    drugs_stocked = models.BooleanField(_("备齐常用药物"), default=False)
    opened_on = models.DateField(_("建成日期"))
    patients_served = models.PositiveIntegerField(_("服务患者数"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("尘肺病康复站（点）")
        verbose_name_plural = _("尘肺病康复站（点）")
        ordering = ["county", "kind", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(township__isnull=False), name="rehabsite_has_township"),
        ]

    def __str__(self) -> str:
        return self.name

    def missing(self) -> list[str]:
        rooms, equipment = dict(STATION_ROOMS), dict(STATION_EQUIPMENT)
        need = SITE_MINIMUM[self.kind]
        return ([str(rooms[r]) for r in need["rooms"] if r not in self.rooms]
                + [str(equipment[e]) for e in need["equipment"] if e not in self.equipment])


class AccessKind(models.TextChoices):
    FILE = "file", _("查看患者档案")
    IDENTITY = "identity", _("查看完整身份证号")
    EXPORT = "export", _("导出（含完整身份证号）")
    API = "api", _("接口读取档案")


class PatientAccess(RegionKeys):
    """Who read which patient's file or full ID number, when. Append-only; the region's admin
    reads it. Scoped by the patient's region at the time of reading."""

    user = models.ForeignKey("portal.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("用户"))
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+", verbose_name=_("患者"))
    kind = models.CharField(_("访问内容"), max_length=16, choices=AccessKind.choices)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("患者档案访问记录")
        verbose_name_plural = _("患者档案访问记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["county", "-at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.patient_id} {self.at}"


class PatientImportJob(RegionKeys, ImportJobBase):
    """One uploaded patient list, run by the shared import runner (portal.importing): dry run
    with the per-cell report, then, once confirmed, written all or nothing. The upload holds ID
    numbers: it is deleted as soon as the job ends; the per-cell report stays (values as typed,
    ID numbers masked to whoever may not see them)."""

    file = models.FileField(upload_to="patient-imports/%Y/%m/", blank=True)

    class Meta(ImportJobBase.Meta):
        verbose_name = _("患者名单导入")
        verbose_name_plural = _("患者名单导入")

    def __str__(self) -> str:
        return self.original_name
