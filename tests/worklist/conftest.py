import datetime

import pytest

from ledger.models import ReportingPeriod


@pytest.fixture(autouse=True)
def _media_in_tmp(media_in_tmp):
    """Photos and evidence go to a temporary MEDIA_ROOT (tests/conftest.py)."""


@pytest.fixture
def today():
    from django.utils import timezone

    return timezone.localdate()


@pytest.fixture
def current_period(today):
    """A half-year already started whose deadline is 10 days away."""
    return ReportingPeriod.objects.create(code="2026H1", year=2026, half=1, starts_on=today - datetime.timedelta(days=90),
                                          ends_on=today, deadline=today + datetime.timedelta(days=10))
