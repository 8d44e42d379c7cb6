"""The dashboard's cells, rendered in Python: a province's table has about 400 of them, and the
same markup as an included template took most of the page's time (docs/ARCHITECTURE-NOTES.md §19).
Per cell, Django's helpers cost more than the cell: `format_html` escapes through lazy wrappers,
`floatformat` localises each number and every `gettext` looks the language up again. So the
labels are translated once per language, the numbers formatted here as `floatformat` would, and
the markup escaped with the standard library's `html.escape` (what Django's `escape` calls)."""

import functools
import html
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import formats
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from targets.indicators import Kind

register = template.Library()

_TENTH = Decimal("0.1")


@functools.lru_cache(maxsize=8)
def _labels(language: str | None) -> dict[str, str]:
    """The cells' words in `language`, escaped for HTML (translations never change while the
    process runs)."""
    labels = {
        "no_data": _("无数据"), "rehab_title": _("查看应建康复站的乡镇"), "patients_title": _("查看相关患者"),
        "employers_title": _("查看未落实的用人单位"), "target": _("目标"), "next_target": _("下一目标"),
        "shortfall": _("还差 %(n)s %(unit)s"), "days_left": _("剩 %(n)s 天"), "overdue": _("已逾期 %(n)s 天"),
        "due": _("%(due)s前"), "next_count": _("下一目标 %(value)s %(unit)s · %(due)s前"),
        "next_rate": _("下一目标 %(value)s%% · %(due)s前"),
        "old_way_title": _("这些记录填报时台帐尚未登记岗位数，按单位是否设置警示标识计（1家计1个岗位）"),
        "source_title": _("参保人数以人社部门数据为准，无人社数据时取台帐填报数"),
        "source": _("人社数据 %(hrss)s/%(total)s 家"),
    }
    return {key: html.escape(value) for key, value in labels.items()}


class _Row:
    """A row's place (region, period, whether its figures link to the ledger) and what every
    cell of the page shares: the links, the words, the numbers already formatted."""

    def __init__(self, shared: "_Shared", region_code: str, period_code: str, ledger: bool):
        self.region_code, self.period_code, self.ledger = html.escape(region_code), html.escape(period_code), ledger
        self.labels, self.links, self.rate, self.target, self.unit = (
            shared.labels, shared.links, shared.rate, shared.target, shared.unit)


class _Shared:
    """Made once per page render (kept in the template's render context)."""

    def __init__(self):
        self.labels = _labels(get_language())
        self.decimal_separator = formats.get_format("DECIMAL_SEPARATOR")
        self.links = {name: html.escape(reverse(url)) for name, url in (
            ("employers", "ledger:employers"), ("patients", "patients:list"), ("rehab", "patients:rehab"))}
        self._targets: dict[Decimal, str] = {}
        self._units: dict[str, str] = {}

    def rate(self, value: float) -> str:
        """`floatformat(value, 1)`: half up, one decimal, the language's decimal separator."""
        return str(Decimal(str(value)).quantize(_TENTH, ROUND_HALF_UP)).replace(".", self.decimal_separator)

    def target(self, value: Decimal) -> str:
        """`floatformat(value, "-2")`, once per distinct target value."""
        if value not in self._targets:
            self._targets[value] = str(floatformat(value, "-2"))
        return self._targets[value]

    def unit(self, c) -> str:
        """The cell's unit (a lazy translation, which hashes by translating: so kept by indicator)."""
        if c.indicator not in self._units:
            self._units[c.indicator] = str(c.unit)
        return self._units[c.indicator]


