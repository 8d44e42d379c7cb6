"""Forms for inspection plans, teams, checklists, findings and reports."""

from django import forms
from django.utils.translation import gettext_lazy as _

from inspections import selectors
from inspections.models import AnswerType, ChecklistKind, FindingStatus, Inspection, Severity, Team
from portal.forms import REGISTERED_ELSEWHERE, BootstrapFormMixin, RegionChoiceField
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, ScopedRegionField

DATE = forms.DateInput(attrs={"type": "date"})


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return f"{user.display_name or user.username}（{user.username}）"


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return f"{user.display_name or user.username}（{user.username}）"


class PlanForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    region = RegionChoiceField(label=_("发文区划"), queryset=Region.objects.none())
    name = forms.CharField(label=_("计划名称"), max_length=200)
    document_number = forms.CharField(label=_("文号"), max_length=64, required=False)
    window_start = forms.DateField(label=_("检查开始日期"), widget=DATE)
    window_end = forms.DateField(label=_("检查结束日期"), widget=DATE)
    report_deadline = forms.DateField(label=_("报告报送截止日期"), widget=DATE)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.INSPECTION_MANAGE, "region", max_level=RegionLevel.COUNTY)


class TeamForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("组名"), max_length=64)
    leader = UserChoiceField(label=_("组长"), queryset=User.objects.none())
    members = UsersChoiceField(label=_("组员"), queryset=User.objects.none(), required=False)
    liaison = UserChoiceField(label=_("联络员"), queryset=User.objects.none(), required=False)
    liaison_phone = forms.CharField(label=_("联络员电话"), max_length=32, required=False)

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("leader", "members", "liaison"):
            self.fields[name].queryset = selectors.team_candidates(plan)


class AssignmentForm(BootstrapFormMixin, forms.Form):
    team = forms.ModelChoiceField(label=_("检查组"), queryset=Team.objects.none())
    kind = forms.ChoiceField(label=_("检查类型"), choices=ChecklistKind.choices)
    region = RegionChoiceField(label=_("被检查地区（综合检查）"), queryset=Region.objects.none(), required=False)
    employer_uscc = forms.CharField(label=_("被检查单位统一社会信用代码（暗访检查）"), max_length=18, required=False)

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields["team"].queryset = plan.teams.order_by("name")
        self.fields["region"].queryset = Region.objects.filter(
            path__startswith=plan.region.path, level__lte=RegionLevel.COUNTY)

    def clean(self):
        data = super().clean()
        from ledger.models import Employer

        data["employer"] = None
        if data.get("kind") == ChecklistKind.UNANNOUNCED:
            code = (data.get("employer_uscc") or "").strip().upper()
            # Only the plan's region is searched: an employer elsewhere is neither named nor placed.
            found = Employer.objects.filter(uscc=code) if code else Employer.objects.none()
            data["employer"] = found.filter(county__path__startswith=self.plan.region.path).first()
            if data["employer"] is None:
                self.add_error("employer_uscc", REGISTERED_ELSEWHERE if found.exists()
                               else _("未找到该统一社会信用代码的用人单位。"))
        return data


class ReassignForm(BootstrapFormMixin, forms.Form):
    """Another team of the same plan for an active assignment."""

    team = forms.ModelChoiceField(label=_("改派给检查组"), queryset=Team.objects.none())

    def __init__(self, *args, assignment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = assignment.plan.teams.exclude(pk=assignment.team_id).order_by("name")


class ItemForm(BootstrapFormMixin, forms.Form):
    text = forms.CharField(label=_("检查内容"), max_length=300)
    answer_type = forms.ChoiceField(label=_("答案类型"), choices=AnswerType.choices)
    choices = forms.CharField(label=_("选项（单选题，用顿号、分隔）"), required=False)
    required = forms.BooleanField(label=_("必填"), required=False)
    no_is_finding = forms.BooleanField(label=_("答“否”即为问题"), required=False)
    default_severity = forms.ChoiceField(label=_("默认问题等级"), choices=Severity.choices)
    guidance = forms.CharField(label=_("检查要点"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_choices(self):
        raw = self.cleaned_data.get("choices", "")
        return [c.strip() for c in raw.replace(",", "、").replace("，", "、").split("、") if c.strip()]


class NewItemForm(BootstrapFormMixin, forms.Form):
    section = forms.CharField(label=_("所属部分编号"), max_length=8)
    text = forms.CharField(label=_("检查内容"), max_length=300)
    answer_type = forms.ChoiceField(label=_("答案类型"), choices=AnswerType.choices)


class RectifyForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("整改情况说明"), widget=forms.Textarea(attrs={"rows": 3}))
    file = forms.FileField(label=_("整改照片（可选）"), required=False)


class ReviewForm(BootstrapFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("核实结论"), choices=[
        (FindingStatus.VERIFIED, _("核实销号")), (FindingStatus.REOPENED, _("重新整改"))])
    comment = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SignForm(BootstrapFormMixin, forms.Form):
    highlights = forms.CharField(label=_("工作亮点"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    problems = forms.CharField(label=_("主要问题"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    signature = forms.CharField(widget=forms.HiddenInput, required=False)


class ReturnForm(BootstrapFormMixin, forms.Form):
    # Not required here: the service checks the leader first, then the reason, so a non-leader
    # is refused (403) whatever was typed; the browser still asks for it.
    reason = forms.CharField(label=_("退回原因"), required=False, widget=forms.Textarea(attrs={
        "rows": 3, "required": True, "maxlength": Inspection._meta.get_field("return_reason").max_length,
        "data-testid": "return-reason",
        "placeholder": _("请写明需要改正的检查项和原因")}))
