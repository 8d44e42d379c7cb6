"""Patients at scale: 200,000 patient files over the seed provinces (with follow-ups, relief
measures and a station per county) in the scratch database `pneumo_bench_patients`:

- server time and SQL queries of a county clerk's patient list and overdue follow-up list
  (in-process Django client, 30 requests after a warm-up);
- what the patient figures add to the full rollup recompute: the recompute with them against
  the same recompute with the ledger's figures only, measured in the same run; and, as the
  "before", the same recompute with the patient figures computed as they were until the files
  kept their follow-up dates and first relief measure (scanning every follow-up and measure).

    .venv/bin/python -m bench.bench_patients
"""

import os
import statistics
import sys
import time

os.environ.setdefault("PNEUMO_BENCH_DB", "pneumo_bench_patients")

from bench.common import setup_django, timed, vacuum  # noqa: E402

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
    """Clone the demo's patient files (seed_demo gives the demo province ~5,500, with follow-ups and
    relief) into every county of the seed provinces, in SQL: new generated ID numbers (the county's
    address code, the template's birth date moved back by n // 1000 days, sequence n % 1000, the
    GB 11643 check character), the template's follow-ups and relief measures with them, and a
    station in each county. The Python seeding takes tens of minutes at this size."""
    from django.db import connection, transaction

    from patients.models import FollowUp, Patient, ReliefAction
    from portal.models import RegionLevel

    have = Patient.objects.count()
    if have >= PATIENTS:
        return
    started = time.perf_counter()
    provinces = "|".join(SEED_PROVINCES)
    # Under the national root a county's path reads 100000/37/3715/371502/: match the province's code.
    in_seed_provinces = f"/({provinces})/"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM portal_region WHERE level = %s AND path ~ %s",
                       [RegionLevel.COUNTY, in_seed_provinces])
        (counties,) = cursor.fetchone()
        per = (PATIENTS - have) // counties + 1
        print(f"cloning {have} demo patients into {counties} counties x {per}…", file=sys.stderr)
        # Scratch data: no audit events and no per-row foreign-key triggers while cloning (the
        # keys come from rows that exist); under this machine's load the cloning otherwise took
        # longer than the session had.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"""
            CREATE TEMP TABLE tmpl ON COMMIT DROP AS
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM patients_patient;
            CREATE TEMP TABLE cty ON COMMIT DROP AS
                SELECT r.id, r.code, r.parent_id AS city_id, c.parent_id AS province_id,
                       row_number() OVER (ORDER BY r.code) - 1 AS k,
                       (SELECT array_agg(t.id ORDER BY t.code) FROM portal_region t WHERE t.parent_id = r.id) AS towns
                FROM portal_region r JOIN portal_region c ON c.id = r.parent_id
                WHERE r.level = {RegionLevel.COUNTY:d} AND r.path ~ '{in_seed_provinces}';
            CREATE TEMP TABLE clone ON COMMIT DROP AS
                SELECT nextval(pg_get_serial_sequence('patients_patient', 'id')) AS new_id, t.id AS template_id,
                       cty.id AS county_id, cty.city_id, cty.province_id, cty.code,
                       cty.towns[1 + (g.j % greatest(coalesce(array_length(cty.towns, 1), 1), 1))] AS township_id,
                       row_number() OVER () AS n
                FROM cty CROSS JOIN generate_series(0, {per - 1}) g(j)
                JOIN tmpl t ON t.k = (g.j + cty.k * 37) % (SELECT count(*) FROM tmpl);
            ANALYZE clone;
        """)
        overrides = {
            "id": "cl.new_id", "province_id": "cl.province_id", "city_id": "cl.city_id", "county_id": "cl.county_id",
            "township_id": "cl.township_id", "employer_id": "NULL", "created_at": "now()", "updated_at": "now()",
            "birth_date": "p.birth_date - (cl.n / 1000)::int",
            "id_number": "b.body || (ARRAY['1','0','X','9','8','7','6','5','4','3','2'])[1 + b.s % 11]",
        }
        columns = [f.column for f in Patient._meta.concrete_fields]
        cursor.execute(f"""
            INSERT INTO patients_patient ({", ".join(columns)})
            SELECT {", ".join(overrides.get(c, f"p.{c}") for c in columns)}
            FROM clone cl JOIN patients_patient p ON p.id = cl.template_id
            CROSS JOIN LATERAL (SELECT body, (SELECT sum(substr(body, i::int, 1)::int * w)
                                              FROM unnest(ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])
                                                   WITH ORDINALITY AS x(w, i)) AS s
                                FROM (SELECT left(cl.code, 6) || to_char(p.birth_date - (cl.n / 1000)::int, 'YYYYMMDD')
                                             || lpad((cl.n % 1000)::text, 3, '0') AS body) q) b
            ON CONFLICT (id_number) DO NOTHING
        """)
        for model in (FollowUp, ReliefAction):
            table, cols = model._meta.db_table, [f.column for f in model._meta.concrete_fields if f.column != "id"]
            keys = {"patient_id": "cl.new_id", "province_id": "cl.province_id", "city_id": "cl.city_id",
                    "county_id": "cl.county_id", "township_id": "cl.township_id"}
            cursor.execute(f"""
                INSERT INTO {table} ({", ".join(cols)})
                SELECT {", ".join(keys.get(c, f"x.{c}") for c in cols)}
                FROM clone cl JOIN {table} x ON x.patient_id = cl.template_id
                WHERE EXISTS (SELECT 1 FROM patients_patient np WHERE np.id = cl.new_id)
            """)
        cursor.execute("""
            INSERT INTO patients_rehabsite (kind, name, village, host_institution, rooms, equipment, drugs_stocked,
                                            opened_on, patients_served, created_at, province_id, city_id, county_id,
                                            township_id)
            SELECT 'station', t.name || '尘肺病康复站', '', t.name || '卫生院', ARRAY['oxygen','treatment'],
                   ARRAY['ecg','oxygen_supply','ventilator'], TRUE, DATE '2020-06-01', 50, now(),
                   cty.province_id, cty.city_id, cty.id, cty.towns[1]
            FROM cty JOIN portal_region t ON t.id = cty.towns[1]
            WHERE NOT EXISTS (SELECT 1 FROM patients_rehabsite s WHERE s.county_id = cty.id)
        """)
    vacuum("patients_patient", "patients_followup", "patients_reliefaction", "patients_rehabsite")
    print(f"patients: {Patient.objects.count()} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


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
    full_step = {"keep": "region_id IS NOT NULL AND level IS NOT NULL", "stale": "TRUE",
                 "aggregate": rollups.aggregate_sql(counties=False)}  # as rollups.FULL reads the ledger
    steps = {
        "ledger figures only": rollups._step(agg_source=rollups._labelled(rollups.LEDGER_ROWS), **full_step),
        "with the patient figures": rollups.FULL,
        "with the patient figures as before (every follow-up and measure read)": _previous_full(full_step),
    }
    runs: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(2):  # warm-up
        for step in steps.values():
            rollups.run(step, period=period.pk)
    for _ in range(7):  # interleaved, so all see the same machine load
        for label, step in steps.items():
            started = time.perf_counter()
            rollups.run(step, period=period.pk)
            runs[label].append(time.perf_counter() - started)
    services.rollup_recompute_full(period=period)  # leave the table as the application writes it
    medians = {label: statistics.median(times) for label, times in runs.items()}
    ledger = medians["ledger figures only"]
    print(f"full rollup {period.code} (median of 7, interleaved):")
    for label, median in medians.items():
        extra = "" if median is ledger else f": +{100 * (median / ledger - 1):.1f}% (target <= 20%)"
        print(f"  {label}: {median * 1000:.0f} ms{extra}")
    for label, sql in (("now", _patient_sql()), ("before", _previous_patient_sql())):
        alone, _ = timed(lambda sql=sql: _run(sql, period.pk), repeat=7)
        print(f"patient aggregate alone, {label}: {alone * 1000:.0f} ms (median of 7)")
    vacuum("targets_regionrollup")


def _patient_sql() -> str:
    from django.conf import settings

    from targets.indicators import patient_aggregate_sql

    return patient_aggregate_sql(counties=False, cycle_months=settings.PNEUMO_FOLLOWUP_CYCLE_MONTHS,
                                 stage3_months=settings.PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS)


# The baseline: how each file's figures were computed before (commit 8c97fbb), from every
# follow-up and relief measure up to the period's end, hash-joined to the files.
_PREVIOUS_EACH = """
        last_followup AS (
            SELECT f.patient_id, MAX(f.followed_on) AS last
            FROM patients_followup f CROSS JOIN per WHERE f.followed_on <= per.ends_on GROUP BY 1
        ),
        relief AS (
            SELECT ra.patient_id, array_agg(DISTINCT ra.department)::text[] AS departments
            FROM patients_reliefaction ra CROSS JOIN per WHERE ra.acted_on <= per.ends_on GROUP BY 1
        ),
        each AS (
            SELECT pa.province_id, pa.city_id, pa.county_id, pa.township_id, TRUE AS known,
                   (pa.status <> 'moved_away' AND (pa.died_on IS NULL OR pa.died_on > per.ends_on)) AS living,
                   pa.diagnosed_on <= per.ends_on - {cycle} AS due,
                   COALESCE(lf.last > per.ends_on - {cycle}, FALSE) AS followed,
                   COALESCE(pa.rehab_filed_on <= per.ends_on, FALSE) AS rehab,
                   COALESCE(rl.departments && {serving}, FALSE) AS relieved
            FROM patients_patient pa CROSS JOIN per
            LEFT JOIN last_followup lf ON lf.patient_id = pa.id
            LEFT JOIN relief rl ON rl.patient_id = pa.id
            WHERE pa.diagnosed_on <= per.ends_on
        ),
