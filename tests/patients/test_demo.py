import pytest
from django.db.models import Count

from ledger.validation import clean_id_number
from patients.demo import seed_demo_patients
from patients.models import FollowUp, LifeStatus, Patient, RehabSite
from patients.selectors import TOWNSHIP_STATION_THRESHOLD
from portal.demo import seed_demo_users
from portal.models import Region, RegionLevel

pytestmark = pytest.mark.django_db


def test_every_demo_county_gets_patients_followups_and_a_station():
    seed_demo_users(seed=2019)
    seed_demo_patients(seed=2019, province_codes=["37"], per_county=(3, 5))
    counties = set(Region.objects.filter(level=RegionLevel.COUNTY, path__startswith=Region.objects.get(code="37").path)
                   .exclude(children=None).values_list("pk", flat=True))
    assert counties and counties <= set(Patient.objects.values_list("county_id", flat=True))
    assert counties <= set(FollowUp.objects.values_list("county_id", flat=True))
    assert counties == set(RehabSite.objects.filter(kind="station").values_list("county_id", flat=True))
    sample = list(Patient.objects.values_list("id_number", flat=True)[:200])
    assert all(clean_id_number(n) == n for n in sample)
    crowded = (Patient.objects.filter(county__code="371502", status=LifeStatus.ALIVE).values("township_id")
               .annotate(n=Count("id")).filter(n__gte=TOWNSHIP_STATION_THRESHOLD))
    assert crowded.count() == 2  # one with its station, one still asking for one
