"""The value rules every way in shares: the forms, the Excel imports, the API and the tablet sync.

One function per kind of fact, each raising a Django `ValidationError` whose message does not name
the field (the form, the API and the import report name it in their own way: a field key, a label,
a column header), so a refused value reads the same wherever it was typed:

- `check_text`: no control characters (line breaks only where the field is multi-line), at most
  `max_length` characters. A value over the limit is refused with the limit named, never cut.
- `check_past_date`: a date of something that has happened lies between 1950-01-01 and today.
- `check_count`: a count of people or things is a whole number from 0 to 2,147,483,647 (the
  database's integer).

The services call them for each entity (`ledger.services.clean_employer_data`, …); the import's cell
parsers call them; `portal.api_contract.ValueRulesSerializerMixin` makes the DRF fields refuse with
the same messages, so the API's early field checks and the service agree; and
`portal.forms.ValueRulesFormMixin` does the same for Django forms.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.errors import ErrorCode

EARLIEST_DATE = datetime.date(1950, 1, 1)
COUNT_MAX = 2_147_483_647  # PostgreSQL integer, the column of every PositiveIntegerField

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators. Tab, CR and LF are allowed
# only in multi-line fields (a description, a note); the others never come from a keyboard.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(value: str, *, multiline: bool = False) -> str | None:
    match = (_CONTROL if multiline else _CONTROL_SINGLE_LINE).search(value)
    return match.group() if match else None


def check_text(value, *, max_length: int | None = None, multiline: bool = False) -> str:
    """The text stripped of surrounding spaces; refused if it holds a control character or is
    longer than `max_length` characters."""
    text = "" if value is None else str(value)
    bad = control_character(text, multiline=multiline)
    if bad is not None:
        raise ValidationError(
            _("不能含有控制字符（U+%(code)s）等不可见字符，请删除后重新填写") % {"code": f"{ord(bad):04X}"},
            code=ErrorCode.CONTROL_CHARACTER)
    text = text.strip()
    if max_length is not None and len(text) > max_length:
        raise ValidationError(_("超过%(max)s字（实际%(n)s字）") % {"max": max_length, "n": len(text)},
                              code=ErrorCode.MAX_LENGTH)
    return text


def check_past_date(day: datetime.date | None) -> datetime.date | None:
    """A date on which something happened: not before 1950-01-01, not after today."""
    if day is None:
        return None
    today = timezone.localdate()
    if day > today:
        raise ValidationError(_("日期不能晚于今天（%(today)s）") % {"today": today.isoformat()}, code=ErrorCode.FUTURE_DATE)
    if day < EARLIEST_DATE:
        raise ValidationError(_("日期不能早于%(earliest)s") % {"earliest": EARLIEST_DATE.isoformat()},
                              code=ErrorCode.EARLY_DATE)
    return day


def check_count(number) -> int:
    """A number of people or things: a whole number from 0 to COUNT_MAX."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValidationError(_("应为整数"), code=ErrorCode.INVALID_COUNT)
    if number < 0:
        raise ValidationError(_("不能为负数"), code=ErrorCode.NEGATIVE)
    if number > COUNT_MAX:
        raise ValidationError(_("数值过大（最大%(max)s）") % {"max": COUNT_MAX}, code=ErrorCode.TOO_LARGE)
    return number


def birth_date_of(id_number: str) -> datetime.date | None:
    """The birth date written in an 18-digit resident ID number (already checked)."""
    try:
        return datetime.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except (ValueError, TypeError):
        return None


def check_model_text(model, field: str, value) -> str:
    """check_text with the limit of the model's column; a TextField is multi-line."""
    from django.db import models

    model_field = model._meta.get_field(field)
    return check_text(value, max_length=model_field.max_length, multiline=isinstance(model_field, models.TextField))


# A create sent twice (a double click, a resend after a timeout) within this long answers with what
# the first one created, when every field it sent is the same (ledger and patient services).
REPEAT_WINDOW = datetime.timedelta(minutes=10)


class VersionConflict(Exception):
    """Someone saved the same row since this user loaded it (its `version` moved on): nothing was
    written. `changes` (possibly empty) says what they changed, `current_version` what to send
    next; the API answers 409 with both (`portal.api.ServiceErrorsMixin`)."""

    def __init__(self, message: str, current_version: int, changes: list | tuple = ()):
        self.current_version, self.changes = current_version, list(changes)
        super().__init__(message)


class Errors:
    """Collects every problem of a submission by field, so all are reported at once."""

    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message) -> None:
        self.by_field.setdefault(field, []).append(str(message))

    def run(self, field: str, check, *args, **kwargs):
        """check(*args, **kwargs); its ValidationError is recorded under `field` (returns None)."""
        try:
            return check(*args, **kwargs)
        except ValidationError as exc:
            for message in exc.messages:
                self.add(field, message)
            return None

    def __contains__(self, field: str) -> bool:
        return field in self.by_field

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)
