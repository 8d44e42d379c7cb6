"""Shared set-up of the benchmarks, once for all of them:

- `PNEUMO_BENCH_DB` names the scratch database (default `pneumo_bench`), `PNEUMO_BENCH_EMPLOYERS`
  the employers `seed_demo` puts in it (default 200,000; 0 for reference data only). Importing
  this module points Django, its cache prefix and its Celery queue at that database, so a bench
  never reads or enqueues into another one.
- `fresh_copy()`: a benchmark that commits (an import) works on a copy made with
  `CREATE DATABASE … TEMPLATE`, dropped afterwards: the real COMMIT is timed and the shared
  database is left as it was.
- `vacuum()`: a benchmark that writes to the shared database cleans up after itself.
- `best_and_median()`: the figures reported, each labelled as what it is.
"""

import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("PNEUMO_BENCH_DB", "pneumo_bench")
EMPLOYERS = int(os.environ.get("PNEUMO_BENCH_EMPLOYERS", "200000"))

os.environ["PNEUMO_DB_NAME"] = BENCH_DB
os.environ.setdefault("PNEUMO_CACHE_PREFIX", BENCH_DB)
# Nothing consumes this queue: the benchmarks run the tasks they time themselves (purge_queue()).
os.environ.setdefault("PNEUMO_CELERY_QUEUE", BENCH_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PNEUMO_MANIFEST_STATIC", "0")


def setup_django() -> None:
    """Create, migrate and seed `BENCH_DB` as far as needed, then set Django up on it."""
    subprocess.run(["bash", "scripts/ensure_database.sh", BENCH_DB], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from ledger.models import DustType, Employer
    from portal.models import Region

    if not (Region.objects.exists() and DustType.objects.exists()):
        call_command("load_reference", verbosity=0)
    if EMPLOYERS and Employer.objects.count() < EMPLOYERS:
        print(f"seeding {EMPLOYERS} employers into {BENCH_DB}…", file=sys.stderr)
        call_command("seed_demo", employers=EMPLOYERS)


def timed(function, repeat: int = 5) -> tuple[float, list[float]]:
    """Median seconds over `repeat` runs (after one warm-up), and all the runs."""
    function()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), runs


def incremental_rollup(record) -> tuple[float, float]:
    """The incremental recompute after one clerk's edit of `record` (the edit and its dirty mark
    outside the timing), 11 times: the median task time in seconds and the median of the runs' own
    statement time in ms, the first run left out as a warm-up."""
    from django.db import transaction
    from django.db.models import F

    from ledger.models import EmployerRecord
    from targets import services

    task_seconds, run_ms = [], []
    for _ in range(11):
        with transaction.atomic():
            EmployerRecord.objects.filter(pk=record.pk).update(total_workers=F("total_workers"))
            services.rollup_mark_dirty(record.county_id, record.period_id)
        started = time.perf_counter()
        (run,) = services.rollup_recompute_dirty()
        task_seconds.append(time.perf_counter() - started)
        run_ms.append(run.duration_ms)
    return statistics.median(task_seconds[1:]), statistics.median(run_ms[1:])


def best_and_median(runs: list[float]) -> dict:
    """The best run (noise on a shared machine only adds time) and the median, both in seconds."""
    return {"best_s": round(min(runs), 3), "median_s": round(statistics.median(runs), 3), "runs": len(runs)}


def _admin_connection():
    import psycopg

    return psycopg.connect(
        dbname="postgres", autocommit=True, host=os.environ.get("PNEUMO_DB_HOST", "127.0.0.1"),
        port=os.environ.get("PNEUMO_DB_PORT", "5432"), user=os.environ.get("PNEUMO_DB_USER", "postgres"),
        password=os.environ.get("PNEUMO_DB_PASSWORD", ""))


@contextlib.contextmanager
def fresh_copy():
    """Django on a copy of `BENCH_DB` for the block, the copy dropped after it. PostgreSQL copies
    a database only while nobody else is connected to it: the pool must be off (PNEUMO_DB_POOL=0)
    and no other benchmark may run on the same database meanwhile."""
    from django.db import connection

    copy = f"{BENCH_DB}_copy"
    connection.close()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{BENCH_DB}" STRATEGY FILE_COPY')
    connection.settings_dict["NAME"] = copy
    try:
        yield copy
    finally:
        connection.close()
        connection.settings_dict["NAME"] = BENCH_DB
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')


def vacuum(*tables: str) -> None:
    """VACUUM ANALYZE what a benchmark wrote to the shared database (every table if none named)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")


def purge_queue() -> None:
    """Drop the tasks the benchmark's commits enqueued on its own queue (the benchmark ran them)."""
    from portal.celery import app

    app.control.purge()
