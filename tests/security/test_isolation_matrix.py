"""The isolation matrix: generated from the URL configuration (API routes included), so a new
route is covered without anyone writing a test for it (one test per route).

- Every route taking an object: the object is created in one county (东昌府区) and requested with
  GET and every unsafe method the route accepts, as every department × role of a sibling county,
  of a county of another city, and anonymously. The answer must refuse (login, 403, 404, 405),
  must be the very answer the same user gets for an object that does not exist (no oracle), and
  must carry none of the object's marker strings.
- Every route without an object (lists, filters, exports, dropdowns, forms): the same users, with
  the filters pointed at the foreign county and object, see none of the markers.
- No template context or form field, on any of those pages and on the owners' own object pages,
  carries an unfiltered queryset (`objects.all()`) of a model holding a county's data.

The world and the users are built once for the module, inside one transaction rolled back at the
end; each user keeps one signed-in session. The run prints routes × users × methods and the time
taken."""

import re
import time
import uuid
from collections import Counter

import pytest
from django.db import transaction
from django.test import Client, override_settings

from portal.scoping import access_of, scope_for
from tests.conftest import MATRIX_TALLY
from tests.factories import signed_in
from tests.security.isolation import (
    HOME,
    MARKERS,
    MISSING_CODE,
    MISSING_ID,
    Contexts,
    all_routes,
    body_text,
    build_world,
    foreign_users,
    in_savepoint,
    markers_in,
    new_token,
)

REFUSED = {401, 403, 404, 405}
# Objects that are not a county's: every signed-in user reads them.
SHARED = {"period": "the national half-year reporting periods every county reports in"}
OBJECT_ROUTES = [r for r in all_routes() if [k for k in r.kwargs if k != "format"]]
LIST_ROUTES = [r for r in all_routes() if not [k for k in r.kwargs if k != "format"]
               and "GET" in r.methods() and r.name not in ("logout", "api-schema", "api-docs")]
def client_for(user) -> Client:
    return signed_in(user, raise_request_exception=True)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once, inside a transaction rolled back after the module's last test (each test runs
    in its own savepoint on top, through `db`). Uploads go to a temporary MEDIA_ROOT. Sessions live
    in signed cookies: the matrix sends some 20,000 requests, and the session row read was a
    quarter of the queries of a refused one; who the user is and what they may do is read as in
    production (the user and their memberships, from the database)."""
    started = time.perf_counter()
    with (django_db_blocker.unblock(), override_settings(
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
            SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"), transaction.atomic()):
        world = build_world()
        world.users = foreign_users()
        world.clients = {label: client_for(user) for label, user in world.users}
        world.owner_clients = [(u, client_for(u)) for u in (world.owner, world.inspector, world.hrss,
                                                             world.superuser)]
        world.found, world.owner_pages, world.owner_lists = {}, {}, {}
        world.build_seconds = time.perf_counter() - started
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def tally(world, record_property):
    """What one route's test checked and sent, for the run's summary (tests/security/conftest.py),
    which adds up every process's reports."""
    counts = Counter(users=len(world.users), world_s=world.build_seconds)
    yield counts
    record_property(MATRIX_TALLY, dict(counts))


def request(client, method: str, url: str, route):
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url)
    if route.is_api:
        return in_savepoint(lambda: call(url, data={}, content_type="application/json"))
    return in_savepoint(lambda: call(url, data={}))


def answer(response) -> tuple:
    """What tells two answers apart without reading the body: the status and where it redirects."""
    return response.status_code, response.get("Location")


def candidates(world, kwarg: str):
    if kwarg == "employer_pk":
        return [("employer", world.objects["employer"].pk)]
    if kwarg == "code":
        return [("region", HOME), ("period", world.period.code)]
    if kwarg == "token":
        return [("export", token) for token in world.owner_tokens]
    if kwarg == "client_uuid":
        return [("photo", world.objects["photo"].client_uuid)]
    return world.ids()


def missing_value(kwarg: str):
    return {"code": MISSING_CODE, "token": new_token(), "client_uuid": uuid.uuid4()}.get(kwarg, MISSING_ID)


HINTS = {"employer": "employers/<", "record": "records/", "worker": "workers/", "import_job": "excel/import/",
         "handover": "handovers/", "coverage_job": "coverage/import/jobs/", "follow_up": "follow-ups/",
         "expansion_plan": "insurance/plans/", "plan": "inspections/plans/", "assignment": "assignments/",
         "inspection": "reports/", "finding": "findings/", "checklist_version": "checklist-versions/",
         "checklist_item": "checklists/items/", "target": "targets/targets/", "rollup": "rollups/",
         "submission": "submissions/", "user": "users/", "reported_figure": "reported/",
         "rehab_site": "rehab/sites/", "patient_import_job": "patients/excel/import/", "patient": "patients/",
         "notification": "inbox/"}


