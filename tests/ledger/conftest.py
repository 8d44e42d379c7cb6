
import pytest

from portal.models import Role
from tests.factories import make_user


@pytest.fixture
def city_reviewer():
    return make_user("3715", role=Role.REVIEWER, username="lc_reviewer", display_name="王伟")


@pytest.fixture
def province_reviewer():
    return make_user("37", role=Role.REVIEWER, username="sd_reviewer", display_name="张强")
