"""Lists that do not grow with the country (portal.pagination, ledger.selectors): the "未落实"
list's total comes from the rollup's county rows and equals the exact count, counted from the
records for the counties the rollup cannot vouch for; keyset pages cover every row once in
every order; past the cap the list says "超过 N 条" instead of counting."""

import datetime
from urllib.parse import parse_qs

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ledger.models import Employer, EmployerRecord, ReportingPeriod
from ledger.selectors import EmployerFilters, employer_list, employer_list_total
from portal.models import Region, Role
from targets import services
from targets.indicators import BY_CODE
from targets.models import RegionRollup
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


@pytest.fixture
def period():
    return ReportingPeriod.objects.get_or_create(code="2020H1", defaults={
        "year": 2020, "half": 1, "starts_on": datetime.date(2020, 1, 1), "ends_on": datetime.date(2020, 6, 30),
        "deadline": datetime.date(2020, 7, 15)})[0]


def _record(period, county: str, index: int, *, declared: bool, exam_done: int) -> EmployerRecord:
    employer = make_employer(county=county, name=f"单位{index:03d}", in_governance_scope=True)
    return EmployerRecord.objects.create(
        employer=employer, period=period, province=employer.province, city=employer.city, county=employer.county,
        total_workers=10, exposed_workers=6, exam_due=6, exam_done=exam_done, hazard_declared=declared,
        declared_on=datetime.date(2020, 3, 1) if declared else None)


def _exact(viewer, filters) -> int:
    return employer_list(actor=viewer, filters=filters).count()


def _ledger(period):
    records = [_record(period, county, i, declared=i % 3 == 0, exam_done=6 if i % 2 else 2)
               for i, county in enumerate(["371502", "371521", "371522", "370102"] * 4)]
    services.rollup_recompute_full(period=period)
    return records


@pytest.mark.parametrize("code", ["declaration", "health_exam"])  # counted in employers; in people
def test_the_missing_list_total_is_read_from_a_fresh_rollup_and_equals_the_exact_count(period, code):
    _ledger(period)
    viewer = make_user("37", role=Role.VIEWER)
    for region in [None, Region.objects.get(code="3715"), Region.objects.get(code="371502")]:
        filters = EmployerFilters(missing=code, period=period, region=region)
        with CaptureQueriesContext(connection) as queries:
            total = employer_list_total(actor=viewer, filters=filters)
        assert total == _exact(viewer, filters) > 0
        assert not any("ledger_employerrecord" in q["sql"] for q in queries), "counted the records"


def test_counties_written_since_the_last_recompute_are_counted_from_their_records(period):
    records = _ledger(period)
    viewer = make_user("37", role=Role.VIEWER)
    filters = EmployerFilters(missing="declaration", period=period)
    before = employer_list_total(actor=viewer, filters=filters)
    with transaction.atomic():  # a clerk's edit: the rollup is now stale for 371502 until the task runs
        changed = [r for r in records if r.county.code == "371502" and r.hazard_declared]
        EmployerRecord.objects.filter(pk__in=[r.pk for r in changed]).update(hazard_declared=False, declared_on=None)
        services.rollup_mark_dirty(changed[0].county_id, period.pk)
    assert employer_list_total(actor=viewer, filters=filters) == _exact(viewer, filters) == before + len(changed)


def test_a_rollup_older_than_the_shortfall_figure_falls_back_to_the_records(period):
    _ledger(period)
    RegionRollup.objects.filter(period=period).update(figures={"declaration": [0, 0]})  # as before the figure
    viewer = make_user("37", role=Role.VIEWER)
    filters = EmployerFilters(missing="health_exam", period=period)
    assert employer_list_total(actor=viewer, filters=filters) == _exact(viewer, filters) > 0


def test_other_filters_are_counted_not_read_from_the_rollup(period):
    _ledger(period)
    viewer = make_user("37", role=Role.VIEWER)
    assert employer_list_total(actor=viewer, filters=EmployerFilters(
        missing="declaration", period=period, query="单位00")) is None
    assert employer_list_total(actor=viewer, filters=EmployerFilters(query="单位")) is None
    assert BY_CODE["declaration"]


