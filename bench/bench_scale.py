"""Province-level pages and rollups at national scale: 50,000 / 200,000 / 1,000,000 employers.

    PNEUMO_BENCH_EMPLOYERS=1000000 PNEUMO_BENCH_DB=pneumo_bench_scale_1m .venv/bin/python -m bench.bench_scale [lists_compared pages rollups]

Seeds `seed_demo --employers N` into its own database (default pneumo_bench_scale_<N>), then
writes one edit of every employer and of every period record (history rows, as after a season
of clerks' edits) unless that was done before. Prints, for the province health viewer
(in-process Django client: server time, no network), p50/p90 and SQL queries of the list (page 1,
a deep keyset page, a name search, each "未落实" filter), the dashboard and the employer page
with its history; then the full rollup against the bare GROUP BY ROLLUP query and the
incremental recompute after one edit."""

import os
import statistics
import sys
import time

EMPLOYERS = int(os.environ.setdefault("PNEUMO_BENCH_EMPLOYERS", "200000"))
os.environ.setdefault("PNEUMO_BENCH_DB", f"pneumo_bench_scale_{EMPLOYERS // 1000}k"
                      if EMPLOYERS < 1_000_000 else f"pneumo_bench_scale_{EMPLOYERS // 1_000_000}m")

from bench.common import BENCH_DB, incremental_rollup, setup_django, timed, vacuum  # noqa: E402

RUNS = int(os.environ.get("PNEUMO_BENCH_RUNS", "15"))
PERIOD = "2020H1"


def measure(client, url: str, params: dict) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url, params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, params, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, len(queries)


def edit_everything() -> None:
    """One edit of every employer (bench_pages' edit) and of every record, through the history
    triggers (what a season of clerks' edits leaves in the event tables), once per database."""
    from django.db import connection

    from bench.bench_pages import edit_every_employer_once

    edit_every_employer_once()
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM ledger_employerrecordevent WHERE pgh_label = 'update')")
        if cursor.fetchone()[0]:
            return
        print("writing one edit of every record (history rows)…", file=sys.stderr)
        started = time.perf_counter()
        cursor.execute("UPDATE ledger_employerrecord SET test_lab = test_lab || '（复核）'")
    vacuum("ledger_employerrecord", "ledger_employerrecordevent")
    print(f"…{time.perf_counter() - started:.0f} s", file=sys.stderr)


