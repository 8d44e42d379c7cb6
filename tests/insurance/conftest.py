import datetime

import pytest

from ledger import services as ledger_services
from ledger.models import DustType, EmployerRecord, Worker
from portal.models import Department, Region, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer

COUNTY = "371502"  # 东昌府区, 聊城市
OTHER_COUNTY = "371521"  # 阳谷县


@pytest.fixture
def health_clerk():
    return make_user(COUNTY, department=Department.HEALTH, role=Role.CLERK, display_name="李娜")


@pytest.fixture
def hrss_clerk():
    return make_user(COUNTY, department=Department.HRSS, role=Role.CLERK, display_name="王芳")


@pytest.fixture
def hrss_viewer():
    return make_user(COUNTY, department=Department.HRSS, role=Role.VIEWER)


@pytest.fixture
def hrss_city():
    return make_user("3715", department=Department.HRSS, role=Role.CLERK)


@pytest.fixture
def hrss_province():
    return make_user("37", department=Department.HRSS, role=Role.CLERK)


@pytest.fixture
def hrss_other_county():
    return make_user(OTHER_COUNTY, department=Department.HRSS, role=Role.CLERK)


@pytest.fixture
def county():
    return Region.objects.get(code=COUNTY)


def set_record(employer, period, **counts):
    EmployerRecord.objects.filter(employer=employer, period=period).update(**counts)


@pytest.fixture
def ledger(health_clerk, period_2020h1, county):
    """Three employers in 东昌府区 with records for 2020H1: two key-industry (cement 3011,
    coal 0610), one not (furniture 2110)."""
    cement = make_employer(county=COUNTY, name="鑫达水泥有限公司", industry="3011")
    coal = make_employer(county=COUNTY, name="恒泰煤业有限公司", industry="0610")
    furniture = make_employer(county=COUNTY, name="宏远家具厂", industry="2110")
    ledger_services.period_open_county(actor=health_clerk, period=period_2020h1, county=county)
    set_record(cement, period_2020h1, total_workers=100, insured_workers=60)
    set_record(coal, period_2020h1, total_workers=50, insured_workers=50)
    set_record(furniture, period_2020h1, total_workers=30, insured_workers=0)
    return {"cement": cement, "coal": coal, "furniture": furniture}


ID_A = "11010519491231002X"
ID_B = "110105194912310038"


def add_worker(employer, name, id_number):
    return Worker.objects.create(employer=employer, name=name, id_number=id_number, post="粉碎工",
                                 dust_type=DustType.objects.first())


TODAY = datetime.date.today()
