"""Bad input never gives a 500: every parameter of every list view (HTML and API) is sent NUL bytes,
over-long values, malformed dates, ids and page numbers; the answer is 400, 404 or a page with a
form error. Parameters come from the API schema and from the views' own code (`GET.get("…")`), so a
new list or filter is fuzzed without anyone writing a test for it."""

import inspect
import re
import sys

import pytest
from drf_spectacular.generators import SchemaGenerator

from portal.models import Department, Role, User
from tests.factories import make_user
from tests.security.isolation import all_routes

pytestmark = pytest.mark.django_db

# NUL (PostgreSQL refuses it), an id or page number beyond bigint, text where a number or date is
# expected, an impossible date. Over-long values are refused before any view (test below).
BAD_VALUES = ["a\x00b", "9" * 30, "abc", "2020-13-45"]
COMMON = ["page", "q", "period", "region"]
PARAM_IN_CODE = re.compile(r"""(?:GET|query_params|params|data)(?:\.get|\.getlist|\.pop)?[\[(]\s*["'](\w+)["']""")


def html_parameters(route) -> set[str]:
    module = sys.modules.get(getattr(route.callback, "__module__", ""), None)
    source = inspect.getsource(module) if module else ""
    return set(PARAM_IN_CODE.findall(source)) | set(COMMON)


def api_parameters() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, operations in schema["paths"].items():
        names = {p["name"] for op in operations.values() if isinstance(op, dict) for p in op.get("parameters", [])
                 if p.get("in") == "query"}
        found[path.strip("/")] = names | {"page", "page_size"}
    return found


LIST_ROUTES = [r for r in all_routes() if not r.kwargs and "GET" in r.methods()
               and r.name not in ("logout", "api-schema", "api-docs")]


@pytest.fixture(scope="module")
def schema_parameters() -> dict[str, set[str]]:
    return api_parameters()


@pytest.mark.parametrize("route", LIST_ROUTES, ids=lambda r: r.pattern or "/")
def test_no_parameter_of_a_list_view_gives_a_500(route, schema_parameters, client):
    # A superuser passes every declaration, so every view runs its parsing.
    client.force_login(User.objects.create_superuser(username="fuzz_root", password="x"))
    client.raise_request_exception = False
    url = route.url({})
    names = schema_parameters.get(url.strip("/"), set()) if route.is_api else html_parameters(route)
    failures = []
    for name in sorted(names):
        for value in BAD_VALUES:
            response = client.get(url, {name: value})
            if response.status_code == 500:  # 503 is /readyz saying "not ready", its job
                failures.append(f"GET {url}?{name}={value[:20]!r}: {response.status_code}")
    assert failures == []


def test_over_long_and_nul_values_are_refused_before_any_view(client):
    client.force_login(make_user(("37", Department.HEALTH, Role.ADMIN)))
    assert client.get("/ledger/", {"q": "x" * 1001}).status_code == 400
    assert client.get("/ledger/", {"q": "a\x00b"}).status_code == 400
    response = client.get("/api/ledger/employers/", {"search": "a\x00b"})
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert client.get("/ledger/", {"q": "x" * 1000}).status_code == 200
