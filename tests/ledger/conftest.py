import datetime

import pytest

from ledger import services
from ledger.models import ReportingPeriod
from portal.models import Role
from tests.factories import make_user


@pytest.fixture
def clerk():
    return make_user("371502", role=Role.CLERK, username="dcf_clerk", display_name="李娜")


@pytest.fixture
def city_reviewer():
    return make_user("3715", role=Role.REVIEWER, username="lc_reviewer", display_name="王伟")


@pytest.fixture
def province_reviewer():
    return make_user("37", role=Role.REVIEWER, username="sd_reviewer", display_name="张强")


@pytest.fixture
def period_2020h1():
    return ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                          ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))


@pytest.fixture
def period_2020h2():
    return ReportingPeriod.objects.create(code="2020H2", year=2020, half=2, starts_on=datetime.date(2020, 7, 1),
                                          ends_on=datetime.date(2020, 12, 31), deadline=datetime.date(2021, 1, 15))


@pytest.fixture
def open_submission(clerk, period_2020h1):
    from portal.models import Region

    return services.period_open_county(actor=clerk, period=period_2020h1, county=Region.objects.get(code="371502"))