def deep_page(*, position: int, filters) -> dict:
    """The query parameters of the keyset page that starts after the row at `position` of a list
    (its cursor found once, by OFFSET), or after its last row when the list is shorter; the
    first page of an empty list."""
    from ledger import selectors
    from ledger.views import PAGE_SIZE
    from portal.models import User
    from portal.pagination import _encode, _value

    viewer = User.objects.get(username="province_health_viewer")
    order = selectors.employer_order(filters)
    employers = selectors.employer_list(actor=viewer, filters=filters)
    position = min(position, employers.count() - 1)
    if position < 0:
        return {}
    row = employers[position]
    return {"page": str(position // PAGE_SIZE + 2), "after": _encode([_value(row, order[0].lstrip("-")), row.pk])}


def pages() -> list[tuple[str, str, float, float, int]]:
    from django.conf import settings
    from django.test import Client

    from ledger.models import Employer, ReportingPeriod
    from ledger.selectors import EmployerFilters
    from portal.models import User
    from targets.indicators import INDICATORS

    settings.ALLOWED_HOSTS.append("testserver")
    client = Client()
    client.force_login(User.objects.get(username="province_health_viewer"))
    period = ReportingPeriod.objects.get(code=PERIOD)
    middle = Employer.objects.count() // 2
    employer = Employer.objects.filter(records__period=period).order_by("pk").first()
    rows = [
        ("list, page 1", "/ledger/", {}),
        (f"list, keyset page at row {middle:,}", "/ledger/", deep_page(position=middle, filters=EmployerFilters())),
        ("list, name search 水泥", "/ledger/", {"q": "水泥"}),
        ("list, name search 不存在的名称 (no match)", "/ledger/", {"q": "不存在的名称"}),
    ]
    for indicator in INDICATORS:
        rows.append((f"list, 未落实：{indicator.item} ({indicator.code})", "/ledger/",
                     {"missing": indicator.code, "period": PERIOD}))
    rows += [
        ("list, 未落实：工伤保险, keyset page 100 (or the last)", "/ledger/", {
            "missing": "injury_insurance", "period": PERIOD,
            **deep_page(position=3000, filters=EmployerFilters(missing="injury_insurance", period=period))}),
        ("dashboard, province (cities)", "/dashboard/", {"period": PERIOD}),
        ("employer page with history", f"/ledger/employers/{employer.pk}/", {}),
    ]
    results = []
    for label, url, params in rows:
        p50, p90, queries = measure(client, url, params)
        print(f"{label}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, {queries} queries", flush=True)
        results.append((label, url, p50, p90, queries))
    return results


def lists_compared() -> None:
    """The list's own reads, new against old in the same run (fair on a loaded machine): the
    total (rollup or capped count, against the exact COUNT(*)) and the page (keyset at the
    middle, against OFFSET), median of 5 each."""
    from django.test import RequestFactory

    from ledger import selectors
    from ledger.models import ReportingPeriod
    from ledger.selectors import EmployerFilters
    from portal.models import User
    from portal.pagination import list_page

    viewer = User.objects.get(username="province_health_viewer")
    period = ReportingPeriod.objects.get(code=PERIOD)
    factory = RequestFactory()
    for label, filters in [("all", EmployerFilters()), ("search 水泥", EmployerFilters(query="水泥")),
                           ("未落实：粉尘危害申报", EmployerFilters(missing="declaration", period=period)),
                           ("未落实：工伤保险", EmployerFilters(missing="injury_insurance", period=period)),
                           ("未落实：在岗期间职业健康检查", EmployerFilters(missing="health_exam", period=period))]:
        employers = selectors.employer_list(actor=viewer, filters=filters)
        exact, _ = timed(lambda: employers.count(), repeat=5)  # noqa: B023
        known = selectors.employer_list_total(actor=viewer, filters=filters)
        new_total, _ = timed(lambda: selectors.employer_list_total(actor=viewer, filters=filters)  # noqa: B023
                             or employers.order_by()[:10_001].count(), repeat=5)  # noqa: B023
        rows = employers.count()
        middle = rows // 2
        offset, _ = timed(lambda: list(employers[middle:middle + 31]), repeat=5)  # noqa: B023
        request = factory.get("/ledger/", deep_page(position=middle, filters=filters))
        # total given: the page's read alone
        keyset, _ = timed(lambda: list_page(request, employers, order=selectors.employer_order(filters),  # noqa: B023
                                            per_page=30, total=rows).rows, repeat=5)  # noqa: B023
        print(f"{label} ({rows:,} rows): exact COUNT(*) {exact * 1000:.0f} ms, new total "
              f"{'from the rollup' if known is not None else 'capped at 10,000'} {new_total * 1000:.0f} ms; "
              f"page at row {middle:,}: OFFSET {offset * 1000:.0f} ms, keyset {keyset * 1000:.0f} ms", flush=True)


def rollups() -> None:
    """The bare GROUP BY ROLLUP (PostgreSQL's default work_mem, and the recompute's), the full
    recompute and the full recompute as it was before 8e12349 (aggregate and labelling in one
    SELECT): one warm-up each, then 5 rounds interleaved so that all see the same machine and
    cache; medians. Then the incremental recompute after one edit."""
    from ledger.models import EmployerRecord, ReportingPeriod
    from targets import rollups, services

    period = ReportingPeriod.objects.get(code=PERIOD)
    records = EmployerRecord.objects.filter(period=period).count()
    one_statement = rollups._step(agg_source=rollups._with_patients(counties=False),
                                  keep="region_id IS NOT NULL AND level IS NOT NULL", stale="TRUE")
    contenders = {
        "bare, work_mem 4MB (PostgreSQL's default)": lambda: rollups.bare_aggregate(period.pk, work_mem="4MB"),
        f"bare, work_mem {rollups.settings.PNEUMO_ROLLUP_WORK_MEM}": lambda: rollups.bare_aggregate(period.pk),
        "full recompute": lambda: services.rollup_recompute_full(period=period),
        "full recompute as before (one SELECT)": lambda: rollups.run(one_statement, period=period.pk),
    }
    runs: dict[str, list[float]] = {label: [] for label in contenders}
    for round_ in range(6):
        for label, function in contenders.items():
            started = time.perf_counter()
            function()
            if round_:  # the first round warms up
                runs[label].append(time.perf_counter() - started)
    services.rollup_recompute_full(period=period)  # leave the table as the application writes it
    median = {label: statistics.median(times) for label, times in runs.items()}
    bare = median[f"bare, work_mem {rollups.settings.PNEUMO_ROLLUP_WORK_MEM}"]
    county = EmployerRecord.objects.filter(period=period).values_list("county_id", flat=True).first()
    record = EmployerRecord.objects.filter(period=period, county_id=county).first()
    in_county = EmployerRecord.objects.filter(period=period, county_id=county).count()
    incremental, statements_ms = incremental_rollup(record)
    print(f"records in {PERIOD}: {records}")
    for label, seconds in median.items():
        print(f"{label}: {seconds * 1000:.0f} ms (median of 5, interleaved; runs "
              f"{', '.join(f'{t * 1000:.0f}' for t in runs[label])}); ratio to the bare query {seconds / bare:.2f}"
              + (" (target <= 1.3)" if label == "full recompute" else ""))
    print(f"incremental recompute, one edit in a county of {in_county} records: "
          f"{incremental * 1000:.1f} ms task time (median of 10; statements "
          f"{statements_ms} ms) (target <= 50 ms)")


def main() -> None:
    setup_django()
    from ledger.models import Employer

    print(f"database {BENCH_DB}: {Employer.objects.count()} employers; load average {os.getloadavg()}")
    edit_everything()
    from targets.models import RegionRollup

    if not RegionRollup.objects.filter(figures__has_key="short_health_exam").exists():
        from targets.services import rollup_recompute_all

        rollup_recompute_all()  # a database seeded before the shortfall figures existed
    for part in sys.argv[1:] or ["lists_compared", "pages", "rollups"]:  # e.g. `… bench.bench_scale rollups`
        {"lists_compared": lists_compared, "pages": pages, "rollups": rollups}[part]()
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
