"""Period names and the completeness states go through gettext when they are shown, so an
English page shows the English catalogue's words (the msgids are the Chinese texts)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from ledger import services
from ledger.models import CountySubmission, ReportingPeriod
from portal.models import Region, Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ENGLISH = {"%(year)s年上半年": "first half of %(year)s", "%(year)s年下半年": "second half of %(year)s",
           "按时报送": "On time", "逾期报送": "Late", "逾期未报": "Overdue, not submitted", "尚未报送": "Not yet"}


@pytest.fixture
def english_catalogue(monkeypatch):
    """The lead adds the English to locale/en; here the entries under test are put in front of it."""
    catalogue = trans_real.translation("en")
    original = catalogue.gettext
    monkeypatch.setattr(catalogue, "gettext", lambda message: ENGLISH.get(message) or original(message))


def test_period_names_are_translated(english_catalogue):
    first = ReportingPeriod(code="2020H1", year=2020, half=1)
    second = ReportingPeriod(code="2020H2", year=2020, half=2)
    assert (str(first), str(second)) == ("2020年上半年", "2020年下半年")
    with translation.override("en"):
        assert (str(first), str(second)) == ("first half of 2020", "second half of 2020")


def test_completeness_states_are_translated(client, english_catalogue):
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))
    clerk = make_user("371502", role=Role.CLERK)
    submission = services.period_open_county(actor=clerk, period=period, county=Region.objects.get(code="371502"))
    services.submission_submit(actor=clerk, submission=submission)
    CountySubmission.objects.filter(pk=submission.pk).update(
        submitted_at=datetime.datetime(2020, 7, 10, 10, tzinfo=datetime.UTC))
    client.force_login(make_user("3715", role=Role.VIEWER, username="lc_viewer"))
    client.cookies["django_language"] = "en"
    body = client.get(reverse("ledger:completeness"), {"period": "2020H1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="state-371502">On time' in body
    assert 'data-testid="state-371521">Overdue, not submitted' in body
    assert "first half of 2020" in body
    assert "按时报送" not in body and "年上半年" not in body


def test_favicon_is_not_a_404(client):
    response = client.get("/favicon.ico")
    from django.contrib.staticfiles import finders

    assert response.status_code == 301 and response["Location"].endswith("inspections/icon-192.png")
    assert finders.find("inspections/icon-192.png")
