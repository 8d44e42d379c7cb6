"""Forms of the ledger. They parse and present; the rules live in ledger.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ledger.models import DustType, Employer, EmployerRecord, Industry, Worker
from ledger.services import EMPLOYER_FIELDS, RECORD_FIELDS, WORKER_FIELDS
from portal.forms import BootstrapFormMixin, RegionChoiceField
from portal.models import Region, RegionLevel
from portal.scoping import Capability, ScopedRegionField

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class IndustryChoiceField(forms.ModelChoiceField):
    """An industry by its GB/T 4754-2017 code, typed (the catalogue has ~2,000 entries)."""

    widget = forms.TextInput(attrs={"list": "industry-codes", "placeholder": "如 3011"})
    default_error_messages = {"invalid_choice": _("行业代码不存在（请按 GB/T 4754-2017 填写，如 3011 水泥制造）")}

    def __init__(self, **kwargs):
        super().__init__(queryset=Industry.objects.filter(level__gte=2), to_field_name="code", **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return Industry.objects.filter(pk=value).values_list("code", flat=True).first()
        return getattr(value, "code", value)


class EmployerForm(BootstrapFormMixin, ScopedRegionField, forms.ModelForm):
    county = RegionChoiceField(label=_("县（市、区）"), queryset=Region.objects.none())
    township = RegionChoiceField(label=_("乡镇（街道）"), queryset=Region.objects.none(), required=False)
    industry = IndustryChoiceField(label=_("行业代码"), help_text=_("GB/T 4754-2017 行业代码，建议填写到小类（4位）"))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Employer
        fields = [f for f in EMPLOYER_FIELDS]
        widgets = {"business_scope": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "uscc": _("18位，由数字和大写字母组成，系统自动核验校验位"),
            "in_governance_scope": _("纳入尘肺病防治攻坚行动专项治理范围的单位"),
        }

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.LEDGER_EDIT, "county", "township")
        self.fields["county"].queryset = self.fields["county"].queryset.filter(level=RegionLevel.COUNTY)
        self.fields["township"].queryset = self.fields["township"].queryset.filter(level=RegionLevel.TOWNSHIP)
        for name in ("uscc", "registration_number"):
            self.fields[name].required = False
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def _post_clean(self):
        """Validation is the service's (it knows other counties' employers); skip model
        validation here so the messages come from one place."""


class RecordForm(BootstrapFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = EmployerRecord
        fields = RECORD_FIELDS
        widgets = {f: DATE_WIDGET for f in ("declared_on", "last_test_date", "last_inspection_date")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        for name, field in self.fields.items():
            if isinstance(field, forms.IntegerField) and name != "version":
                field.min_value = 0
                field.widget.attrs["min"] = 0
                field.error_messages["min_value"] = _("不能为负数")

    def _post_clean(self):
        """The consistency rules are checked by ledger.services.record_update."""


class ExposureForm(BootstrapFormMixin, forms.Form):
    dust_type = forms.ModelChoiceField(label=_("粉尘种类"), queryset=DustType.objects.all(), required=False)
    exposed_workers = forms.IntegerField(label=_("接尘人数"), min_value=0, required=False,
                                         error_messages={"min_value": _("不能为负数")})


ExposureFormSet = forms.formset_factory(ExposureForm, extra=3, max_num=20)


class WorkerForm(BootstrapFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Worker
        fields = WORKER_FIELDS
        widgets = {"exposure_start": DATE_WIDGET, "last_exam_date": DATE_WIDGET}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def _post_clean(self):
        """ID number checks and duplicates are ledger.services.worker_save's."""


class ReturnForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("退回原因"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class PeriodForm(BootstrapFormMixin, forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2019, max_value=2100)
    half = forms.TypedChoiceField(label=_("半年"), coerce=int, choices=[(1, _("上半年")), (2, _("下半年"))])
    deadline = forms.DateField(label=_("县级报送截止日期"), widget=DATE_WIDGET)
