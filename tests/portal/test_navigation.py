"""Every menu entry a user is shown opens for that user: the menu and the pages' own checks
agree, for every department × role of a county, of a city and of a province, and for a superuser."""

import itertools

import pytest

from portal.models import Department, Role
from portal.navigation import items_for
from tests.factories import make_period, make_user, signed_in

pytestmark = pytest.mark.django_db

LEVELS = ["371502", "3715", "37"]  # 东昌府区, 聊城市, 山东省


def _users():
    yield "superuser", make_user(username="root", is_superuser=True)
    for code, department, role in itertools.product(LEVELS, Department, Role):
        yield f"{code} {department} {role}", make_user((code, department, role))


def test_every_menu_entry_opens_for_whoever_is_shown_it():
    make_period("2020H1")
    refused = []
    for label, user in _users():
        client = signed_in(user)
        for item in items_for(user):
            status = client.get(item["url"]).status_code
            if status != 200:
                refused.append(f"{label}: {item['label']} {item['url']} answered {status}")
    assert not refused, "\n".join(refused)
