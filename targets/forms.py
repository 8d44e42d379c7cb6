from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapFormMixin, RegionChoiceField
from portal.models import Region, RegionLevel
from portal.scoping import Capability, ScopedRegionField
from targets import selectors
from targets.indicators import CATALOGUE, Source, target_choices
from targets.models import Campaign


class TargetForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    campaign = forms.ModelChoiceField(label=_("方案"), queryset=Campaign.objects.none())
    region = RegionChoiceField(label=_("区划"), queryset=Region.objects.none())
    indicator = forms.ChoiceField(label=_("指标"), choices=target_choices)
    due_on = forms.DateField(label=_("完成时限"), widget=forms.DateInput(attrs={"type": "date"}))
    wording = forms.CharField(label=_("原文"), max_length=500, required=False,
                              help_text=_("方案中规定该目标的原文，便于核对"))
    value = forms.DecimalField(label=_("目标值（%；计数指标为个数）"), max_digits=5, decimal_places=2, min_value=0, max_value=100,
                               error_messages={"min_value": _("目标值应在 0～100% 之间。"),
                                               "max_value": _("目标值应在 0～100% 之间。")})

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.TARGETS_EDIT, "region", max_level=RegionLevel.COUNTY)
        self.fields["campaign"].queryset = selectors.campaign_list(actor=actor, capability=Capability.TARGETS_EDIT)


class CampaignForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    region = RegionChoiceField(label=_("发文区划"), queryset=Region.objects.none())
    name = forms.CharField(label=_("方案名称"), max_length=200)
    authority = forms.CharField(label=_("发文机关"), max_length=200)
    document_number = forms.CharField(label=_("文号"), max_length=64, required=False, help_text=_("如 辽卫发〔2019〕68号"))
    issued_on = forms.DateField(label=_("印发日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                help_text=_("文件落款日期；文件未载明的留空"))
    first_year = forms.IntegerField(label=_("起始年度"), min_value=2000, max_value=2100)
    last_year = forms.IntegerField(label=_("终止年度"), min_value=2000, max_value=2100)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.TARGETS_EDIT, "region", max_level=RegionLevel.COUNTY)


class ReportedFigureForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    region = RegionChoiceField(label=_("区划"), queryset=Region.objects.none())
    indicator = forms.ChoiceField(label=_("指标"), choices=())
    numerator = forms.IntegerField(label=_("已落实数（是否类指标：1=是，0=否；计数类指标：个数）"), min_value=0)
    denominator = forms.IntegerField(label=_("应落实数（分母）"), min_value=0, required=False,
                                     help_text=_("是否类和计数类指标不填"))
    evidence = forms.FileField(label=_("佐证材料"), required=False,
                               help_text=_("培训名单、机构确定文件、建成验收材料等；已上传过的可不再上传"))
    note = forms.CharField(label=_("说明"), max_length=500, required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.FIGURES_REPORT, "region", max_level=RegionLevel.COUNTY)
        self.fields["indicator"].choices = [(e.code, e.name) for e in CATALOGUE if e.source == Source.REPORTED]
