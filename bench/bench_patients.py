"""Patients at scale: 200,000 patient files over the seed provinces (with follow-ups, relief
measures and a station per county) in the scratch database `pneumo_bench_patients`:

- server time and SQL queries of a county clerk's patient list and overdue follow-up list
  (in-process Django client, 30 requests after a warm-up);
- what the patient figures add to the full rollup recompute: the recompute with them against
  the same recompute with the ledger's figures only, measured in the same run.

    .venv/bin/python -m bench.bench_patients
"""

import os
import statistics
import sys
import time

os.environ.setdefault("PNEUMO_BENCH_DB", "pneumo_bench_patients")

from bench.common import setup_django, timed  # noqa: E402

PATIENTS = int(os.environ.get("PNEUMO_BENCH_PATIENTS", "200000"))
SEED_PROVINCES = ["37", "21", "50", "41"]  # Shandong (seed 000), Liaoning (001), Chongqing (002), Henan (003)
RUNS = 30


def measure(client, url: str, params: dict) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url, params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, len(queries), len(response.content)


def seed_patients() -> None:
    from django.db import connection

    from patients.demo import seed_demo_patients
    from patients.models import Patient
    from portal.models import Region, RegionLevel

    have = Patient.objects.count()
    if have >= PATIENTS:
        return
    counties = Region.objects.filter(level=RegionLevel.COUNTY, path__regex=rf"^({'|'.join(SEED_PROVINCES)})/").count()
    per = max(1, (PATIENTS - have) // counties)
    print(f"seeding about {PATIENTS - have} patients into {counties} counties…", file=sys.stderr)
    started = time.perf_counter()
    seed_demo_patients(seed=14, province_codes=SEED_PROVINCES, per_county=(per, per), crowded_county=None)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE patients_patient, patients_followup, patients_reliefaction, patients_rehabsite")
    print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    setup_django()
    seed_patients()
    from django.conf import settings
    from django.db.models import Count
    from django.test import Client

    from ledger.models import ReportingPeriod
    from patients.models import FollowUp, Patient
    from portal.models import Membership, Region, Role, User
    from targets import rollups, services

    settings.ALLOWED_HOSTS.append("testserver")
    busiest = (Patient.objects.values("county_id").annotate(n=Count("id")).order_by("-n").first())
    county = Region.objects.get(pk=busiest["county_id"])
    clerk, _ = User.objects.get_or_create(username="bench_patient_clerk", defaults={"display_name": "基准测试"})
    Membership.objects.get_or_create(user=clerk, region=county, department="health", role=Role.CLERK)
    client = Client()
    client.force_login(clerk)
    print(f"patients: {Patient.objects.count()}, follow-ups: {FollowUp.objects.count()}; "
          f"county {county.name} ({county.code}) with {busiest['n']} patients; {RUNS} requests each, after a warm-up")
    for label, url, params in [
        ("county patient list, page 1", "/patients/", {}),
        ("county patient list, page 10", "/patients/", {"page": "10"}),
        ("county overdue follow-up list", "/patients/overdue/", {}),
        ("county patient list, name search", "/patients/", {"q": "王"}),
    ]:
        p50, p90, queries, size = measure(client, url, params)
        print(f"{label}: p50 {p50:.1f} ms, p90 {p90:.1f} ms, {queries} SQL queries (target <= 10, p50 <= 150 ms)")

    period = ReportingPeriod.objects.order_by("-year", "-half").first()
    ledger_only = rollups._step(agg_source=rollups._labelled(rollups.aggregate_sql(counties=False)),
                                keep="region_id IS NOT NULL AND level IS NOT NULL", stale="TRUE")
    with_patients = rollups.FULL
    ledger_runs, patient_runs = [], []
    run = rollups.run
    for _ in range(2):  # warm-up
        run(ledger_only, period=period.pk), run(with_patients, period=period.pk)
    for _ in range(7):  # interleaved, so both see the same machine load
        started = time.perf_counter()
        run(ledger_only, period=period.pk)
        ledger_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        run(with_patients, period=period.pk)
        patient_runs.append(time.perf_counter() - started)
    ledger, full = statistics.median(ledger_runs), statistics.median(patient_runs)
    services.rollup_recompute_full(period=period)  # leave the table as the application writes it
    patient_part, _ = timed(lambda: _patient_aggregate(period.pk), repeat=7)
    print(f"full rollup {period.code}, ledger figures only: {ledger * 1000:.0f} ms; with the patient figures: "
          f"{full * 1000:.0f} ms (median of 7, interleaved): +{100 * (full / ledger - 1):.1f}% (target <= 20%)")
    print(f"patient aggregate alone: {patient_part * 1000:.0f} ms (median of 7)")


def _patient_aggregate(period_id: int) -> int:
    from django.conf import settings
    from django.db import connection

    from targets.indicators import patient_aggregate_sql

    with connection.cursor() as cursor:
        cursor.execute(patient_aggregate_sql(counties=False, cycle_months=settings.PNEUMO_FOLLOWUP_CYCLE_MONTHS,
                                             stage3_months=settings.PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS),
                       {"period": period_id})
        return len(cursor.fetchall())


if __name__ == "__main__":
    main()
