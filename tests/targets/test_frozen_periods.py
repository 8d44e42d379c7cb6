"""Each period's figures are what was true in that period: a submitted county's figures never
move when its employers are edited afterwards, and the nightly full recompute finds no drift
after any sequence of edits, submissions and returns (hypothesis)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import services as ledger
from ledger.models import CountySubmission, Employer, EmployerRecord, Industry, ReportingPeriod, SubmissionStatus
from portal.models import Region, Role
from targets import services
from targets.models import RegionRollup
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

COUNTIES = ["371502", "371521"]  # two counties of Liaocheng
EMPLOYERS = 4


def _period(year, half):
    starts = datetime.date(year, 1 if half == 1 else 7, 1)
    ends = datetime.date(year, 6, 30) if half == 1 else datetime.date(year, 12, 31)
    return ReportingPeriod.objects.create(code=f"{year}H{half}", year=year, half=half, starts_on=starts,
                                          ends_on=ends, deadline=ends + datetime.timedelta(days=15))


@pytest.fixture
def world():
    clerk = make_user(*COUNTIES, role=Role.CLERK)
    city = make_user("3715", role=Role.REVIEWER)
    province = make_user("37", role=Role.REVIEWER)
    return clerk, city, province


def county_figures(period) -> dict[str, tuple]:
    return {row.region.code: (row.employers, row.figures)
            for row in RegionRollup.objects.filter(period=period, region__code__in=COUNTIES).select_related("region")}


def _setup(clerk, city):
    periods = [_period(2019, 2), _period(2020, 1)]
    employers = [make_employer(county=COUNTIES[i % 2], name=f"单位{i}", industry="3011", in_governance_scope=True)
                 for i in range(EMPLOYERS)]
    for period in periods:
        for code in COUNTIES:
            ledger.period_open_county(actor=clerk, period=period, county=Region.objects.get(code=code))
    for record in EmployerRecord.objects.all():
        ledger.record_update(actor=clerk, record=record, expected_version=None, data={
            "total_workers": 10, "exposed_workers": 6, "hazard_declared": True,
            "declared_on": datetime.date(2019, 5, 1), "warning_signs": record.pk % 2 == 0,
            "exam_due": 6, "exam_done": 4})
    # The earlier half-year: submitted and approved in both counties.
    for submission in CountySubmission.objects.filter(period=periods[0]):
        ledger.submission_submit(actor=clerk, submission=submission)
        ledger.submission_approve(actor=city, submission=submission)
    return periods, employers


edits = st.lists(st.one_of(
    st.tuples(st.just("scope"), st.integers(0, EMPLOYERS - 1)),
    st.tuples(st.just("status"), st.integers(0, EMPLOYERS - 1), st.sampled_from(["operating", "suspended", "closed"])),
    st.tuples(st.just("industry"), st.integers(0, EMPLOYERS - 1), st.sampled_from(["3011", "0610", "3391"])),
    st.tuples(st.just("move"), st.integers(0, EMPLOYERS - 1), st.sampled_from(COUNTIES)),
    st.tuples(st.just("record"), st.integers(0, EMPLOYERS - 1), st.integers(0, 1)),
    st.tuples(st.sampled_from(["submit", "return", "approve", "accept"]), st.sampled_from(COUNTIES),
              st.integers(0, 1)),
), max_size=12)


def _apply(edit, *, clerk, city, province, periods, employers):
    kind = edit[0]
    try:
        if kind in ("scope", "status", "industry", "move"):
            employer = Employer.objects.get(pk=employers[edit[1]].pk)
            data = {"scope": lambda: {"in_governance_scope": not employer.in_governance_scope},
                    "status": lambda: {"status": edit[2]},
                    "industry": lambda: {"industry": Industry.objects.get(code=edit[2])},
                    "move": lambda: {"county": Region.objects.get(code=edit[2]), "township": None}}[kind]()
            ledger.employer_update(actor=clerk, employer=employer, data=data, expected_version=None)
        elif kind == "record":
            record = EmployerRecord.objects.filter(employer=employers[edit[1]], period=periods[edit[2]]).first()
            if record is not None:
                ledger.record_update(actor=clerk, record=record, expected_version=None,
                                     data={"warning_signs": not record.warning_signs})
        else:
            submission = CountySubmission.objects.get(county__code=edit[1], period=periods[edit[2]])
            if kind == "submit":
                ledger.submission_submit(actor=clerk, submission=submission)
            elif kind == "return":
                actor = province if submission.status == SubmissionStatus.APPROVED else city
                ledger.submission_return(actor=actor, submission=submission, reason="请核实")
            elif kind == "approve":
                ledger.submission_approve(actor=city, submission=submission)
            else:
                ledger.submission_accept(actor=province, submission=submission)
    except ValidationError:
        pass  # a refused step (a locked record, a wrong state) writes nothing


def _locked(periods) -> set[tuple[str, int]]:
    return {(s.county.code, s.period_id) for s in CountySubmission.objects.filter(
        period__in=periods, status__in=[SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED,
                                        SubmissionStatus.ACCEPTED]).select_related("county")}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=edits)
def test_submitted_figures_never_move_and_the_nightly_recompute_finds_no_drift(world, steps):
    clerk, city, province = world
    with transaction.atomic():
        periods, employers = _setup(clerk, city)
        for period in periods:
            services.rollup_recompute_full(period=period)
        frozen = {(code, period.pk): county_figures(period).get(code)
                  for period in periods for code in COUNTIES}
        for edit in steps:
            was_locked = _locked(periods)
            _apply(edit, clerk=clerk, city=city, province=province, periods=periods, employers=employers)
            services.rollup_recompute_dirty()  # what the worker does after each write
            now_locked = _locked(periods)
            for code, period_id in now_locked - was_locked:  # a county submitted: its figures as they stand
                services.rollup_recompute_full(period=ReportingPeriod.objects.get(pk=period_id))
                frozen[(code, period_id)] = county_figures(ReportingPeriod.objects.get(pk=period_id)).get(code)
        runs = services.rollup_recompute_all()
        assert {run.period.code: run.drift for run in runs} == {period.code: 0 for period in periods}
        for code, period_id in _locked(periods):
            period = ReportingPeriod.objects.get(pk=period_id)
            assert county_figures(period).get(code) == frozen[(code, period_id)], (code, period.code)
        transaction.set_rollback(True)


def test_toggling_the_governance_scope_moves_only_the_open_half_year(world):
    """The issue's case: 纳入治理范围 toggled on one employer, then the nightly recompute."""
    clerk, city, _province = world
    periods, employers = _setup(clerk, city)
    for period in periods:
        services.rollup_recompute_full(period=period)
    before, open_before = county_figures(periods[0]), county_figures(periods[1])
    employer = Employer.objects.get(pk=employers[0].pk)
    ledger.employer_update(actor=clerk, employer=employer, data={"in_governance_scope": False}, expected_version=None)
    services.rollup_recompute_dirty()
    runs = {run.period.code: run.drift for run in services.rollup_recompute_all()}
    assert runs == {"2019H2": 0, "2020H1": 0}
    assert county_figures(periods[0]) == before
    closed = EmployerRecord.objects.get(employer=employer, period=periods[0])
    open_record = EmployerRecord.objects.get(employer=employer, period=periods[1])
    assert closed.in_governance_scope is True and open_record.in_governance_scope is False
    assert open_before["371502"][1]["declaration"] == [2, 2]
    assert county_figures(periods[1])["371502"][1]["declaration"] == [1, 1]


def test_a_returned_half_year_takes_the_current_classification(world):
    clerk, city, province = world
    periods, employers = _setup(clerk, city)
    employer = Employer.objects.get(pk=employers[0].pk)
    ledger.employer_update(actor=clerk, employer=employer, data={"status": "closed"}, expected_version=None)
    record = EmployerRecord.objects.get(employer=employer, period=periods[0])
    assert record.operating_status == "operating"
    submission = CountySubmission.objects.get(county=employer.county, period=periods[0])
    ledger.submission_return(actor=province, submission=submission, reason="请补充")
    record.refresh_from_db()
    assert record.operating_status == "closed"
