"""Rollups against an independent Python computation on random ledgers (hypothesis)."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insurance.models import InsuranceCoverage
from ledger.models import Employer, EmployerRecord, ReportingPeriod
from portal.models import Region
from targets import services
from targets.indicators import ROLLUP_FIGURES
from targets.models import DirtyCounty, RegionRollup, RollupRun
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

COUNTIES = ["371502", "371521", "371522", "370102"]  # two Liaocheng counties + one more, and Jinan's Lixia


def python_figures(records: list[EmployerRecord], period: ReportingPeriod) -> dict[str, list[int]]:
    """The indicator definitions of DOMAIN.md, written again in Python; and for an indicator
    counted in people, how many employers fall short of it (short_<code>)."""
    figures = {i.code: [0, 0] for i in ROLLUP_FIGURES}
    for r in records:
        own = _record_figures(r, period)
        for code, (numerator, denominator) in own.items():
            figures[code][0] += numerator
            figures[code][1] += denominator
            if f"short_{code}" in figures:
                figures[f"short_{code}"][0] += int(numerator < denominator)
    return figures


def _record_figures(r: EmployerRecord, period: ReportingPeriod) -> dict[str, tuple[int, int]]:
    """One record's share of each indicator that counts it."""
    figures = {}

    def add(code, numerator, denominator):
        figures[code] = (numerator, denominator)

    e = r.employer
    if e.status != "closed":
        add("reported_cases", r.pneumoconiosis_cases, 0)
        key = e.key_group != ""
        if key:
            hrss = InsuranceCoverage.objects.filter(employer=e, period=period).values_list("insured_workers", flat=True)
            add("injury_insurance", hrss[0] if hrss else r.insured_workers, r.total_workers)
            add("insurance_source", int(bool(hrss)), 1)
        if not (key and e.in_governance_scope):
            return figures
        add("declaration", int(r.hazard_declared), 1)
        tested = r.last_test_date is not None and r.last_test_date >= period.ends_on - datetime.timedelta(days=365)
        add("testing", int(tested), 1)
        if r.serious_hazard_posts is None:  # kept before the posts were: one employer, its yes/no
            add("warning_signs", int(r.warning_signs), 1)
            add("warning_signs_by_employer", 1, 1)
        else:
            add("warning_signs", r.posts_with_warning_signs, r.serious_hazard_posts)
            add("warning_signs_by_employer", 0, 1)
        add("health_exam", r.exam_done, r.exam_due)
        add("surveillance_files", r.surveillance_files, r.exposed_workers)
        add("training_principal", int(r.principal_trained), 1)
        add("training_managers", r.managers_trained, r.managers_due)
        add("training_workers", r.workers_trained, r.workers_training_due)
        add("labour_contracts", r.contract_workers, r.total_workers)
        inspected = r.last_inspection_date is not None and r.last_inspection_date.year == period.year
        add("supervision", int(inspected), 1)
        add("three_simultaneities", r.three_simultaneities_projects, r.new_projects)
    return figures


record_values = st.fixed_dictionaries({
    "county": st.sampled_from(COUNTIES),
    "industry": st.sampled_from(["3011", "0610", "3391", "2110", "1019"]),  # 3391, 2110: not key industries
    "in_scope": st.booleans(),
    "status": st.sampled_from(["operating", "operating", "suspended", "closed"]),
    "total": st.integers(0, 60),
    "declared": st.booleans(), "signs": st.booleans(), "principal": st.booleans(),
    "tested_days_ago": st.none() | st.integers(0, 800),
    "inspected_year": st.none() | st.sampled_from([2019, 2020]),
    "fractions": st.lists(st.floats(0, 1), min_size=9, max_size=9),
    "hrss_share": st.none() | st.floats(0, 1),
    "posts": st.none() | st.integers(0, 6),  # None: a record kept before the ledger counted posts
})


def build_record(period, index, v) -> EmployerRecord:
    record = _build_record(period, index, v)
    if v.get("hrss_share") is not None:
        from tests.factories import make_user

        InsuranceCoverage.objects.create(
            employer=record.employer, period=period, insured_workers=int(record.total_workers * v["hrss_share"]),
            as_of=period.ends_on, province=record.province, city=record.city, county=record.county,
            created_by=make_user())
    return record