def ordered(world, route, kwarg):
    """The likeliest objects first (by the route's words): discovery then takes one or two requests."""
    found = candidates(world, kwarg)
    pattern = route.pattern.replace("^", "")
    return sorted(found, key=lambda kv: HINTS.get(kv[0], "\0") not in pattern
                  and not (kv[0] == "checklist_version" and "checklists/versions/" in pattern))


def discover(world, route):
    """Which of the world's objects the route takes: the one whose answer differs from the answer
    for an object that does not exist, for one of the owners (superuser, the county's admin, its
    inspector, its HRSS clerk). Returns (kind, values) or None. The owner's page that answered
    is checked for unfiltered querysets on the way (`world.owner_pages`)."""
    fixed = {k: v for k in route.kwargs if k == "employer_pk" for _kind, v in candidates(world, k)}
    free = [k for k in route.kwargs if k not in fixed]
    if not free:
        return "employer", fixed
    access = access_of(route.callback)
    for owner, client in world.owner_clients:
        for method in ("GET", "POST"):
            capability = access.capability_for(method) if access else None
            if method not in route.methods() or (capability and not scope_for(owner, capability)):
                continue  # refused before the view whatever the object: this owner cannot tell
            base = dict(fixed, **{k: missing_value(k) for k in free})
            missing = answer(request(client, method, route.url(base), route))
            if missing[0] == 405:
                continue
            if len(free) > 1:
                # A nested object (findings/<pk>/evidence/<evidence_pk>): its parent, then itself.
                tries = [(child, {free[0]: world.objects[parent].pk, free[1]: world.objects[child].pk})
                         for child, parent in world.parents.items()]
            else:
                tries = [(kind, {free[0]: value}) for kind, value in ordered(world, route, free[0])]
            for kind, chosen in tries:
                values = dict(base, **chosen)
                with Contexts() as contexts:
                    found = answer(request(client, method, route.url(values), route))
                if found != missing:
                    if owner is not world.superuser:  # the superuser's scope is unfiltered by design
                        world.owner_pages[route] = contexts.unfiltered(f"{method} {route.url(values)} as {owner}")
                    return kind, values
    return None


def found_object(world, route):
    """discover(), remembered; an action that validates its body before it looks the object up
    (an API POST) takes the object of the route it extends (findings/<pk>/review/ → findings/<pk>/)."""
    if route not in world.found:
        hit = discover(world, route)
        if hit is None:
            stem = re.sub(r"[^/]+/\$?$", "", route.pattern)
            parents = [r for r in OBJECT_ROUTES if r.pattern.rstrip("$") == stem]
            hit = found_object(world, parents[0]) if parents else None
        world.found[route] = hit
    return world.found[route]


def report(problems: list[str]) -> str:
    """One line per request and answer, with the users it concerns (the full list is long)."""
    grouped: dict[str, list[str]] = {}
    for line in problems:
        where, _sep, what = line.partition(": ")
        request_part, _as, label = where.partition(" as ")
        grouped.setdefault(f"{request_part}: {what}", []).append(label)
    return "\n".join(f"{key} [{len(labels)}: {', '.join(labels[:4])}]" for key, labels in sorted(grouped.items()))


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.pattern)
def test_an_object_route_refuses_every_foreign_user_as_if_the_object_did_not_exist(world, route, db, tally):
    hit = found_object(world, route)
    assert hit is not None, "the matrix cannot find this route's object: extend tests/security/isolation.py"
    kind, values = hit
    url = route.url(values)
    # The owner's own page (found by discovery): its forms and context hold no unfiltered queryset.
    problems = list(world.owner_pages.get(route, []))
    users = world.users if kind not in SHARED else world.users[:1]  # shared: only anonymous is refused
    missing_url = route.url({k: (v if k == "employer_pk" and len(route.kwargs) > 1 else missing_value(k))
                             for k, v in values.items()})
    access = access_of(route.callback)
    refused_before_view: dict[str, object] = {}  # method → the answer every user without the capability gets
    for label, user in users:
        client = world.clients[label]
        for method in route.methods():
            tally["object_checks"] += 1
            capability = access.capability_for(method) if access else None
            without_capability = user is not None and capability is not None and not scope_for(user, capability)
            if without_capability and method in refused_before_view:
                # The declaration refuses this user before the view looks anything up: one user
                # without the capability stands for all of them (their answer was checked below).
                continue
            got = request(client, method, url, route)
            tally["object_requests"] += 1
            if without_capability:
                refused_before_view[method] = got
                if got.status_code not in (403, 404):
                    problems.append(f"{method} {url} ({kind}) as {label}: no capability for {capability}, "
                                    f"but answered {got.status_code}")
            if got.status_code == 404 or (got.status_code in (302, 401, 403) and (user is None or without_capability)):
                # Not found, or refused before the view looked anything up (login, or no such
                # capability anywhere): what a missing object gets too, no second request needed.
                expected = got
            else:
                expected = request(client, method, missing_url, route)
                tally["object_requests"] += 1
            where = f"{method} {url} ({kind}) as {label}"
            login_redirect = got.status_code == 302 and "/accounts/login/" in got.get("Location", "")
            if user is None and got.status_code not in REFUSED and not login_redirect:
                problems.append(f"{where}: answered {got.status_code}")
            elif answer(got) != answer(expected):
                problems.append(f"{where}: {answer(got)}, but {answer(expected)} for a missing one")
            elif 200 <= got.status_code < 300 and method not in ("GET", "HEAD"):
                problems.append(f"{where}: a write answered {got.status_code}")
            if leaked := markers_in(body_text(got)):
                problems.append(f"{where}: shows {leaked}")
    tally["object_routes"] += 1
    assert not problems, report(problems)


