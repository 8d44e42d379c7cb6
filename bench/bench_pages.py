"""Server time and SQL queries of the pages officials open and the actions clerks take, on the
bench database (`PNEUMO_BENCH_DB`, `PNEUMO_BENCH_EMPLOYERS` in the demo province, a fifth as many in
each other seed province), in-process Django client (server time without the network):

- for a provincial viewer: the employer list (page 1, search, a "未落实" filter, a deep page), the
  dashboard, an employer's page with its change history, and the Excel export of a city's "未落实" list;
- for a national viewer: the dashboard and the targets page;
- for the demo county's clerk: the record form, saving it unchanged (POST, the service's checks
  and write; the rollup it marks runs later in a task), and an Excel export of the county's ledger;
- signing in (POST of the login form: the password hash is most of it).

The employer page is measured after one edit of every employer (a change of its health
manager's phone, through the history triggers), done once by this benchmark and skipped when
already there, so the history tables hold as many events as there are employers.

    PNEUMO_BENCH_DB=pneumo_bench PNEUMO_BENCH_EMPLOYERS=200000 .venv/bin/python -m bench.bench_pages [--runs 30]
"""

import argparse
import os
import statistics
import sys
import time

from bench.common import BENCH_DB, setup_django, vacuum

RUNS = 30


def inline_export(client, params: dict | None = None):
    """A ledger export built in the request. Above the inline limit the answer is the page that
    hands the export to the worker, which is not what these rows measure: stop there."""
    from portal.workbook import XLSX_CONTENT_TYPE

    response = client.get("/ledger/excel/export/", params or {})
    assert response.get("Content-Type") == XLSX_CONTENT_TYPE, \
        "the export went to the worker (more rows than PNEUMO_EXPORT_INLINE_MAX_ROWS): pick a smaller list"
    return response


def measure(request, expected: int, runs: int) -> tuple[float, float, int]:
    """p50 and p90 in ms over `runs` requests after a warm-up, and the SQL queries of one more.
    `request()` sends one request and returns the response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - started)
        assert response.status_code == expected, (response.status_code, expected)
    with CaptureQueriesContext(connection) as queries:
        request()
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, len(queries)


def edit_every_employer_once() -> int:
    """One edit of each employer not yet edited (idempotent), through the history triggers."""
    from django.db import connection, transaction

    events = "ledger_employerevent"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE ledger_employer e
            SET health_manager_phone = '0635-' || lpad((e.id % 10000000)::text, 7, '0'),
                version = e.version + 1, updated_at = now()
            WHERE NOT EXISTS (SELECT 1 FROM {events} ev WHERE ev.pgh_obj_id = e.id AND ev.pgh_label = 'update')
        """)
        edited = cursor.rowcount
    if edited:
        vacuum("ledger_employer", events)
        print(f"edited {edited} employers once ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return edited


def main() -> None:
    global RUNS
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=RUNS, help="requests per page after the warm-up")
    RUNS = parser.parse_args().runs
    setup_django()
    from django.conf import settings
    from django.test import Client

    from ledger.forms import RecordForm
    from ledger.models import CountySubmission, Employer, EmployerRecord, SubmissionStatus
    from portal.demo import DEMO_PASSWORD
    from portal.models import User
    from tests.factories import as_submitted

    edit_every_employer_once()
    settings.ALLOWED_HOSTS.append("testserver")
    print(f"{BENCH_DB}: {Employer.objects.count()} employers; load average {os.getloadavg()}; "
          f"{RUNS} requests each, after a warm-up")

    def report(label: str, request, expected: int = 200) -> None:
        p50, p90, queries = measure(request, expected, RUNS)
        print(f"{label}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, {queries} SQL queries")

    province = Client()
    province.force_login(User.objects.get(username="province_health_viewer"))
    # The demo county's first employer whose 2020H1 record the form accepts as it is (a bench
    # database seeded before the demo was mended holds records it refuses).
    record = next(r for r in EmployerRecord.objects.filter(county__code="371502", period__code="2020H1")
                  .select_related("employer").order_by("employer_id")[:50] if not r.consistency_errors())
    employer = record.employer
    for label, url, params in [
        ("employer list, province, page 1", "/ledger/", {}),
        ("employer list, province, name search", "/ledger/", {"q": "水泥"}),
        ("employer list, province, missing declaration", "/ledger/", {"missing": "declaration", "period": "2020H1"}),
        ("employer list, province, page 200", "/ledger/", {"page": "200"}),
        ("employer page with history, province viewer", f"/ledger/employers/{employer.pk}/", {}),
        ("dashboard, province (cities)", "/dashboard/", {"period": "2020H1"}),
        ("dashboard, province, default period", "/dashboard/", {}),
        ("dashboard, city (counties)", "/dashboard/", {"region": "3715", "period": "2020H1"}),
    ]:
        report(label, lambda url=url, params=params: province.get(url, params))
    # What the load test's officials export: a city's "未落实" list, built in the request.
    report("Excel export of a city's 未落实：粉尘危害申报 list, province viewer", lambda: inline_export(
        province, {"missing": "declaration", "region": "3715", "period": "2020H1"}))

    national = Client()
    national.force_login(User.objects.get(username="national_health_viewer"))
    for label, url, params in [
        ("dashboard, national (provinces)", "/dashboard/", {"period": "2020H1"}),
        ("dashboard, national, default period", "/dashboard/", {}),
        ("targets page, national", "/dashboard/targets/", {}),
    ]:
        report(label, lambda url=url, params=params: national.get(url, params))

    clerk = Client()
    clerk.force_login(User.objects.get(username="county_health_clerk"))
    assert CountySubmission.objects.get(period=record.period, county=record.county).status == SubmissionStatus.DRAFT
    url = f"/ledger/records/{record.pk}/edit/"
    report("record form, county clerk", lambda: clerk.get(url))
    from django.test import override_settings  # clears the cached form renderer on entry and exit

    with override_settings(FORM_RENDERER="django.forms.renderers.DjangoTemplates"):
        report("record form, county clerk, widgets through the Django template engine (before 7da93cb)",
               lambda: clerk.get(url))

    def save():
        # The form as the page shows it now (its version changes with every save), submitted unchanged.
        current = EmployerRecord.objects.get(pk=record.pk)
        data = as_submitted(RecordForm(instance=current)) | {
            "dust-TOTAL_FORMS": "0", "dust-INITIAL_FORMS": "0", "dust-MIN_NUM_FORMS": "0", "dust-MAX_NUM_FORMS": "20"}
        return clerk.post(url, data)

    report("record save (POST, unchanged), county clerk", save, expected=302)
    report("Excel export of the county's ledger, county clerk", lambda: inline_export(clerk))

    visitor = Client()

    def login():
        response = visitor.post("/accounts/login/", {"username": "county_health_clerk", "password": DEMO_PASSWORD})
        visitor.cookies.clear()
        return response

    report("login (POST, the password checked)", login, expected=302)
    vacuum("ledger_employerrecord", "ledger_employerrecordevent", "targets_dirtycounty")


if __name__ == "__main__":
    main()
