"""Server time and SQL queries of the home page (我的待办) at 200,000 employers, for the users
whose work list reads the most: a provincial health admin (targets, regions furthest behind,
inspections), a provincial official holding every health and HRSS role at once, a city reviewer
and a county clerk (in-process Django client: server time without the network).

    PNEUMO_BENCH_DB=pneumo_bench_worklist .venv/bin/python -m bench.bench_home
"""

import statistics
import time

from bench.common import setup_django

RUNS = 30


def measure(client, url: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, len(queries)


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.test import Client

    from ledger.models import Employer
    from portal.models import Department, Membership, Region, Role, User
    from worklist.selectors import work_list

    settings.ALLOWED_HOSTS.append("testserver")
    province = Region.objects.get(code="37")
    everything, _created = User.objects.get_or_create(username="bench_province_all_roles",
                                                      defaults={"display_name": "全角色省级用户"})
    for department in (Department.HEALTH, Department.HRSS):
        for role in Role:
            Membership.objects.get_or_create(user=everything, region=province, department=department, role=role)
    print(f"employers: {Employer.objects.count()}; {RUNS} requests each, after a warm-up")
    for label, username in [("province health admin", "province_health_admin"),
                            ("province, every health and HRSS role", everything.username),
                            ("city health reviewer", "city_health_reviewer"),
                            ("county health clerk", "county_health_clerk"),
                            ("county HRSS clerk", "county_hrss_clerk")]:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        p50, p90, queries = measure(client, "/")
        work = work_list(user)
        print(f"home, {label}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, {queries} SQL queries; "
              f"{len(work.items)} items ({work.total} counted), {len(work.lagging)} lagging regions")


if __name__ == "__main__":
    main()
