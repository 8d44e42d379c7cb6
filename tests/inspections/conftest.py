import pytest


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Photos and rectification evidence go to a temporary MEDIA_ROOT, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
