"""Identifier checks with Chinese messages, shared by forms, services, the API and the import."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def clean_uscc(value: str) -> str:
    number = uscc.compact(value or "")
    if len(number) != 18:
        raise ValidationError(_("统一社会信用代码应为18位，实际为%(n)s位") % {"n": len(number)}, code="uscc_length")
    if not number[:8].isdigit() or any(c not in USCC_ALPHABET for c in number[8:]):
        raise ValidationError(
            _("统一社会信用代码含有不允许的字符（只能使用数字和除 I、O、Z、S、V 以外的大写字母）"), code="uscc_format"
        )
    try:
        uscc.validate(number)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("统一社会信用代码校验位错误，请核对后重新填写"), code="uscc_checksum") from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("统一社会信用代码格式不正确"), code="uscc_format") from None
    return number


def clean_registration_number(value: str) -> str:
    number = re.sub(r"\s", "", value or "")
    if not re.fullmatch(r"\d{15}", number):
        raise ValidationError(_("旧工商注册号应为15位数字"), code="registration_number")
    return number


def clean_id_number(value: str) -> str:
    number = ric.compact(value or "").upper()
    if len(number) != 18:
        raise ValidationError(_("居民身份证号应为18位，实际为%(n)s位") % {"n": len(number)}, code="ric_length")
    try:
        ric.validate(number)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("居民身份证号校验位错误，请核对后重新填写"), code="ric_checksum") from None
    except stdnum_errors.InvalidComponent:
        raise ValidationError(_("居民身份证号中的出生日期或地址码无效"), code="ric_birth_date") from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("居民身份证号格式不正确"), code="ric_format") from None
    return number


def mask_id_number(number: str) -> str:
    """370102********1234: region and last four kept, birth date hidden."""
    if not number:
        return ""
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}" if len(number) > 10 else "*" * len(number)


PHONE = re.compile(r"^[0-9+\-() ]{7,20}$")


def clean_phone(value: str) -> str:
    value = (value or "").strip()
    if value and not PHONE.fullmatch(value):
        raise ValidationError(_("电话号码格式不正确（7～20位数字，可含 - 和括号）"), code="phone")
    return value
