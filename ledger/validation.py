"""Identifier checks with Chinese messages, shared by forms, services, the API and the import."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from portal.errors import ErrorCode

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def clean_uscc(value: str) -> str:
    number = uscc.compact(value or "")
    if len(number) != 18:
        raise ValidationError(_("统一社会信用代码应为18位，实际为%(n)s位") % {"n": len(number)}, code=ErrorCode.USCC_LENGTH)
    if not number[:8].isdigit() or any(c not in USCC_ALPHABET for c in number[8:]):
        raise ValidationError(
            _("统一社会信用代码含有不允许的字符（只能使用数字和除 I、O、Z、S、V 以外的大写字母）"), code=ErrorCode.USCC_FORMAT
        )
    try:
        uscc.validate(number)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("统一社会信用代码校验位错误，请核对后重新填写"), code=ErrorCode.USCC_CHECKSUM) from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("统一社会信用代码格式不正确"), code=ErrorCode.USCC_FORMAT) from None
    return number


def clean_registration_number(value: str) -> str:
    number = re.sub(r"\s", "", value or "")
    if not re.fullmatch(r"\d{15}", number):
        raise ValidationError(_("旧工商注册号应为15位数字"), code=ErrorCode.REGISTRATION_NUMBER)
    return number


# Province-level prefixes of GB/T 2260 (11 Beijing … 65 Xinjiang, 71 Taiwan, 81/82 HK/Macao).
PROVINCE_PREFIXES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
                     "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
                     "81", "82"}


def clean_id_number(value: str) -> str:
    """Length, digits, check character and birth date. The address code is checked only for
    its province: it records where the number was first issued, so a 371502… number (a code
    created in 1997) is right for someone born in 1960, which a birth-year check would refuse."""
    number = ric.compact(value or "").upper()
    if len(number) != 18:
        raise ValidationError(_("居民身份证号应为18位，实际为%(n)s位") % {"n": len(number)}, code=ErrorCode.RIC_LENGTH)
    if not number[:17].isdigit() or number[2:6] == "0000":
        raise ValidationError(_("居民身份证号格式不正确（前17位应为数字，末位为数字或X）"), code=ErrorCode.RIC_FORMAT)
    if number[-1] != ric.calc_check_digit(number):
        raise ValidationError(_("居民身份证号校验位错误，请核对后重新填写"), code=ErrorCode.RIC_CHECKSUM)
    try:
        ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        raise ValidationError(_("居民身份证号中的出生日期无效"), code=ErrorCode.RIC_BIRTH_DATE) from None
    if number[:2] not in PROVINCE_PREFIXES:
        raise ValidationError(_("居民身份证号的地址码不正确"), code=ErrorCode.RIC_REGION)
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
        raise ValidationError(_("电话号码格式不正确（7～20位数字，可含 - 和括号）"), code=ErrorCode.PHONE)
    return value