def ledger_recomputed(period, ledger) -> list[EmployerRecord]:
    """The random ledger's records, their employers as stored, and the period's rollups
    recomputed in full."""
    records = [build_record(period, i, v) for i, v in enumerate(ledger)]
    for record in records:
        record.employer.refresh_from_db()
    services.rollup_recompute_full(period=period)
    return records


def _build_record(period, index, v) -> EmployerRecord:
    employer = make_employer(county=v["county"], industry=v["industry"], name=f"随机{index}",
                             in_governance_scope=v["in_scope"], status=v["status"])
    f = v["fractions"]
    total = v["total"]
    exposed = int(total * f[0])
    exam_due = int(exposed * f[1])
    managers_due = int(5 * f[4])
    workers_due = int(total * f[5])
    new_projects = int(4 * f[7])
    return EmployerRecord.objects.create(
        employer=employer, period=period, province=employer.province, city=employer.city, county=employer.county,
        total_workers=total, exposed_workers=exposed, exam_due=exam_due, exam_done=int(exam_due * f[2]),
        surveillance_files=int(exposed * f[3]), managers_due=managers_due, managers_trained=int(managers_due * f[8]),
        workers_training_due=workers_due, workers_trained=int(workers_due * f[6]),
        contract_workers=int(total * f[6]), insured_workers=int(total * f[8]), new_projects=new_projects,
        three_simultaneities_projects=int(new_projects * f[2]), hazard_declared=v["declared"],
        declared_on=datetime.date(2020, 3, 1) if v["declared"] else None, warning_signs=v["signs"],
        principal_trained=v["principal"],
        serious_hazard_posts=v.get("posts"),
        posts_with_warning_signs=None if v.get("posts") is None else int(v["posts"] * f[1]),
        last_test_date=None if v["tested_days_ago"] is None
        else period.ends_on - datetime.timedelta(days=v["tested_days_ago"]),
        last_inspection_date=None if v["inspected_year"] is None else datetime.date(v["inspected_year"], 5, 1),
    )


def expected_by_region(records, period) -> dict[str, dict]:
    by_region: dict[str, list] = {}
    for record in records:
        county = record.county
        for code in county.ancestor_codes:
            by_region.setdefault(code, []).append(record)
    return {code: python_figures(rs, period) for code, rs in by_region.items()}


def stored_by_region(period) -> dict[str, dict]:
    return {r.region.code: {i.code: r.figures[i.code] for i in ROLLUP_FIGURES} for r in RegionRollup.objects.filter(period=period).select_related("region")
            if r.level <= 3}


@pytest.fixture
def period(period_2020h2):
    return period_2020h2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=st.lists(record_values, max_size=25))
def test_full_recompute_matches_python(period, ledger):
    with transaction.atomic():
        records = ledger_recomputed(period, ledger)
        expected = expected_by_region(records, period)
        stored = stored_by_region(period)
        # Regions whose every record belongs to a closed employer have no row at all.
        for code, figures in expected.items():
            assert stored.get(code, {i.code: [0, 0] for i in ROLLUP_FIGURES}) == figures, code
        assert set(stored) <= set(expected)
        transaction.set_rollback(True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=st.lists(record_values, min_size=1, max_size=20), changes=st.lists(st.integers(0, 19), max_size=5))
def test_incremental_recompute_equals_a_full_one(period, ledger, changes):
    with transaction.atomic():
        records = [build_record(period, i, v) for i, v in enumerate(ledger)]
        services.rollup_recompute_full(period=period)
        DirtyCounty.objects.all().delete()
        for index in changes:
            record = records[index % len(records)]
            EmployerRecord.objects.filter(pk=record.pk).update(hazard_declared=not record.hazard_declared,
                                                               total_workers=record.total_workers + 3,
                                                               serious_hazard_posts=(record.serious_hazard_posts or 0) + 1,
                                                               posts_with_warning_signs=1)
            DirtyCounty.objects.get_or_create(county_id=record.county_id, period=period)
        services.rollup_recompute_dirty()
        incremental = stored_by_region(period)
        run = services.rollup_recompute_full(period=period)
        assert stored_by_region(period) == incremental
        assert run.drift == 0
        transaction.set_rollback(True)


