"""`seed_demo` gives every story something to show: an open half-year for the demo clerk, a
county waiting for the city, an inspection plan with teams and assignments for the demo
inspectors, findings in every state, HRSS counts that differ from the ledger; the start banner
names the accounts to use."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from inspections import selectors
from inspections.demo import TEAMS
from inspections.models import Assignment, ChecklistKind, Finding, FindingStatus, InspectionStatus, Photo, Team
from ledger.models import CountySubmission, EmployerRecord, SubmissionStatus
from ledger.selectors import current_period, submission_list
from portal.demo import DEMO_REGIONS, DEMO_SIBLING_COUNTY, demo_username
from portal.models import User
from portal.scoping import Capability

pytestmark = pytest.mark.django_db


def user(level, department, role):
    return User.objects.get(username=demo_username(level, department, role))


def test_the_demo_has_something_for_every_story():
    call_command("seed_demo", employers=300, verbosity=0)
    period = current_period()

    # Ledger: the demo clerk's county is filling the latest half-year; its sibling waits for the city.
    own = CountySubmission.objects.get(period=period, county__code=DEMO_REGIONS["county"])
    assert own.status == SubmissionStatus.DRAFT and not own.is_locked
    assert EmployerRecord.objects.filter(period=period, county__code=DEMO_REGIONS["county"]).exists()
    waiting = submission_list(actor=user("city", "health", "reviewer"), period=period,
                              capability=Capability.LEDGER_REVIEW).filter(status=SubmissionStatus.SUBMITTED)
    assert waiting.filter(county__code=DEMO_SIBLING_COUNTY).exists()

    # Inspections: teams with leader, members and liaison; one unannounced visit per team.
    teams = Team.objects.filter(plan__region__code=DEMO_REGIONS["city"]).prefetch_related("members")
    assert teams.count() == 2
    for team in teams:
        assert team.leader_id and team.members.exists() and team.liaison_id and team.liaison_phone
    assignments = Assignment.objects.filter(plan__region__code=DEMO_REGIONS["city"])
    assert assignments.filter(kind=ChecklistKind.UNANNOUNCED).count() == 2
    first_leader = user("city", *TEAMS["第一组"]["leader"][1:], "inspector")
    to_do = [a for a in selectors.assignment_list_granted(first_leader) if selectors.may_fill(first_leader, a)]
    assert {a.kind for a in to_do} == {ChecklistKind.COMPREHENSIVE, ChecklistKind.UNANNOUNCED}
    states = set(assignments.exclude(inspection=None).values_list("inspection__status", flat=True))
    assert states == {InspectionStatus.DRAFT, InspectionStatus.SUBMITTED, InspectionStatus.SIGNED}

    # Findings in every state, one of them overdue; photos with time and place.
    findings = Finding.objects.filter(inspection__assignment__plan__region__code=DEMO_REGIONS["city"])
    assert {FindingStatus.OPEN, FindingStatus.RECTIFIED, FindingStatus.VERIFIED, FindingStatus.REOPENED} <= set(
        findings.values_list("status", flat=True))
    assert any(f.is_overdue for f in findings)
    assert findings.filter(evidence__file__gt="").exists()
    photo = Photo.objects.first()
    assert photo.taken_at is not None and photo.latitude is not None and photo.file.size > 1000
    assert timezone.now() - photo.taken_at < timezone.timedelta(days=1)

    # HRSS counts that differ from the ledger's.
    from insurance.models import InsuranceCoverage

    coverage = InsuranceCoverage.objects.filter(period=period, county__code=DEMO_REGIONS["county"])
    differing = [c for c in coverage.select_related("employer")
                 if EmployerRecord.objects.get(employer=c.employer, period=period).insured_workers != c.insured_workers]
    assert coverage.exists() and differing

    # The start banner names the inspectors (each team role) and the HRSS accounts.
    banner = (settings.BASE_DIR / "scripts" / "run.sh").read_text()
    for spec in TEAMS.values():
        assert demo_username(*spec["leader"], "inspector") in banner
    assert demo_username(*TEAMS["第一组"]["members"][0], "inspector") in banner
    assert demo_username(*TEAMS["第一组"]["liaison"], "inspector") in banner
    assert "county_hrss_clerk" in banner and "city_hrss_reviewer" in banner and "county2_health_clerk" in banner

    # Seeding again changes nothing.
    counts = (assignments.count(), findings.count(), coverage.count())
    call_command("seed_demo", employers=300, verbosity=0)
    assert (assignments.count(), findings.count(), coverage.count()) == counts
