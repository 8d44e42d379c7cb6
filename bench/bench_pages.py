"""Server time and SQL queries of the pages officials open, at 200,000 employers in the demo
province (and a fifth as many in each other seed province): the employer list and the indicator
dashboard for a provincial user, the dashboard for a national one (in-process Django client, so
the figures are server time without the network).

    PNEUMO_BENCH_DB=pneumo_bench_targets .venv/bin/python -m bench.bench_pages
"""

import statistics
import time

from bench.common import setup_django

RUNS = 30


def measure(client, url: str, params: dict) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url, params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, len(queries)


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.test import Client

    from ledger.models import Employer
    from portal.models import User

    settings.ALLOWED_HOSTS.append("testserver")
    client = Client()
    client.force_login(User.objects.get(username="province_health_viewer"))
    print(f"employers: {Employer.objects.count()}; {RUNS} requests each, after a warm-up")
    pages = [
        ("employer list, province, page 1", "/ledger/", {}),
        ("employer list, province, name search", "/ledger/", {"q": "水泥"}),
        ("employer list, province, missing declaration", "/ledger/", {"missing": "declaration", "period": "2020H1"}),
        ("employer list, province, page 200", "/ledger/", {"page": "200"}),
        ("dashboard, province (cities)", "/dashboard/", {"period": "2020H1"}),
        ("dashboard, province, default period", "/dashboard/", {}),
        ("dashboard, city (counties)", "/dashboard/", {"region": "3715", "period": "2020H1"}),
    ]
    for label, url, params in pages:
        p50, p90, queries = measure(client, url, params)
        print(f"{label}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, {queries} SQL queries")
    national = Client()
    national.force_login(User.objects.get(username="national_health_viewer"))
    for label, url, params in [
        ("dashboard, national (provinces)", "/dashboard/", {"period": "2020H1"}),
        ("dashboard, national, default period", "/dashboard/", {}),
        ("targets page, national", "/dashboard/targets/", {}),
    ]:
        p50, p90, queries = measure(national, url, params)
        print(f"{label}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, {queries} SQL queries")


if __name__ == "__main__":
    main()