def test_zero_denominator_is_no_data_not_zero(period):
    from targets.indicators import rate

    build_record(period, 0, {"county": "371502", "industry": "3011", "in_scope": True, "status": "operating",
                             "total": 0, "declared": False, "signs": False, "principal": False,
                             "tested_days_ago": None, "inspected_year": None, "fractions": [0] * 9})
    services.rollup_recompute_full(period=period)
    figures = RegionRollup.objects.get(period=period, region__code="371502").figures
    assert figures["health_exam"] == [0, 0] and rate(*figures["health_exam"]) is None
    assert rate(*figures["declaration"]) == 0.0


def test_the_nightly_recompute_records_the_drift_it_corrects(period):
    build_record(period, 0, {"county": "371502", "industry": "3011", "in_scope": True, "status": "operating",
                             "total": 10, "declared": True, "signs": False, "principal": False,
                             "tested_days_ago": None, "inspected_year": None, "fractions": [0.5] * 9})
    services.rollup_recompute_full(period=period)
    RegionRollup.objects.filter(period=period, region__code="3715").update(figures={})
    run = services.rollup_recompute_full(period=period)
    assert run.drift == 1 and Region.objects.get(pk=run.drift_sample[0]).code == "3715"
    assert services.rollup_recompute_full(period=period).drift == 0


def test_running_twice_is_harmless(period):
    build_record(period, 0, {"county": "371502", "industry": "3011", "in_scope": True, "status": "operating",
                             "total": 10, "declared": True, "signs": False, "principal": False,
                             "tested_days_ago": 10, "inspected_year": 2020, "fractions": [0.5] * 9})
    services.rollup_recompute_full(period=period)
    first = stored_by_region(period)
    services.rollup_recompute_full(period=period)
    assert stored_by_region(period) == first
    assert RollupRun.objects.filter(kind="full").count() == 2


def test_many_marks_for_one_county_make_one_incremental_run(period):
    records = [build_record(period, i, {"county": "371502", "industry": "3011", "in_scope": True,
                                        "status": "operating", "total": 10, "declared": False, "signs": False,
                                        "principal": False, "tested_days_ago": None, "inspected_year": None,
                                        "fractions": [0.5] * 9}) for i in range(3)]
    from targets.services import rollup_mark_dirty

    for _ in range(20):
        for record in records:
            rollup_mark_dirty(record.county_id, period.pk)
    assert DirtyCounty.objects.count() == 1
    runs = services.rollup_recompute_dirty()
    assert len(runs) == 1 and runs[0].counties == 1
    assert services.rollup_recompute_dirty() == []
    assert Employer.objects.count() == 3


def test_beat_runs_the_nightly_recompute_and_a_sweep_of_lost_marks():
    from django.conf import settings

    from inspections import tasks as inspection_tasks
    from insurance import tasks as insurance_tasks
    from ledger import tasks as ledger_tasks
    from portal.celery import app
    from targets import tasks

    tasks_by_name = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks_by_name == {"targets.tasks.recompute_all", "targets.tasks.recompute_dirty",
                             "inspections.tasks.close_expired_plans", "ledger.purge_old_files",
                             "insurance.close_interrupted_imports", "ledger.close_interrupted_imports",
                             "worklist.tasks.sweep_events", "worklist.tasks.send_reminders",
                             "patients.close_interrupted_imports", "patients.purge_old_files"}
    assert inspection_tasks.close_expired_plans.name in app.tasks and ledger_tasks.purge_old_files.name in app.tasks
    from worklist import tasks as worklist_tasks

    assert worklist_tasks.sweep_events.name in app.tasks and worklist_tasks.send_reminders.name in app.tasks
    assert insurance_tasks.close_interrupted_imports.name in app.tasks
    assert tasks.recompute_all.name in app.tasks and tasks.recompute_dirty.name in app.tasks
