import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(media_in_tmp):
    """The API tests upload photos and evidence."""