def _main(c, row: _Row, unit: str) -> str:
    """The figure itself, linked to the list behind it."""
    labels = row.labels
    if c.rate is None:
        return f'<span class="text-secondary">{labels["no_data"]}</span>'
    if c.kind == Kind.COUNT:
        return f'<span class="fw-semibold">{c.numerator} {html.escape(unit)}</span>'
    shown = f"{row.rate(c.rate)}%"
    drill = c.patient_drill
    if drill == "rehab":
        return (f'<a class="fw-semibold text-reset" href="{row.links["rehab"]}?region={row.region_code}" '
                f'title="{labels["rehab_title"]}">{shown}</a>')
    if drill:
        return (f'<a class="fw-semibold text-reset" href="{row.links["patients"]}?region={row.region_code}'
                f'&missing={html.escape(drill)}" title="{labels["patients_title"]}">{shown}</a>')
    if row.ledger:
        return (f'<a class="fw-semibold text-reset" href="{row.links["employers"]}?region={row.region_code}'
                f'&missing={html.escape(c.indicator)}&period={row.period_code}" '
                f'title="{labels["employers_title"]}">{shown}</a>')
    return f'<span class="fw-semibold">{shown}</span>'


def _figures(c, row: _Row, unit: str) -> str:
    """numerator/denominator · 目标 95% (or 下一目标 …), escaped."""
    count = c.kind == Kind.COUNT
    parts = "" if count else f"{c.numerator}/{c.denominator}"
    if c.target is not None:
        label = row.labels["target"] if c.target.in_force else row.labels["next_target"]
        value = row.target(c.target.value)
        parts += ("" if count else " · ") + f"{label} {value}" + (f" {html.escape(unit)}" if count else "%")
    return parts


def _cell(c, row: _Row) -> str:
    labels = row.labels
    unit = row.unit(c)
    pieces = [f'<div class="text-secondary">{_figures(c, row, unit)}</div>']
    shortfall = c.shortfall
    if shortfall:
        text = labels["shortfall"] % {"n": shortfall, "unit": html.escape(unit)}
        pieces.append(f'<div class="fw-semibold" data-testid="shortfall">{text}</div>')
    if c.target is not None:
        days_left = c.days_left
        when = ""
        if days_left is not None and days_left >= 0:
            when = " · " + labels["days_left"] % {"n": days_left}
        elif days_left is not None:
            when = f' · <span class="text-danger">{labels["overdue"] % {"n": -days_left}}</span>'
        due = labels["due"] % {"due": c.target.due_on.strftime("%Y-%m-%d")}
        pieces.append(f'<div class="text-secondary" data-testid="deadline">{due}{when}</div>')
    if c.next_target is not None:
        values = {"value": row.target(c.next_target.value), "unit": html.escape(unit),
                  "due": c.next_target.due_on.strftime("%Y-%m-%d")}
        text = (labels["next_count"] if c.kind == Kind.COUNT else labels["next_rate"]) % values
        pieces.append(f'<div class="text-secondary" data-testid="next-target">{text}</div>')
    if c.old_way:
        text = html.escape(ngettext("含 %(n)s 家按单位计（旧口径）", "含 %(n)s 家按单位计（旧口径）", c.old_way)
                           % {"n": c.old_way})
        pieces.append(f'<div class="text-secondary" data-testid="old-way" title="{labels["old_way_title"]}">'
                      f'{text}</div>')
    if c.source:
        text = labels["source"] % {"hrss": c.source[0], "total": c.source[1]}
        pieces.append(f'<div class="text-secondary" data-testid="insurance-source" title="{labels["source_title"]}">'
                      f'{text}</div>')
    status, indicator = html.escape(c.status), html.escape(c.indicator)
    return (f'<td class="cell-{status} small text-nowrap" data-indicator="{indicator}" data-status="{status}">\n'
            f'  {_main(c, row, unit)}\n  ' + "\n  ".join(pieces) + "\n</td>")


@register.simple_tag(takes_context=True)
def dashboard_cells(context, cells, region_code: str, period_code: str, ledger: bool = False):
    """A row's cells: the rate (linked to the employers, patients or townships behind it), its
    numerator/denominator and target, 还差 N, the deadline and days left, the next milestone, and
    the labels of figures counted the old way or from HRSS data."""
    shared = context.render_context.get(_Shared)
    if shared is None:
        shared = context.render_context[_Shared] = _Shared()
    row = _Row(shared, region_code, period_code, ledger)
    return mark_safe("".join(_cell(c, row) for c in cells))  # noqa: S308 - every value is escaped above
