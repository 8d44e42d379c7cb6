import pytest
from django.core.management import call_command
from stdnum.cn import uscc

from ledger.models import Employer
from portal.demo import DEMO_PASSWORD
from portal.models import Department, Role, User

pytestmark = pytest.mark.django_db


def snapshot():
    """The demo province's employers (the other seed provinces get a fifth as many each)."""
    return list(Employer.objects.filter(province__code="37").order_by("uscc", "registration_number").values_list(
        "uscc", "registration_number", "name", "county__code", "township_id", "industry__code", "status"))


def forget_employers():
    """Employers go with the inspection demo that visited them (assignments and findings protect them)."""
    from inspections.models import Assignment, Finding, Inspection, InspectionPlan, Team

    Finding.objects.all().delete()
    Inspection.objects.all().delete()
    Assignment.objects.all().delete()
    Team.objects.all().delete()
    InspectionPlan.objects.all().delete()
    Employer.objects.all().delete()


def test_seed_demo_is_deterministic_and_valid():
    call_command("seed_demo", employers=400, verbosity=0)
    first = snapshot()
    forget_employers()
    call_command("seed_demo", employers=400, verbosity=0)
    assert snapshot() == first
    assert len(first) == 400
    for number, legacy, *_ in first:
        assert (number and uscc.is_valid(number)) or (legacy and len(legacy) == 15)


def test_a_smaller_run_is_a_prefix_of_a_larger_one():
    call_command("seed_demo", employers=100, verbosity=0)
    small = set(snapshot())
    call_command("seed_demo", employers=300, verbosity=0)
    assert small <= set(snapshot()) and Employer.objects.filter(province__code="37").count() == 300
    assert Employer.objects.exclude(province__code="37").count() == 4 * 60


def test_employers_are_spread_over_the_counties_with_denormalized_keys():
    call_command("seed_demo", employers=600, verbosity=0)
    assert Employer.objects.values("county").distinct().count() > 100
    sample = Employer.objects.select_related("county__parent").first()
    assert sample.city_id == sample.county.parent_id and sample.province_id == sample.county.parent.parent_id


def test_one_demo_login_per_level_department_and_role():
    call_command("seed_demo", employers=0, verbosity=0)
    for level in ("national", "province", "city", "county"):
        for department in Department:
            for role in Role:
                user = User.objects.get(username=f"{level}_{department.value}_{role.value}")
                assert user.check_password(DEMO_PASSWORD)
                assert user.memberships.get().department == department
