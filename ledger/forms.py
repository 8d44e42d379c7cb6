"""Forms of the ledger. They parse and present; the rules live in ledger.services."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ledger.models import RECORD_FIELDS, DustType, Employer, EmployerRecord, Industry, ReportingPeriod, Worker
from ledger.selectors import county_choices, current_period
from ledger.services import EMPLOYER_FIELDS, RECORD_DATE_FIELDS, WORKER_FIELDS
from ledger.validation import clean_phone, clean_registration_number, clean_uscc
from portal.forms import BootstrapFormMixin, RegionChoiceField, ValueRulesFormMixin
from portal.importing import max_import_bytes, too_large_message
from portal.models import Region, RegionLevel
from portal.scoping import Capability, ScopedRegionField
from portal.workbook import XLSX_CONTENT_TYPE

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


class EmployerForm(ValueRulesFormMixin, BootstrapFormMixin, ScopedRegionField, forms.ModelForm):
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
        self.limit_region_fields(actor, Capability.LEDGER_EDIT, "county", level=RegionLevel.COUNTY)
        self.limit_region_fields(actor, Capability.LEDGER_EDIT, "township", level=RegionLevel.TOWNSHIP)
        for name in ("uscc", "registration_number"):
            self.fields[name].required = False
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def _identifier(self, name: str, cleaner):
        # Checked with the other fields, so a wrong check digit is reported together with the
        # required fields still missing, not only once they are filled in.
        value = self.cleaned_data.get(name)
        if not value:
            return value
        try:
            return cleaner(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def clean_uscc(self):
        return self._identifier("uscc", clean_uscc)

    def clean_registration_number(self):
        return self._identifier("registration_number", clean_registration_number)

    def clean_legal_representative_phone(self):
        return self._identifier("legal_representative_phone", clean_phone)

    def clean_health_manager_phone(self):
        return self._identifier("health_manager_phone", clean_phone)

    def _post_clean(self):
        """The rest of the validation is the service's (it knows other counties' employers); skip
        model validation here so the messages come from one place."""


class RecordForm(ValueRulesFormMixin, BootstrapFormMixin, forms.ModelForm):
    past_date_fields = tuple(RECORD_DATE_FIELDS)
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = EmployerRecord
        fields = RECORD_FIELDS
        widgets = {f: DATE_WIDGET for f in ("declared_on", "last_test_date", "last_inspection_date")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version

    def _post_clean(self):
        """The consistency rules are checked by ledger.services.record_update."""


class ExposureForm(ValueRulesFormMixin, BootstrapFormMixin, forms.Form):
    dust_type = forms.ModelChoiceField(label=_("粉尘种类"), queryset=DustType.objects.all(), required=False)
    exposed_workers = forms.IntegerField(label=_("接尘人数"), min_value=0, required=False)


ExposureFormSet = forms.formset_factory(ExposureForm, extra=3, max_num=20)


class WorkerForm(ValueRulesFormMixin, BootstrapFormMixin, forms.ModelForm):
    past_date_fields = ("exposure_start", "last_exam_date")
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


class PeriodChoiceField(forms.ModelChoiceField):
    """The national half-year periods (shared reference data, not region-scoped), newest first."""

    def __init__(self, **kwargs):
        kwargs.setdefault("empty_label", None)
        super().__init__(queryset=ReportingPeriod.objects.order_by("-year", "-half"), label=_("填报期"), **kwargs)


class ImportForm(forms.Form):
    county = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("县（市、区）"))
    period = PeriodChoiceField(empty_label="---------")
    file = forms.FileField(label=_("台帐文件（.xlsx）"),
                           help_text=_("请使用官方模板填写；导入前先校验全部行，有错误则不写入任何数据。"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        counties = county_choices(user, Capability.LEDGER_EDIT)
        self.fields["county"].queryset = counties
        self.fields["county"].label_from_instance = lambda r: f"{r.parent.name} {r.name}（{r.code}）"
        if counties.count() == 1:
            self.fields["county"].initial = counties.first()
        self.fields["period"].initial = current_period()
        for name, field in self.fields.items():
            field.widget.attrs.update({"class": "form-select" if name != "file" else "form-control",
                                       "data-testid": f"import-{name}"})
        self.fields["file"].widget.attrs["accept"] = f".xlsx,{XLSX_CONTENT_TYPE}"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if name.endswith(".xls"):
            raise ValidationError(_("这是旧版 Excel 97-2003（.xls）文件，请在 Excel 中另存为 .xlsx 后再上传。"))
        if not name.endswith(".xlsx"):
            raise ValidationError(_("请上传 Excel 工作簿（.xlsx）文件。"))
        limit = max_import_bytes()
        if upload.size > limit:
            raise ValidationError(too_large_message(upload.size, limit))
        return upload
