"""Shared set-up of the benchmarks: a scratch database `pneumo_bench` at 200,000 employers."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("PNEUMO_BENCH_DB", "pneumo_bench")
EMPLOYERS = int(os.environ.get("PNEUMO_BENCH_EMPLOYERS", "200000"))


def setup_django() -> None:
    os.environ["PNEUMO_DB_NAME"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("PNEUMO_MANIFEST_STATIC", "0")
    subprocess.run(["bash", "scripts/ensure_database.sh", BENCH_DB], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from ledger.models import Employer

    if Employer.objects.count() < EMPLOYERS:
        call_command("load_reference", verbosity=0)
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
