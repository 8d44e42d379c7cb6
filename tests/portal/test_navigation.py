"""Every menu entry a user is shown opens for that user: the menu and the pages' own checks
agree, for every department × role of a county, of a city and of a province, and for a superuser."""

import itertools

import pytest

from portal.models import Department, Role
from portal.navigation import items_for
from tests.factories import make_period, make_user, signed_in

pytestmark = pytest.mark.django_db

LEVELS = ["371502", "3715", "37"]  # 东昌府区, 聊城市, 山东省


def _refused(user, label: str) -> list[str]:
    client = signed_in(user)
    return [f"{label}: {item['label']} {item['url']} answered {status}" for item in items_for(user)
            if (status := client.get(item["url"]).status_code) != 200]


@pytest.mark.parametrize("department", list(Department))  # one test each, spread over the test processes
def test_every_menu_entry_opens_for_whoever_is_shown_it(department):
    make_period("2020H1")
    refused = [line for code, role in itertools.product(LEVELS, Role)
               for line in _refused(make_user((code, department, role)), f"{code} {department} {role}")]
    assert not refused, "\n".join(refused)


def test_every_menu_entry_opens_for_a_superuser():
    make_period("2020H1")
    refused = _refused(make_user(username="root", is_superuser=True), "superuser")
    assert not refused, "\n".join(refused)