"""


def _previous_patient_sql() -> str:
    from django.conf import settings

    from portal.scoping import RELIEF_DUTIES

    cycle = (f"make_interval(months => CASE WHEN pa.stage = 3 THEN {settings.PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS} "
             f"ELSE {settings.PNEUMO_FOLLOWUP_CYCLE_MONTHS} END)")
    cases = []
    for category in sorted({c for duty in RELIEF_DUTIES.values() for c in duty.categories}):
        departments = ", ".join(f"'{d}'" for d, duty in RELIEF_DUTIES.items() if category in duty.categories)
        cases.append(f"WHEN '{category}' THEN ARRAY[{departments}]")
    cases = " ".join(cases)
    serving = f"(CASE pa.relief_category {cases} ELSE ARRAY[]::text[] END)::text[]"
    head, rest = _patient_sql().split("        each AS (", 1)
    _each, tail = rest.split("        townships AS (", 1)
    return head + _PREVIOUS_EACH.format(cycle=cycle, serving=serving) + "        townships AS (" + tail


def _previous_full(full_step: dict):
    from targets import rollups

    current = rollups.patient_aggregate_sql
    rollups.patient_aggregate_sql = lambda **kwargs: _previous_patient_sql()
    try:
        return rollups._step(agg_source=rollups._with_patients(counties=False, ledger=rollups.LEDGER_ROWS), **full_step)
    finally:
        rollups.patient_aggregate_sql = current


def _run(sql: str, period_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, {"period": period_id})
        return len(cursor.fetchall())


if __name__ == "__main__":
    main()
