from django import forms
from django.utils.translation import gettext_lazy as _

from ledger.models import DustType
from patients.models import (
    STATION_EQUIPMENT,
    STATION_ROOMS,
    DiagnosisKind,
    Disease,
    FollowUpWay,
    HealthStatus,
    LifeStatus,
    OxygenUse,
    ReliefKind,
    Sex,
    SiteKind,
    Stage,
)
from portal.forms import BootstrapFormMixin, RegionChoiceField
from portal.models import Region, RegionLevel
from portal.scoping import Capability, region_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _blank(choices):
    return [("", "---------"), *choices]


class RegionFieldsMixin:
    def limit_regions(self, actor, capability=Capability.PATIENT_EDIT):
        regions = region_choices(actor, capability)
        self.fields["county"].queryset = regions.filter(level=RegionLevel.COUNTY)
        self.fields["township"].queryset = regions.filter(level=RegionLevel.TOWNSHIP)


class PatientForm(BootstrapFormMixin, RegionFieldsMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_number = forms.CharField(label=_("居民身份证号"), max_length=18)
    sex = forms.ChoiceField(label=_("性别"), choices=_blank(Sex.choices), required=False,
                            help_text=_("不填则按身份证号确定"))
    birth_date = forms.DateField(label=_("出生日期"), widget=DATE, required=False, help_text=_("不填则按身份证号确定"))
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False)
    county = RegionChoiceField(label=_("现住址所在县（市、区）"), queryset=Region.objects.none())
    township = RegionChoiceField(label=_("乡镇（街道）"), queryset=Region.objects.none(), required=False)
    village = forms.CharField(label=_("村（社区）"), max_length=64, required=False)
    address = forms.CharField(label=_("现住址"), max_length=200, required=False)
    employer_uscc = forms.CharField(label=_("接尘用人单位统一社会信用代码"), max_length=18, required=False,
                                    help_text=_("台帐中已有的单位按此代码关联，其经营状态随台帐更新"))
    employer_name = forms.CharField(label=_("接尘用人单位名称"), max_length=200, required=False)
    employer_gone = forms.BooleanField(label=_("单位已不存在"), required=False,
                                       help_text=_("台帐中没有的单位：已关闭、注销或无法找到"))
    exposure_years = forms.DecimalField(label=_("接尘工龄（年）"), max_digits=4, decimal_places=1, required=False)
    dust_type = forms.ModelChoiceField(label=_("粉尘种类"), queryset=DustType.objects.all(), required=False)
    diagnosis_kind = forms.ChoiceField(label=_("诊断类别"), choices=_blank(DiagnosisKind.choices))
    disease = forms.ChoiceField(label=_("尘肺病种类"), choices=_blank(Disease.choices), required=False)
    stage = forms.TypedChoiceField(label=_("期别"), choices=_blank(Stage.choices), coerce=int, required=False,
                                   empty_value=None)
    diagnosed_on = forms.DateField(label=_("诊断日期"), widget=DATE)
    diagnosis_institution = forms.CharField(label=_("诊断机构"), max_length=200, required=False)
    certificate_number = forms.CharField(label=_("诊断证明书编号"), max_length=64, required=False)
    injury_insured = forms.BooleanField(label=_("参加工伤保险"), required=False)
    injury_recognized = forms.BooleanField(label=_("已认定工伤"), required=False)
    disability_grade = forms.TypedChoiceField(label=_("伤残等级"), choices=_blank([(n, f"{n}级") for n in range(1, 11)]),
                                              coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=_("生存状态"), choices=LifeStatus.choices, initial=LifeStatus.ALIVE)
    died_on = forms.DateField(label=_("死亡日期"), widget=DATE, required=False)
    death_cause = forms.CharField(label=_("死亡原因"), max_length=200, required=False)
    rehab_filed_on = forms.DateField(label=_("肺康复建档日期"), widget=DATE, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_regions(actor)


class MoveForm(BootstrapFormMixin, forms.Form):
    county = RegionChoiceField(label=_("迁入县（市、区）"), queryset=Region.objects.filter(level=RegionLevel.COUNTY))
    township = RegionChoiceField(label=_("乡镇（街道）"), queryset=Region.objects.filter(level=RegionLevel.TOWNSHIP),
                                 required=False)
    village = forms.CharField(label=_("村（社区）"), max_length=64, required=False)
    address = forms.CharField(label=_("新住址"), max_length=200, required=False)
    moved_on = forms.DateField(label=_("迁移日期"), widget=DATE)
    reason = forms.CharField(label=_("迁移原因"), max_length=200, required=False)


class FollowUpForm(BootstrapFormMixin, forms.Form):
    followed_on = forms.DateField(label=_("随访日期"), widget=DATE)
    way = forms.ChoiceField(label=_("随访方式"), choices=_blank(FollowUpWay.choices))
    health_status = forms.ChoiceField(label=_("健康状况"), choices=_blank(HealthStatus.choices))
    fev1_percent = forms.DecimalField(label=_("FEV1占预计值%"), max_digits=5, decimal_places=1, required=False)
    fvc_percent = forms.DecimalField(label=_("FVC占预计值%"), max_digits=5, decimal_places=1, required=False)
    oxygen_use = forms.ChoiceField(label=_("吸氧情况"), choices=OxygenUse.choices)
    rehab_received = forms.BooleanField(label=_("接受康复治疗"), required=False)
    rehab_note = forms.CharField(label=_("康复内容"), max_length=200, required=False)
    note = forms.CharField(label=_("备注"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReliefForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("救助措施"), choices=ReliefKind.choices)
    acted_on = forms.DateField(label=_("落实日期"), widget=DATE)
    reference = forms.CharField(label=_("文书或案件编号"), max_length=64, required=False)
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=12, decimal_places=2, required=False)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [(k, label) for k, label in ReliefKind.choices if k in kinds]


class RehabSiteForm(BootstrapFormMixin, RegionFieldsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=SiteKind.choices)
    name = forms.CharField(label=_("名称"), max_length=200)
    county = RegionChoiceField(label=_("县（市、区）"), queryset=Region.objects.none())
    township = RegionChoiceField(label=_("乡镇（街道）"), queryset=Region.objects.none())
    village = forms.CharField(label=_("村（社区）"), max_length=64, required=False, help_text=_("康复点填写"))
    host_institution = forms.CharField(label=_("依托机构"), max_length=200,
                                       help_text=_("乡镇卫生院、社区卫生服务中心或村卫生室"))
    rooms = forms.MultipleChoiceField(label=_("功能用房"), choices=STATION_ROOMS, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    equipment = forms.MultipleChoiceField(label=_("设备"), choices=STATION_EQUIPMENT, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    drugs_stocked = forms.BooleanField(label=_("备齐常用药物"), required=False)
    opened_on = forms.DateField(label=_("建成日期"), widget=DATE)
    patients_served = forms.IntegerField(label=_("服务患者数"), min_value=0, initial=0)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_regions(actor)


class ImportForm(BootstrapFormMixin, forms.Form):
    county = RegionChoiceField(label=_("导入到县（市、区）"), queryset=Region.objects.none())
    file = forms.FileField(label=_("患者名单（.xlsx，使用下载的模板）"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].queryset = region_choices(actor, Capability.PATIENT_EDIT).filter(
            level=RegionLevel.COUNTY).order_by("code")
