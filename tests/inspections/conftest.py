import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(media_in_tmp):
    """Photos and evidence go to a temporary MEDIA_ROOT (tests/conftest.py)."""
