"""Exists but not yours (docs/ARCHITECTURE-NOTES.md, rule 21) for region parameters: a page or API
asked about a region outside the user's scope answers exactly as for a code no region has, never a
403 that tells the region exists, nor an empty list where a missing code lists everything."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from portal.models import Department, Region, Role
from tests.factories import make_period, make_user, signed_in
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

OWN, FOREIGN, MISSING = "371502", "371521", "999999"  # 东昌府区; 阳谷县 in the same city; no region

# Every page (and API list) that takes a region code, with the parameter that carries it.
ROUTES = [
    ("ledger:employers", "region"),
    ("ledger:employers", "township"),
    ("ledger:completeness", "region"),
    ("insurance:coverage", "region"),
    ("insurance:reconciliation", "region"),
    ("insurance:work-list", "region"),
    ("/api/insurance/work-list/", "region"),
    ("patients:list", "region"),
    ("patients:overdue", "region"),
    ("patients:rehab", "region"),
    ("patients:access-log", "region"),
    ("worklist:handovers", "region"),
    ("worklist:liaisons", "region"),
    ("worklist:audit", "region"),
    ("targets:dashboard", "region"),
    ("targets:targets", "region"),
    ("targets:zero-penalty", "region"),
    ("regions", "parent"),
]


@pytest.fixture
def world():
    make_period("2020H1", deadline=dt.date(2030, 7, 15))
    make_employer(county=OWN, name="东昌府某水泥厂")
    make_employer(county=FOREIGN, name="阳谷某耐火材料厂")
    return make_user((OWN, Department.HEALTH, Role.ADMIN))  # every capability these routes need


def _normalised(body: str, code: str) -> str:
    """The page without what differs between any two requests (CSP nonces, CSRF tokens) and
    without the asked code itself, which the page may echo in its links."""
    body = re.sub(r'nonce="[^"]*"', "", body)
    body = re.sub(r"[A-Za-z0-9]{64}", "", body)  # a masked CSRF token
    return body.replace(code, "CODE")


@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[f"{r}?{n}" for r, n in ROUTES])
def test_a_region_outside_the_scope_answers_as_a_missing_one(world, route, name):
    client = signed_in(world)
    url = route if route.startswith("/") else reverse(route)
    foreign_code = FOREIGN if name != "township" else Region.objects.filter(parent__code=FOREIGN).first().code
    theirs = client.get(url, {name: foreign_code, "year": dt.date.today().year})
    missing = client.get(url, {name: MISSING, "year": dt.date.today().year})
    assert theirs.status_code == missing.status_code != 403
    assert _normalised(theirs.content.decode(), foreign_code) == _normalised(missing.content.decode(), MISSING)
    assert "阳谷" not in theirs.content.decode()


# Every export that takes a region code. An export refuses a region it cannot use rather than
# writing the whole scope in its place (rule 21); a foreign code and a missing one get one answer.
EXPORTS = [
    ("ledger:excel-export", "region"),
    ("ledger:excel-export", "county"),
    ("ledger:roster-export", "county"),
    ("patients:excel-export", "region"),
    ("insurance:work-list-export", "region"),
    ("targets:dashboard-export", "region"),
]


@pytest.mark.parametrize(("route", "name"), EXPORTS, ids=[f"{r}?{n}" for r, n in EXPORTS])
def test_an_export_answers_a_region_outside_the_scope_as_a_missing_one(world, route, name):
    client = signed_in(world)
    theirs = client.get(reverse(route), {name: FOREIGN})
    missing = client.get(reverse(route), {name: MISSING})
    assert theirs.status_code == missing.status_code
    assert theirs["Content-Type"].startswith("text/html"), "an export wrote a file for a region it cannot use"
    assert _normalised(theirs.content.decode(), FOREIGN) == _normalised(missing.content.decode(), MISSING)
    assert "阳谷" not in theirs.content.decode()
