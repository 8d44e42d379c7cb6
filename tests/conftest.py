import pytest
from django.core.management import call_command

from portal.models import Region

pytest_plugins = ["tests.celery_worker"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Reference data (regions, industries, dust types) once per session; tests roll back on top."""
    with django_db_blocker.unblock():
        call_command("load_reference", verbosity=0)


@pytest.fixture
def reference_data(django_db_blocker):
    """For transactional tests (browser, Celery), whose flush empties every table."""
    with django_db_blocker.unblock():
        if not Region.objects.exists():
            call_command("load_reference", verbosity=0)
