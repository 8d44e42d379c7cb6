"""The tablet's lists of assignments (the API list it syncs from, and the task page) run the same
number of SQL queries whatever the number of assignments."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from inspections import services
from inspections.models import Assignment, ChecklistKind
from portal.models import Region
from tests.inspections.factories import make_world

pytestmark = pytest.mark.django_db


def _add_assignments(w, total: int) -> None:
    """Bring the world's team to `total` assignments, every other one started (an inspection
    row) and every fourth one returned by the leader, so each branch of the serializer runs."""
    county = Region.objects.get(code="220102")
    existing = list(Assignment.objects.filter(team=w.team).order_by("pk"))
    while len(existing) < total:
        existing.append(services.assignment_create(actor=w.admin, team=w.team, kind=ChecklistKind.COMPREHENSIVE,
                                                   region=county))
    for number, assignment in enumerate(existing):
        if number % 2:
            inspection = services.inspection_for(assignment)
            if number % 4 == 1:
                inspection.returned_at, inspection.return_reason = assignment.created_at, "补充照片"
                inspection.save(update_fields=["returned_at", "return_reason"])


def _api_list_queries(user, total: int) -> int:
    client = APIClient()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/inspections/assignments/", {"page_size": 100})
    assert response.status_code == 200 and response.json()["count"] == total
    return len(queries)


def _task_page_queries(user, total: int) -> int:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/inspections/")
    assert response.status_code == 200 and response.content.count(b'data-testid="task-state-') == total
    return len(queries)


@pytest.mark.parametrize("count_queries", [_api_list_queries, _task_page_queries], ids=["api", "task-page"])
def test_the_tablet_lists_run_as_many_queries_for_50_assignments_as_for_5(count_queries):
    w = make_world()
    _add_assignments(w, 5)
    few = count_queries(w.member, 5)
    _add_assignments(w, 50)
    assert count_queries(w.member, 50) == few
