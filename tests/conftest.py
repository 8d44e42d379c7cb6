import pytest
from django.core.management import call_command

from portal.models import Region

pytest_plugins = ["tests.celery_worker", "tests.faults"]


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
