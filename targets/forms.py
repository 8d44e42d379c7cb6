from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapFormMixin, RegionChoiceField
from portal.models import Region, RegionLevel
from portal.scoping import Capability, ScopedRegionField
from targets.indicators import INDICATORS
from targets.models import Campaign


class TargetForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    campaign = forms.ModelChoiceField(label=_("方案"), queryset=Campaign.objects.all())
    region = RegionChoiceField(label=_("区划"), queryset=Region.objects.none())
    indicator = forms.ChoiceField(label=_("指标"), choices=[(i.code, i.name) for i in INDICATORS])
    due_on = forms.DateField(label=_("完成时限"), widget=forms.DateInput(attrs={"type": "date"}))
    value = forms.DecimalField(label=_("目标值（%）"), max_digits=5, decimal_places=2, min_value=0, max_value=100,
                               error_messages={"min_value": _("目标值应在 0～100% 之间。"),
                                               "max_value": _("目标值应在 0～100% 之间。")})

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.TARGETS_EDIT, "region", max_level=RegionLevel.COUNTY)


class CampaignForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    region = RegionChoiceField(label=_("发文区划"), queryset=Region.objects.none())
    name = forms.CharField(label=_("方案名称"), max_length=200)
    authority = forms.CharField(label=_("发文机关"), max_length=200)
    document_number = forms.CharField(label=_("文号"), max_length=64, required=False, help_text=_("如 辽卫发〔2019〕68号"))
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.TARGETS_EDIT, "region", max_level=RegionLevel.COUNTY)
