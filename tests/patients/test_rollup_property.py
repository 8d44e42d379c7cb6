"""The patient figures of the rollup against the definitions written again in Python over the
follow-ups and relief measures themselves (the rollup reads only what the files keep of them),
after random sequences of the services' writes: files created and edited (category and death),
follow-ups, relief measures, moves between counties, a ledger employer closing. The
incremental recompute must equal the full one, and both the Python definition."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.models import Employer, ReportingPeriod
from patients import services
from patients.models import FollowUp, LifeStatus, Patient, ReliefAction
from portal.models import Department, Region, Role
from portal.scoping import RELIEF_DUTIES
from targets import services as target_services
from targets.models import DirtyCounty, RegionRollup
from tests.factories import make_user
from tests.ledger.factories import make_employer
from tests.patients.conftest import COUNTY, SIBLING, patient_data

pytestmark = pytest.mark.django_db

CODES = ["patient_filed", "patient_followup", "rehab_archive", "patient_relief"]
DEPARTMENTS = sorted(RELIEF_DUTIES)
START = datetime.date(2014, 1, 1)


def day(offset: int) -> datetime.date:
    return START + datetime.timedelta(days=offset)


def python_figures(period: ReportingPeriod) -> dict[str, dict[str, list[int]]]:
    """Per county and for the province: DOMAIN.md's patient indicators as of the period's end."""
    ends = period.ends_on
    result: dict[str, dict[str, list[int]]] = {}
    for p in Patient.objects.select_related("county"):
        if p.diagnosed_on > ends:
            continue
        cycle = services.cycle_months(p.stage)
        start = services.add_months(ends, -cycle)
        living = p.status != LifeStatus.MOVED_AWAY and (p.died_on is None or p.died_on > ends)
        due = p.diagnosed_on <= start
        followed = FollowUp.objects.filter(patient=p, followed_on__gt=start, followed_on__lte=ends).exists()
        serving = [d for d, duty in RELIEF_DUTIES.items() if p.relief_category in duty.categories]
        relieved = ReliefAction.objects.filter(patient=p, department__in=serving, acted_on__lte=ends).exists()
        rehab = p.rehab_filed_on is not None and p.rehab_filed_on <= ends
        for code in (p.county.code, "37"):
            figures = result.setdefault(code, {c: [0, 0] for c in CODES})
            figures["patient_filed"][0] += 1
            figures["patient_followup"][0] += int(living and due and followed)
            figures["patient_followup"][1] += int(living and due)
            figures["rehab_archive"][0] += int(living and rehab)
            figures["rehab_archive"][1] += int(living)
            figures["patient_relief"][0] += int(living and relieved)
            figures["patient_relief"][1] += int(living)
    return result


def stored(period: ReportingPeriod) -> dict[str, dict[str, list[int]]]:
    return {r.region.code: {c: r.figures[c] for c in CODES}
            for r in RegionRollup.objects.filter(period=period, region__code__in=[COUNTY, SIBLING, "37"])
            .select_related("region")}


operation = st.one_of(
    st.tuples(st.just("create"), st.booleans(), st.integers(1, 3), st.integers(0, 2900), st.booleans(),
              st.one_of(st.none(), st.integers(0, 3000)), st.sampled_from(["gone", "there", "ledger", "unproven"])),
    st.tuples(st.just("followup"), st.integers(0, 9), st.integers(0, 800)),
    st.tuples(st.just("relief"), st.integers(0, 9), st.sampled_from(DEPARTMENTS), st.integers(0, 800)),
    st.tuples(st.just("move"), st.integers(0, 9)),
    st.tuples(st.just("insure"), st.integers(0, 9)),
    st.tuples(st.just("die"), st.integers(0, 9), st.integers(0, 800)),
    st.tuples(st.just("close_employer"), st.booleans()),
)


def apply(op, *, health, relief_users, patients, employers):
    kind, *args = op
    if kind == "create":
        sibling, stage, diagnosed, insured, rehab, employer = args
        county = SIBLING if sibling else COUNTY
        data = patient_data(county, stage=stage, diagnosed_on=day(diagnosed), injury_insured=insured,
                            rehab_filed_on=day(diagnosed + rehab) if rehab is not None else None,
                            employer_gone=employer == "gone",
                            employer=employers[county] if employer == "ledger" else None)
        if employer == "unproven":
            data.update(diagnosis_kind="unproven", disease="")
        patients.append(services.patient_create(actor=health, data=data))
        return
    if kind == "close_employer":
        employer = employers[SIBLING if args[0] else COUNTY]
        Employer.objects.filter(pk=employer.pk).update(status="closed")
        services.relief_refresh_for_employer(employer.pk)  # as ledger.services.employer_update does
        return
    if not patients:
        return
    patient = Patient.objects.get(pk=patients[args[0] % len(patients)].pk)
    if kind == "followup":
        services.followup_record(actor=health, patient=patient, data={
            "followed_on": patient.diagnosed_on + datetime.timedelta(days=args[1]), "way": "home",
            "health_status": "stable"})
    elif kind == "relief":
        services.relief_record(actor=relief_users[args[1]], patient=patient, department=args[1], data={
            "kind": RELIEF_DUTIES[args[1]].kinds[0], "acted_on": patient.diagnosed_on + datetime.timedelta(days=args[2])})
    elif kind == "move":
        other = Region.objects.get(code=SIBLING if patient.county.code == COUNTY else COUNTY)
        services.patient_move(actor=health, patient=patient, county=other, township=None, village="", address="",
                              moved_on=datetime.date(2021, 1, 1))
    elif kind == "insure":
        services.patient_update(actor=health, patient=patient, data={"injury_insured": not patient.injury_insured})
    elif kind == "die":
        services.patient_update(actor=health, patient=patient, data={
            "status": "died", "died_on": patient.diagnosed_on + datetime.timedelta(days=args[1]),
            "death_cause": "呼吸衰竭"})


@pytest.fixture
def period():
    return ReportingPeriod.objects.create(code="2020H2", year=2020, half=2, starts_on=datetime.date(2020, 7, 1),
                                          ends_on=datetime.date(2020, 12, 31), deadline=datetime.date(2021, 1, 15))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(operation, max_size=8), after=st.lists(operation, max_size=8))
def test_incremental_equals_full_equals_the_python_definition(period, before, after):
    with transaction.atomic():
        health = make_user("37")
        relief_users = {d: make_user(("37", d, Role.CLERK)) for d in DEPARTMENTS}
        employers = {c: make_employer(county=c) for c in (COUNTY, SIBLING)}
        patients: list[Patient] = []
        for op in before:
            try:
                with transaction.atomic():
                    apply(op, health=health, relief_users=relief_users, patients=patients, employers=employers)
            except (ValidationError, PermissionDenied):
                pass  # refused as it should be (a follow-up after death, a department outside its category…)
        target_services.rollup_recompute_full(period=period)
        DirtyCounty.objects.all().delete()
        for op in after:
            try:
                with transaction.atomic():
                    apply(op, health=health, relief_users=relief_users, patients=patients, employers=employers)
            except (ValidationError, PermissionDenied):
                pass
        target_services.rollup_recompute_dirty()
        incremental = stored(period)
        run = target_services.rollup_recompute_full(period=period)
        assert run.drift == 0
        assert stored(period) == incremental
        expected = python_figures(period)
        for code, figures in incremental.items():
            assert figures == expected.get(code, {c: [0, 0] for c in CODES}), code
        assert set(expected) <= set(incremental)
        transaction.set_rollback(True)


def test_a_measure_stops_counting_when_its_department_no_longer_serves_the_category(clerk, civil_affairs):
    patient = services.patient_create(actor=clerk, data=patient_data(employer_gone=True))  # category (c)
    for acted_on in (datetime.date(2020, 5, 1), datetime.date(2019, 5, 1)):
        services.relief_record(actor=civil_affairs, patient=patient, department=Department.CIVIL_AFFAIRS,
                               data={"kind": "basic_living", "acted_on": acted_on})
    patient.refresh_from_db()
    assert patient.relief_acted_on == datetime.date(2019, 5, 1)
    # Insured after all: category (a), served by HRSS only; civil affairs' measures no longer count.
    patient = services.patient_update(actor=clerk, patient=patient, data={"injury_insured": True})
    assert (patient.relief_category, patient.relief_acted_on) == ("a", None)
    patient = services.patient_update(actor=clerk, patient=patient, data={"injury_insured": False})
    assert (patient.relief_category, patient.relief_acted_on) == ("c", datetime.date(2019, 5, 1))
