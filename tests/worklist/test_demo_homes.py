"""After `seed_demo` (as a fresh `make run` seeds it), every demo account's home shows work of its
role, or the empty state with the figures it watches; the open half-year's deadline is a few days
from today, so the 7-day reminders go out, once."""

import re
import time

import pytest
from django.core.management import call_command

from portal.models import User
from worklist.demo import OPEN_PERIOD_DAYS_LEFT
from worklist.models import Notification, NotificationKind
from worklist.tasks import send_reminders

pytestmark = pytest.mark.django_db

# Work each role must find at home in the demo (data-kind of the items).
EXPECTED = {
    "county_health_clerk": {"fill", "figure", "followup"},
    "city_health_clerk": {"figure", "fill"},
    "city_health_reviewer": {"review"},
    "province_health_reviewer": {"accept"},
    "county_hrss_clerk": {"handover", "coverage"},
    "county2_health_clerk": {"rectify"},
    "city_health_inspector": {"inspect"},
    "city_mine_safety_inspector": {"sign"},
    "county_civil_affairs_clerk": {"relief"},
    "county_emergency_admin": {"liaison"},
    "city_emergency_viewer": {"target"},
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.timeout(900)  # one seed and 200 home pages: a few minutes on a loaded machine
def test_every_demo_account_has_work_or_the_empty_state_and_reminders_go_out_once(client):
    started = time.perf_counter()
    call_command("seed_demo", employers=300, verbosity=0)
    print(f"seed_demo: {time.perf_counter() - started:.1f}s")
    county_clerk = User.objects.get(username="county_health_clerk")
    reminders = Notification.objects.filter(kind=NotificationKind.DEADLINE_7)
    assert reminders.filter(user=county_clerk).count() == 1  # seed_demo ran the day's beat job
    sent = reminders.count()
    assert send_reminders() == 0 and reminders.count() == sent  # the next run sends nothing again

    empty, kinds_of = [], {}
    for user in User.objects.filter(memberships__isnull=False).distinct().order_by("username"):
        client.force_login(user)
        body = client.get("/").content.decode()
        kinds_of[user.username] = set(re.findall(r'data-testid="work-item" data-kind="([a-z_]+)"', body))
        if not kinds_of[user.username]:
            assert 'data-testid="work-empty"' in body and "/targets/" in body, user.username
            empty.append(user.username)
    assert len(kinds_of) == 200
    for username, expected in EXPECTED.items():
        assert expected <= kinds_of[username], (username, kinds_of[username])
    assert empty == []
    print(f"seed and {len(kinds_of)} homes: {time.perf_counter() - started:.1f}s")

    client.force_login(county_clerk)
    body = client.get("/").content.decode()
    assert f"还有 {OPEN_PERIOD_DAYS_LEFT} 天" in body
