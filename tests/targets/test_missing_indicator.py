"""The dashboard's figures and the ledger list they link to ("未落实：…") come from one
definition: on random ledgers, the list holds exactly the employers the Python definition says
fall short, and for indicators counted in employers their number is denominator − numerator."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.selectors import EmployerFilters, employer_list, missing_choices
from portal.models import Role
from targets.indicators import INDICATORS
from tests.factories import make_user
from tests.targets.test_rollups import ledger_recomputed, period, python_figures, record_values, stored_by_region

pytestmark = pytest.mark.django_db
__all__ = ["period"]  # the fixture, imported for these tests


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=st.lists(record_values, max_size=20))
def test_the_list_behind_a_figure_holds_exactly_the_employers_it_counts(period, ledger):
    with transaction.atomic():
        records = ledger_recomputed(period, ledger)
        province = stored_by_region(period).get("37", {})
        viewer = make_user("37", role=Role.VIEWER)
        for indicator in INDICATORS:
            listed = set(employer_list(actor=viewer, filters=EmployerFilters(
                missing=indicator.code, period=period)).values_list("pk", flat=True))
            expected = set()
            for record in records:
                numerator, denominator = python_figures([record], period)[indicator.code]
                if numerator < denominator:
                    expected.add(record.employer_id)
            assert listed == expected, indicator.code
            if str(indicator.unit) == "家":
                numerator, denominator = province.get(indicator.code, [0, 0])
                assert len(listed) == denominator - numerator, indicator.code
        transaction.set_rollback(True)


def test_every_indicator_is_a_choice_of_the_filter():
    assert [code for code, _label in missing_choices()] == [i.code for i in INDICATORS]
    assert all(label for _code, label in missing_choices())


def test_a_list_filter_joins_only_what_its_indicator_reads(period):
    """An unused join inside the filter's EXISTS, although PostgreSQL drops it, kept the planner
    from starting at the list's few records (a city's "未落实" export: 4.8 s against 42 ms)."""
    from ledger.selectors import falls_short
    from targets.indicators import BY_CODE

    def joins(code):
        sql = falls_short(BY_CODE[code], period).sql
        return {alias for alias, table in (("p", "ledger_reportingperiod"), ("ic", "insurance_insurancecoverage"),
                                           ("ins", "inspections_inspection")) if table in sql}

    assert joins("declaration") == set()
    assert joins("testing") == {"p"}
    assert joins("injury_insurance") == {"ic"}
    assert joins("supervision") == {"p", "ins"}


def test_cursors_are_planned_for_their_whole_result(db):
    """Exports read their server-side cursor to the end: planned for its first tenth (PostgreSQL's
    default) a province's 16,000-row list took 3.2 s instead of 1.2 s."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW cursor_tuple_fraction")
        assert float(cursor.fetchone()[0]) == 1.0
