"""Every inspections route declares its access; anonymous visitors are sent to log in (only the
service worker and the manifest are public: they carry no data)."""

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from django.urls.converters import UUIDConverter

from portal.scoping import access_of

pytestmark = pytest.mark.django_db

PUBLIC = {"sw", "manifest"}


def inspection_routes():
    resolver = get_resolver()
    for pattern in resolver.url_patterns:
        if getattr(pattern, "namespace", None) == "inspections":
            yield from pattern.url_patterns


def test_every_inspections_route_declares_access():
    routes = list(inspection_routes())
    assert len(routes) >= 20
    for route in routes:
        access = access_of(route.callback)
        assert access is not None, route.name
        assert access.public == (route.name in PUBLIC), route.name


def sample_value(converter):
    return "00000000-0000-0000-0000-000000000001" if isinstance(converter, UUIDConverter) else 1


def test_anonymous_visitors_are_sent_to_log_in():
    client = Client()
    for route in inspection_routes():
        if route.name in PUBLIC:
            continue
        kwargs = {name: sample_value(converter) for name, converter in route.pattern.converters.items()}
        response = client.get(reverse(f"inspections:{route.name}", kwargs=kwargs))
        assert response.status_code in (302, 405), route.name
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"], route.name