def list_filters(world) -> dict:
    """Filters pointed at the foreign county and its objects; the search is the prefix every marker
    shares (a search box echoes what was typed, a marker must not come back)."""
    o = world.objects
    township = o["patient"].township.code
    return {"region": HOME, "county": HOME, "parent": HOME, "code": HOME, "township": township, "q": "矩阵",
            "search": "矩阵", "region__code": HOME, "county__code": HOME, "township__code": township,
            "employer": o["employer"].pk, "patient": o["patient"].pk, "campaign": o["campaign"].pk,
            "plan": o["plan"].pk, "person": world.owner.username, "period": world.period.code}


def owner_view(world, route):
    """What the first owner the list serves (the county's admin, else its HRSS clerk, else its
    inspector) sees: the markers, the unfiltered querysets of the page, and whether the page
    exports a workbook when asked with format=xlsx. Remembered per route."""
    if route not in world.owner_lists:
        url, params = route.url({}), list_filters(world)
        for owner, client in world.owner_clients[:3]:
            where = f"GET {url} as {owner}"
            with Contexts() as contexts:
                response = client.get(url, params)
            if response.status_code not in (302, 401, 403):
                break
        exports = not route.is_api and response.status_code == 200 and client.get(
            url, dict(params, format="xlsx"))["Content-Type"] != response["Content-Type"]
        world.owner_lists[route] = (markers_in(body_text(response)), contexts.unfiltered(where), exports)
    return world.owner_lists[route]


@pytest.mark.parametrize("route", LIST_ROUTES, ids=lambda r: r.pattern or "/")
def test_a_list_filter_or_export_shows_no_foreign_row_and_no_unfiltered_queryset(world, route, db, tally):
    _seen, problems, exports = owner_view(world, route)
    problems = list(problems)
    url, params = route.url({}), list_filters(world)
    access = access_of(route.callback)
    capability = access.capability_for("GET") if access else None
    one_without_capability = False
    for label, user in world.users:
        tally["list_checks"] += 1
        without_capability = user is not None and capability is not None and not scope_for(user, capability)
        if without_capability:
            if one_without_capability:
                continue  # refused before the view, like the one user without the capability checked
            one_without_capability = True
        for extra in ({}, {"format": "xlsx"}) if exports else ({},):
            with Contexts() as contexts:
                response = world.clients[label].get(url, dict(params, **extra))  # unknown filters are ignored
            tally["list_requests"] += 1
            where = f"GET {url}{' (workbook)' if extra else ''} as {label}"
            if without_capability and response.status_code != 403:
                problems.append(f"{where}: no capability for {capability}, but answered {response.status_code}")
            if response.status_code == 500:  # 503 is a readiness probe saying "not ready"
                problems.append(f"{where}: {response.status_code}")
            if leaked := markers_in(body_text(response)):
                problems.append(f"{where}: shows {leaked}")
            problems += contexts.unfiltered(where)
    tally["list_routes"] += 1
    assert not problems, report(sorted(set(problems)))


def test_the_owners_lists_show_the_markers(world, db):
    """The markers are real: the owners' own lists, filters and exports show them (else the list
    checks could never fail)."""
    seen = set().union(*(owner_view(world, route)[0] for route in LIST_ROUTES))
    assert {MARKERS["employer"], MARKERS["plan"], MARKERS["campaign"], MARKERS["patient"],
            MARKERS["notification"], MARKERS["training"]} <= seen, seen
