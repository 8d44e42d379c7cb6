"""The dashboard's cells are written without Django's per-value helpers (targets/templatetags/
dashboard_cells.py): the numbers must read as `floatformat` writes them and every value must
still be escaped."""

import datetime
from decimal import Decimal

from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from targets.indicators import Kind, rate
from targets.selectors import Cell, EffectiveTarget
from targets.templatetags.dashboard_cells import _Shared

EDGES = [0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 2.675, 12.25, 33.349999, 66.65, 99.95, 99.96, 100.0, 1e-05, 1 / 3]


def rates():
    """What `rate` gives: a count over a count (a denominator up to a hundred million workers)."""
    return st.integers(1, 100_000_000).flatmap(
        lambda denominator: st.integers(0, denominator).map(lambda numerator: rate(numerator, denominator)))


@settings(deadline=None)  # the first example loads the translation catalogues
@given(st.one_of(st.sampled_from(EDGES), rates(), st.integers(0, 10_000).map(lambda n: n / 100)))
def test_a_rate_reads_as_floatformat_writes_it_in_each_language(value):
    for language in ("zh-hans", "en"):
        with translation.override(language):
            assert _Shared().rate(value) == floatformat(value, 1)


def test_a_target_reads_as_floatformat_writes_it():
    shared = _Shared()
    for value in ("95", "95.00", "82.50", "80.05", "0.01"):
        assert shared.target(Decimal(value)) == floatformat(Decimal(value), "-2")


def render(cells, region_code="371502", period_code="2020H1", ledger=True):
    template = Template("{% load dashboard_cells %}{% dashboard_cells cells region period ledger=ledger %}")
    return template.render(Context({"cells": cells, "region": region_code, "period": period_code, "ledger": ledger}))


def cell(**fields):
    values = {"indicator": "declaration", "numerator": 3, "denominator": 4, "rate": 75.0, "status": "behind",
              "target": EffectiveTarget(Decimal("95.00"), datetime.date(2025, 12, 31), "山东省", True),
              "unit": "家", "kind": Kind.RATE, "today": datetime.date(2025, 12, 1)}
    return Cell(**{**values, **fields})


def test_every_value_in_a_cell_is_escaped():
    hostile = '"><script>alert(1)</script>'
    html = render([cell(indicator=hostile, status=hostile, unit=hostile, old_way=2)], region_code=hostile,
                  period_code=hostile)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") >= 5


def test_a_cell_shows_rate_figures_shortfall_deadline_and_links_to_the_list_behind_it():
    html = render([cell()])
    assert ('<a class="fw-semibold text-reset" href="/ledger/?region=371502&missing=declaration&period=2020H1" '
            'title="查看未落实的用人单位">75.0%</a>') in html
    assert '<div class="text-secondary">3/4 · 目标 95%</div>' in html
    assert '<div class="fw-semibold" data-testid="shortfall">还差 1 家</div>' in html
    assert '<div class="text-secondary" data-testid="deadline">2025-12-31前 · 剩 30 天</div>' in html


def test_the_words_follow_the_language_of_each_request():
    with translation.override("en"):
        english = render([cell(rate=None)])
    chinese = render([cell(rate=None)])
    assert "无数据" in chinese and "无数据" not in english
