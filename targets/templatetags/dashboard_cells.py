"""The dashboard's cells, rendered in Python: a province's table has about 400 of them, and the
same markup as an included template took most of the page's time (docs/ARCHITECTURE-NOTES.md §19)."""

from django import template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from targets.indicators import Kind

register = template.Library()


def _day(day) -> str:
    return day.strftime("%Y-%m-%d")


def _main(c, links: dict, region_code: str, period_code: str, ledger: bool):
    """The figure itself, linked to the list behind it."""
    if c.rate is None:
        return format_html('<span class="text-secondary">{}</span>', _("无数据"))
    if c.kind == Kind.COUNT:
        return format_html('<span class="fw-semibold">{} {}</span>', c.numerator, c.unit)
    shown = f"{floatformat(c.rate, 1)}%"
    drill = c.patient_drill
    if drill == "rehab":
        return format_html('<a class="fw-semibold text-reset" href="{}?region={}" title="{}">{}</a>',
                           links["rehab"], region_code, _("查看应建康复站的乡镇"), shown)
    if drill:
        return format_html('<a class="fw-semibold text-reset" href="{}?region={}&missing={}" title="{}">{}</a>',
                           links["patients"], region_code, drill, _("查看相关患者"), shown)
    if ledger:
        return format_html(
            '<a class="fw-semibold text-reset" href="{}?region={}&missing={}&period={}" title="{}">{}</a>',
            links["employers"], region_code, c.indicator, period_code, _("查看未落实的用人单位"), shown)
    return format_html('<span class="fw-semibold">{}</span>', shown)


def _figures(c) -> str:
    """numerator/denominator · 目标 95% (or 下一目标 …)."""
    count = c.kind == Kind.COUNT
    parts = "" if count else f"{c.numerator}/{c.denominator}"
    if c.target is not None:
        label = _("目标") if c.target.in_force else _("下一目标")
        value = floatformat(c.target.value, "-2")
        parts += ("" if count else " · ") + f"{label} {value}" + (f" {c.unit}" if count else "%")
    return parts


def _cell(c, links: dict, region_code: str, period_code: str, ledger: bool):
    pieces = [format_html('<div class="text-secondary">{}</div>', _figures(c))]
    shortfall = c.shortfall
    if shortfall:
        pieces.append(format_html('<div class="fw-semibold" data-testid="shortfall">{}</div>',
                                  _("还差 %(n)s %(unit)s") % {"n": shortfall, "unit": c.unit}))
    if c.target is not None:
        days_left = c.days_left
        when = ""
        if days_left is not None and days_left >= 0:
            when = format_html(" · {}", _("剩 %(n)s 天") % {"n": days_left})
        elif days_left is not None:
            when = format_html(' · <span class="text-danger">{}</span>', _("已逾期 %(n)s 天") % {"n": -days_left})
        pieces.append(format_html('<div class="text-secondary" data-testid="deadline">{}{}</div>',
                                  _("%(due)s前") % {"due": _day(c.target.due_on)}, when))
    if c.next_target is not None:
        values = {"value": floatformat(c.next_target.value, "-2"), "unit": c.unit, "due": _day(c.next_target.due_on)}
        text = (_("下一目标 %(value)s %(unit)s · %(due)s前") if c.kind == Kind.COUNT
                else _("下一目标 %(value)s%% · %(due)s前")) % values
        pieces.append(format_html('<div class="text-secondary" data-testid="next-target">{}</div>', text))
    if c.old_way:
        pieces.append(format_html(
            '<div class="text-secondary" data-testid="old-way" title="{}">{}</div>',
            _("这些记录填报时台帐尚未登记岗位数，按单位是否设置警示标识计（1家计1个岗位）"),
            ngettext("含 %(n)s 家按单位计（旧口径）", "含 %(n)s 家按单位计（旧口径）", c.old_way) % {"n": c.old_way}))
    if c.source:
        pieces.append(format_html(
            '<div class="text-secondary" data-testid="insurance-source" title="{}">{}</div>',
            _("参保人数以人社部门数据为准，无人社数据时取台帐填报数"),
            _("人社数据 %(hrss)s/%(total)s 家") % {"hrss": c.source[0], "total": c.source[1]}))
    return format_html('<td class="cell-{} small text-nowrap" data-indicator="{}" data-status="{}">\n  {}\n  {}\n</td>',
                       c.status, c.indicator, c.status, _main(c, links, region_code, period_code, ledger),
                       mark_safe("\n  ".join(pieces)))  # noqa: S308 - each piece is built by format_html


@register.simple_tag
def dashboard_cells(cells, region_code: str, period_code: str, ledger: bool = False):
    """A row's cells: the rate (linked to the employers, patients or townships behind it), its
    numerator/denominator and target, 还差 N, the deadline and days left, the next milestone, and
    the labels of figures counted the old way or from HRSS data."""
    links = {"employers": reverse("ledger:employers"), "patients": reverse("patients:list"),
             "rehab": reverse("patients:rehab")}
    return format_html_join("", "{}", ((_cell(c, links, region_code, period_code, ledger),) for c in cells))