def _walk(client, params: dict) -> tuple[list[str], list[dict]]:
    """Follow 下一页 to the end, then 上一页 back to page 1; the names of each page in order."""
    forward, queries = [], []
    query = dict(params)
    while True:
        response = client.get("/ledger/", query)
        assert response.status_code == 200
        page = response.context["page"]
        forward.append([e.name for e in page])
        queries.append(query)
        if page.next_query is None:
            break
        query = {k: v[0] for k, v in parse_qs(page.next_query).items()}
    backward = []
    while page.previous_query is not None:
        query = {k: v[0] for k, v in parse_qs(page.previous_query).items()}
        page = client.get("/ledger/", query).context["page"]
        backward.append([e.name for e in page])
    return forward, backward[::-1]


@pytest.mark.parametrize("sort", ["name", "uscc", "county", "updated"])
def test_keyset_pages_hold_every_row_once_forward_and_back(settings, sort, period):
    settings.PNEUMO_LIST_COUNT_CAP = 10  # keyset walking past the counted rows too
    for index, county in enumerate(["371502", "371521", "370102"] * 24):
        # Equal names (a tie broken by the primary key) and employers with only the old
        # registration number (no USCC: NULL in the uscc order).
        extra = {"uscc": None, "registration_number": f"37150219{index:07d}"} if index % 7 == 0 else {}
        make_employer(county=county, name=f"单位{index // 2:03d}", **extra)
    client = Client()
    client.force_login(make_user("37", role=Role.VIEWER))
    forward, backward = _walk(client, {"sort": sort})
    names = [name for page in forward for name in page]
    expected = employer_list(actor=make_user("37", role=Role.VIEWER), filters=EmployerFilters(sort=sort))
    assert names == [e.name for e in expected]
    assert len(names) == Employer.objects.count() == 72
    assert backward == forward[:-1]  # back from the last page: every earlier page, the same rows


def test_past_the_cap_the_list_says_more_than_and_keeps_paging(settings):
    settings.PNEUMO_LIST_COUNT_CAP = 40
    for index in range(45):
        make_employer(county="371502", name=f"单位{index:03d}")
    client = Client()
    client.force_login(make_user("37", role=Role.VIEWER))
    response = client.get("/ledger/")
    assert "超过 40 条".encode() in response.content or b"More than 40" in response.content
    assert response.context["page"].total is None
    assert client.get("/ledger/", {"q": "单位00"}).context["page"].total == 10


def test_a_malformed_cursor_starts_again_at_page_one():
    make_employer(county="371502", name="单位")
    client = Client()
    client.force_login(make_user("37", role=Role.VIEWER))
    for token in ["!!!", "WzFd", "bnVsbA"]:
        response = client.get("/ledger/", {"after": token, "page": "7"})
        assert response.status_code == 200 and response.context["page"].number == 1


def test_the_employer_history_pages_hold_every_change_once_in_bounded_pages(period):
    from ledger.selectors import HISTORY_PAGE_SIZE, employer_history

    record = _record(period, "371502", 1, declared=False, exam_done=0)
    employer = record.employer
    for number in range(40):  # in the test's one transaction: every event has the same time
        Employer.objects.filter(pk=employer.pk).update(name=f"单位改名{number:02d}")
        EmployerRecord.objects.filter(pk=record.pk).update(test_lab=f"检测站{number:02d}")
    expected = 2 + 80  # two inserts, eighty updates
    seen, cursor, pages = [], "", 0
    while True:
        with CaptureQueriesContext(connection) as queries:
            entries, cursor = employer_history(employer, cursor=cursor)
        pages += 1
        assert len(entries) <= HISTORY_PAGE_SIZE and len(queries) <= 12
        seen += [(e.what, e.key) for e in entries]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == expected and pages == 3
    newest = employer_history(employer)[0][0]
    assert newest.what == "填报记录" and "检测站38 → 检测站39" in newest.changes[0]


def test_before_any_full_recompute_counties_without_a_row_are_counted_from_their_records(period):
    _ledger(period)
    from targets.models import RollupRun

    RollupRun.objects.filter(period=period).delete()
    RegionRollup.objects.filter(period=period, region__code="371502").delete()  # as if never computed
    viewer = make_user("37", role=Role.VIEWER)
    filters = EmployerFilters(missing="declaration", period=period)
    assert employer_list_total(actor=viewer, filters=filters) == _exact(viewer, filters) > 0
