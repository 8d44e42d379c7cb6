"""Deny by default: every route declares how it is scoped, and an undeclared one answers 403."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from portal.scoping import SELF_GUARDED_NAMESPACES, ScopeDeclarationMiddleware, access_of
from tests.factories import make_user


def walk(patterns, prefix="", namespaces=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern),
                            namespaces + ((entry.namespace,) if entry.namespace else ()))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback, namespaces


def test_every_route_declares_its_access():
    undeclared = [
        route for route, callback, namespaces in walk(get_resolver().url_patterns)
        if not SELF_GUARDED_NAMESPACES.intersection(namespaces) and access_of(callback) is None
    ]
    assert undeclared == []


def test_the_walk_sees_the_routes():
    routes = [route for route, _cb, _ns in walk(get_resolver().url_patterns)]
    assert "users/" in routes and any(route.startswith("api/") for route in routes)


@pytest.mark.django_db
def test_an_undeclared_view_answers_403_for_a_signed_in_user():
    def undeclared(request):
        return HttpResponse("leak")

    request = RequestFactory().get("/somewhere")
    request.user = make_user("371502")
    request.resolver_match = None
    response = ScopeDeclarationMiddleware(lambda r: None).process_view(request, undeclared, (), {})
    assert response is not None and response.status_code == 403


@pytest.mark.django_db
def test_an_undeclared_view_passes_for_a_superuser():
    request = RequestFactory().get("/somewhere")
    request.user = make_user(is_superuser=True)
    request.resolver_match = None
    assert ScopeDeclarationMiddleware(lambda r: None).process_view(request, lambda r: None, (), {}) is None
