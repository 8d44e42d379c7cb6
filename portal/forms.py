from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.utils.translation import gettext_lazy as _

from portal.models import Department, Region, RegionLevel, Role
from portal.scoping import Capability, ScopedRegionField, capabilities_of

# The one answer for a USCC or ID number held outside the user's scope: neither the holder's
# name nor its region (docs/ARCHITECTURE-NOTES.md, "Exists but not yours").
REGISTERED_ELSEWHERE = _("已在其他地区登记。")


class BootstrapFormMixin:
    """Bootstrap classes on every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class ValueRulesFormMixin:
    """The value rules of portal.values on a form's fields, with the same messages as the API and
    the imports: text without control characters and within its length (the length is checked by
    the server, not by a `maxlength` attribute with which the browser silently cuts a pasted text),
    counts from 0 to 2,147,483,647, and the dates named in `past_date_fields` from 1950 to today."""

    past_date_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from portal.api_contract import COUNT_MESSAGES, past_date_rule, text_rule
        from portal.values import COUNT_MAX

        model = getattr(getattr(self, "_meta", None), "model", None)
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.HiddenInput):
                multiline = isinstance(field.widget, forms.Textarea)
                if model is not None:
                    try:
                        multiline = multiline or model._meta.get_field(name).get_internal_type() == "TextField"
                    except Exception:  # noqa: BLE001 - a form-only field
                        pass
                field.validators = [v for v in field.validators
                                    if not isinstance(v, MaxLengthValidator | ProhibitNullCharactersValidator)]
                field.validators.append(text_rule(field.max_length, multiline))
                field.widget.attrs.pop("maxlength", None)
            elif isinstance(field, forms.IntegerField) and field.min_value == 0:
                field.validators = [v for v in field.validators
                                    if not isinstance(v, MinValueValidator | MaxValueValidator)]
                field.validators += [MinValueValidator(0, message=COUNT_MESSAGES["min_value"]),
                                     MaxValueValidator(COUNT_MAX, message=COUNT_MESSAGES["max_value"])]
                field.widget.attrs["min"], field.widget.attrs["max"] = 0, COUNT_MAX
            elif isinstance(field, forms.DateField) and name in self.past_date_fields:
                field.validators.append(past_date_rule)


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("登录名或密码不正确。连续多次失败后将暂停登录一段时间。"),
        "inactive": _("该账号已停用，请联系管理员。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("登录名")
        self.fields["password"].label = _("密码")


class PortalPasswordChangeForm(BootstrapFormMixin, PasswordChangeForm):
    pass


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, region: Region) -> str:
        indent = "　" * (region.level - 1)
        return f"{indent}{region.name}（{region.code}）"


def limit_departments(form, actor) -> None:
    """An admin opens accounts and grants posts only in the departments they administer."""
    if actor.is_superuser:
        return
    own = {m.department for m in actor.memberships.all() if Capability.USERS_MANAGE in capabilities_of(m.department, m.role)}
    form.fields["department"].choices = [(value, label) for value, label in Department.choices if value in own]


class MembershipGrantForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    """A post (region, department, role) among those the admin may grant."""

    region = RegionChoiceField(label=_("区划"), queryset=Region.objects.none())
    department = forms.ChoiceField(label=_("部门"), choices=Department.choices)
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.USERS_MANAGE, "region", max_level=RegionLevel.COUNTY)
        limit_departments(self, actor)


class UserCreateForm(MembershipGrantForm):
    """A new account with its first post."""

    username = forms.CharField(label=_("登录名"), max_length=150, help_text=_("字母、数字或 @ . + - _"))
    display_name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False)
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput, help_text=_("至少 8 位，不能全为数字"))
    field_order = ["username", "display_name", "phone", "password", "region", "department", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].label = _("所属区划")


class UserUpdateForm(BootstrapFormMixin, forms.Form):
    display_name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False)


class PasswordResetForm(BootstrapFormMixin, forms.Form):
    password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, help_text=_("至少 8 位，不能全为数字"))


class DevelopmentZoneForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    """Non-standard county-level units (开发区, 高新区) are added under a city."""

    parent = RegionChoiceField(label=_("所属市"), queryset=Region.objects.none())
    code = forms.CharField(label=_("区划代码"), max_length=6, min_length=6,
                           help_text=_("6 位数字，前 4 位与所属市相同，如 371571"))
    name = forms.CharField(label=_("名称"), max_length=64, help_text=_("如 聊城经济技术开发区"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.REGIONS_MANAGE, "parent")
        self.fields["parent"].queryset = self.fields["parent"].queryset.filter(level=RegionLevel.CITY)


class RegionUpdateForm(BootstrapFormMixin, ScopedRegionField, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=64)
    code = forms.CharField(label=_("区划代码"), max_length=12)
    parent = RegionChoiceField(label=_("上级区划"), queryset=Region.objects.none(), required=False)

    def __init__(self, *args, actor, region: Region, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_region_fields(actor, Capability.REGIONS_MANAGE, "parent")
        self.fields["parent"].queryset = self.fields["parent"].queryset.filter(level=region.level - 1)


def apply_errors(form, exc) -> None:
    """Put a service's ValidationError on the form: field messages on their fields (or on the
    form when the field is not on it), plain messages on the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def error_text(exc) -> str:
    """A service's ValidationError or PermissionDenied as one line for a message."""
    from django.core.exceptions import ValidationError

    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def call_service(target, service, /, **kwargs):
    """Run a service for a bound form or, on a page that posts without a form, for the request.
    Returns (True, result), or (False, None) with the service's ValidationError or
    PermissionDenied shown on the form, or as one error message (`error_text`) on the next page
    the request shows; other errors propagate."""
    from django.contrib import messages
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.http import HttpRequest

    try:
        return True, service(**kwargs)
    except (ValidationError, PermissionDenied) as exc:
        if isinstance(target, HttpRequest):
            messages.error(target, error_text(exc))
        elif isinstance(exc, ValidationError):
            apply_errors(target, exc)
        else:
            target.add_error(None, str(exc))
    return False, None
