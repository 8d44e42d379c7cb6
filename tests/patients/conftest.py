import datetime
import random

import pytest

from patients import services
from patients.identity import generated_id_number
from portal.models import Department, Region, Role
from tests.factories import make_user

COUNTY, SIBLING = "371502", "371521"
_rng = random.Random(14)


_issued: set[str] = set()


def new_id(county: str = COUNTY, birth=datetime.date(1960, 5, 1), male: bool = True) -> str:
    """A valid generated number never handed out before in this test session."""
    number = generated_id_number(_rng, county_code=county, birth=birth, male=male)
    while number in _issued:
        number = generated_id_number(_rng, county_code=county, birth=birth, male=male)
    _issued.add(number)
    return number


def patient_data(county: str = COUNTY, **overrides) -> dict:
    county_region = Region.objects.get(code=county)
    township = Region.objects.filter(parent=county_region).order_by("code").first()
    birth = overrides.pop("birth", datetime.date(1960, 5, 1))
    data = {
        "name": "王建国", "id_number": new_id(county, birth), "phone": "13800001111", "county": county_region,
        "township": township, "village": "东关村", "address": "东关村3组", "employer": None,
        "employer_name": "聊城市某石材厂", "employer_uscc": "", "employer_gone": False, "exposure_years": 12,
        "dust_type": None, "diagnosis_kind": "occupational", "disease": "silicosis", "stage": 2,
        "diagnosed_on": datetime.date(2015, 3, 1), "diagnosis_institution": "聊城市职业病防治院",
        "certificate_number": "LC2015-001", "injury_insured": False, "injury_recognized": False,
        "disability_grade": None, "status": "alive", "died_on": None, "death_cause": "", "rehab_filed_on": None,
    }
    data.update(overrides)
    return data


@pytest.fixture
def clerk():
    return make_user(COUNTY, username="dcf_patient_clerk", display_name="李娜")


@pytest.fixture
def sibling_clerk():
    return make_user(SIBLING, username="yg_patient_clerk", display_name="赵敏")


@pytest.fixture
def civil_affairs():
    return make_user((COUNTY, Department.CIVIL_AFFAIRS, Role.CLERK), username="dcf_civil", display_name="周强")


@pytest.fixture
def make_patient(clerk):
    def make(county: str = COUNTY, actor=None, **overrides):
        if actor is None and county != COUNTY:
            actor = make_user(county)
        return services.patient_create(actor=actor or clerk, data=patient_data(county, **overrides))
    return make
