"""Forms for work-injury insurance coverage on the HRSS side."""

from django import forms
from django.utils.translation import gettext_lazy as _

from insurance.models import FollowUpAction, TrainingKind
from insurance.services import import_max_bytes
from ledger.forms import PeriodChoiceField
from portal.forms import BootstrapFormMixin, RegionChoiceField, ValueRulesFormMixin
from portal.importing import too_large_message
from portal.models import Region, RegionLevel
from portal.scoping import Capability, ScopedRegionField

DATE = forms.DateInput(attrs={"type": "date"})


class HandoverForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    county = RegionChoiceField(label=_("县（市、区）"), queryset=Region.objects.none())
    period = PeriodChoiceField()

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.LEDGER_EDIT, "county", level=RegionLevel.COUNTY)


class CoverageForm(ValueRulesFormMixin, BootstrapFormMixin, forms.Form):
    past_date_fields = ("as_of",)

    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=18)
    period = PeriodChoiceField()
    insured_workers = forms.IntegerField(label=_("参保人数"), min_value=0)
    as_of = forms.DateField(label=_("截至日期"), widget=DATE)


class ImportForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    region = RegionChoiceField(label=_("导入区划"), queryset=Region.objects.none(),
                               help_text=_("文件中的单位应属于该区划"))
    period = PeriodChoiceField()
    file = forms.FileField(label=_("参保单位表（.xlsx 或 .csv）"),
                           help_text=_("列：单位名称、统一社会信用代码、参保人数、截至日期；Excel 的第二个工作表可为参保人员表"))
    persons_file = forms.FileField(label=_("参保人员表（可选，CSV）"), required=False,
                                   help_text=_("列：姓名、居民身份证号、统一社会信用代码"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.INSURANCE_EDIT, "region", max_level=RegionLevel.COUNTY)

    def _within_limit(self, name):
        upload = self.cleaned_data.get(name)
        limit = import_max_bytes()
        if upload is not None and upload.size > limit:
            raise forms.ValidationError(too_large_message(upload.size, limit))
        return upload

    def clean_file(self):
        return self._within_limit("file")

    def clean_persons_file(self):
        return self._within_limit("persons_file")


class FollowUpForm(ValueRulesFormMixin, BootstrapFormMixin, forms.Form):
    past_date_fields = ("acted_on",)

    action = forms.ChoiceField(label=_("跟进措施"), choices=FollowUpAction.choices)
    acted_on = forms.DateField(label=_("日期"), widget=DATE)
    enrolled = forms.IntegerField(label=_("新增参保人数"), min_value=0, required=False,
                                  help_text=_("仅“已参保”填写，将计入人社部门参保人数"))
    note = forms.CharField(label=_("备注"), max_length=500, required=False)


class PlanForm(ValueRulesFormMixin, BootstrapFormMixin, ScopedRegionField, forms.Form):
    region = RegionChoiceField(label=_("区划"), queryset=Region.objects.none())
    title = forms.CharField(label=_("计划名称"), max_length=200, initial=_("工伤保险扩面专项行动三年计划"))
    start_year = forms.IntegerField(label=_("起始年度"), min_value=2019, max_value=2100, initial=2020)
    insured_1 = forms.IntegerField(label=_("第一年参保人数目标"), min_value=0)
    rate_1 = forms.DecimalField(label=_("第一年重点行业参保率目标（%）"), min_value=0, max_value=100, decimal_places=2)
    insured_2 = forms.IntegerField(label=_("第二年参保人数目标"), min_value=0)
    rate_2 = forms.DecimalField(label=_("第二年重点行业参保率目标（%）"), min_value=0, max_value=100, decimal_places=2)
    insured_3 = forms.IntegerField(label=_("第三年参保人数目标"), min_value=0)
    rate_3 = forms.DecimalField(label=_("第三年重点行业参保率目标（%）"), min_value=0, max_value=100, decimal_places=2)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.INSURANCE_EDIT, "region", max_level=RegionLevel.COUNTY)

    def targets(self):
        return [(self.cleaned_data[f"insured_{i}"], self.cleaned_data[f"rate_{i}"]) for i in (1, 2, 3)]


class TrainingForm(ValueRulesFormMixin, BootstrapFormMixin, ScopedRegionField, forms.Form):
    past_date_fields = ("held_on",)

    region = RegionChoiceField(label=_("区划"), queryset=Region.objects.none())
    kind = forms.ChoiceField(label=_("类型"), choices=TrainingKind.choices)
    title = forms.CharField(label=_("名称"), max_length=200)
    held_on = forms.DateField(label=_("日期"), widget=DATE)
    participants = forms.IntegerField(label=_("参加人数"), min_value=0)
    employers = forms.CharField(label=_("参加单位的统一社会信用代码"), required=False,
                                widget=forms.Textarea(attrs={"rows": 3}), help_text=_("每行一个"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.INSURANCE_EDIT, "region", max_level=RegionLevel.TOWNSHIP)

    def uscc_list(self) -> list[str]:
        return [line.strip().upper() for line in self.cleaned_data.get("employers", "").splitlines() if line.strip()]
