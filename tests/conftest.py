from collections import Counter

import pytest
from django.core.management import call_command

from portal.models import Region, Role
from tests.factories import make_period, make_user

pytest_plugins = ["tests.celery_worker", "tests.faults"]

# The isolation matrix's tests record what they checked under this name (tests/security/test_isolation_matrix.py).
MATRIX_TALLY = "isolation_matrix"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Reference data (regions, industries, dust types) once per session; tests roll back on top."""
    with django_db_blocker.unblock():
        call_command("load_reference", verbosity=0)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request switched to English would otherwise
    leave the thread translating the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def reference_data(django_db_blocker):
    """For transactional tests (browser, Celery), whose flush empties every table."""
    with django_db_blocker.unblock():
        if not Region.objects.exists():
            call_command("load_reference", verbosity=0)


@pytest.fixture
def media_in_tmp(settings, tmp_path):
    """Uploads (photos, evidence, imported files) go to a temporary MEDIA_ROOT, not the project's
    media/; an app's conftest makes it autouse for its tests."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def period_2020h1():
    return make_period("2020H1")


@pytest.fixture
def period_2020h2():
    return make_period("2020H2")


@pytest.fixture
def clerk():
    return make_user("371502", role=Role.CLERK, username="dcf_clerk", display_name="李娜")


@pytest.fixture
def open_submission(clerk, period_2020h1):
    from ledger import services

    return services.period_open_county(actor=clerk, period=period_2020h1, county=Region.objects.get(code="371502"))


def pytest_terminal_summary(terminalreporter):
    """The isolation matrix's size and time, added up over the processes' reports (under xdist the
    tests ran in several processes; their reports reach this one)."""
    reports = [report for reports in terminalreporter.stats.values() for report in reports
               if isinstance(report, pytest.TestReport)]  # the stats also hold deselected items and warnings
    tallies = [(report, dict(report.user_properties)[MATRIX_TALLY]) for report in reports
               if report.when == "teardown" and MATRIX_TALLY in dict(report.user_properties)]
    if not tallies:
        return
    total = Counter()
    for _report, tally in tallies:
        total.update({key: value for key, value in tally.items() if key not in ("users", "world_s")})
    seconds = sum(report.duration for report in reports if report.nodeid.startswith("tests/security/test_isolation_matrix.py"))
    users = max(tally["users"] for _report, tally in tallies)
    terminalreporter.write_line(
        f"isolation matrix: {total['object_routes']} object routes × {users} users (anonymous and {users - 1} "
        f"department × role) = {total['object_checks']} route × user × method checks ({total['object_requests']} "
        f"requests); {total['list_routes']} list routes × {users} users = {total['list_checks']} checks "
        f"({total['list_requests']} requests); {seconds:.0f} s in all processes")
