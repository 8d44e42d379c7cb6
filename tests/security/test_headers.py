"""Response headers: a strict CSP without inline script, no caching of signed-in pages or API
answers, Referrer-Policy and Permissions-Policy; and templates that carry no inline script."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_page_carries_a_csp_without_inline_or_eval_script(client):
    policy = directives(client.get("/accounts/login/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"] + policy["style-src"]


def test_signed_in_pages_and_api_answers_are_not_stored(client):
    user = make_user("371502", role="admin")
    client.force_login(user)
    for url in ("/", "/ledger/", "/api/me/", "/api/ledger/employers/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]
        # The tablet records where a photo was taken when the inspector allows it.
        assert "geolocation=(self)" in response["Permissions-Policy"]


def test_anonymous_api_answers_are_not_stored(client):
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert "no-store" in response["Cache-Control"]


def test_the_api_schema_and_its_docs_need_a_login(client):
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/docs/").status_code == 401
    assert client.get("/api/docs/?script").status_code == 401
    user = make_user("371502", role="viewer")
    client.force_login(user)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert re.search(rb"<script>", docs.content) is None  # the initialiser is a file (?script)
    assert client.get("/api/docs/?script").status_code == 200


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b[^>]*>", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def test_templates_have_no_inline_script_or_event_handler():
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, JS_URL, STYLE_ELEMENT):
            offenders += [f"{path.relative_to(settings.BASE_DIR)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []
