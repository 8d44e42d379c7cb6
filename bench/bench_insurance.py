"""Benchmark: import of a 50,000-row coverage export of the social-insurance agency (Excel),
reconciled against the ledger employers of the bench database, against the time openpyxl alone
(read-only mode) takes to read the same file in the same run. Target: ≤ 2×.

    PNEUMO_BENCH_DB=pneumo_bench PNEUMO_BENCH_EMPLOYERS=200000 \
        .venv/bin/python -m bench.bench_insurance [--rows 50000] [--runs 3]

45,000 rows are ledger employers of Shandong (insured ≤ their 2020H1 headcount), 5,000 are units
the ledger does not know (they land on the reconciliation list). Each run imports into a fresh copy
of the bench database (`CREATE DATABASE … TEMPLATE`, not timed, dropped afterwards) as the page or
task does: its own transaction through the real COMMIT (deferred foreign-key checks, WAL flush);
then the rollup recompute the import triggers (every county it touched, and the cities and
province above them: the body of the task enqueued after the commit) is timed on its own. The
best and the median of the runs are reported, each labelled. Prints the figures and writes
bench/out/bench_insurance.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("PNEUMO_DB_POOL", "0")  # fresh_copy(): no connection may stay on the template

from bench.common import BENCH_DB, best_and_median, fresh_copy, purge_queue, setup_django  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
PERIOD = "2020H1"


def build_file(path: Path, rows: int) -> int:
    from django.db import connection
    from stdnum.cn import uscc as uscc_number

    from insurance.excel import write_coverage_workbook
    from ledger.models import ReportingPeriod

    period = ReportingPeriod.objects.get(code=PERIOD)
    matched = rows * 9 // 10
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT e.name, e.uscc, COALESCE(r.total_workers, 0) FROM ledger_employer e
               LEFT JOIN ledger_employerrecord r ON r.employer_id = e.id AND r.period_id = %s
               WHERE e.uscc IS NOT NULL ORDER BY e.id LIMIT %s""", [period.pk, matched])
        known = cursor.fetchall()
    rng = random.Random(7)
    as_of = datetime.date(2020, 6, 30)
    data = [(name, uscc, rng.randint(0, total) if total else 0, as_of) for name, uscc, total in known]
    for i in range(rows - len(data)):
        body = f"9137000{i:010d}"
        data.append((f"社保登记单位{i}", body + uscc_number.calc_check_digit(body), rng.randint(1, 40), as_of))
    rng.shuffle(data)
    write_coverage_workbook(path, data)
    return len(known)


def read_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    n = sum(1 for _row in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup_django()

    from insurance import services
    from ledger.models import Employer, ReportingPeriod
    from portal.models import Department, Membership, Region, Role, User
    from targets.tasks import recompute_dirty

    OUT.mkdir(exist_ok=True)
    path = OUT / f"coverage_{args.rows}.xlsx"
    matched = build_file(path, args.rows)
    data = path.read_bytes()
    employers = Employer.objects.count()

    read_runs, import_runs, rollup_runs, phases = [], [], [], []
    for _ in range(args.runs):
        with fresh_copy():
            province = Region.objects.get(code="37")
            period = ReportingPeriod.objects.get(code=PERIOD)
            user, _ = User.objects.get_or_create(username="bench_hrss_clerk",
                                                 defaults={"display_name": "基准测试人社录入员"})
            Membership.objects.get_or_create(user=user, region=province, department=Department.HRSS, role=Role.CLERK)

            started = time.perf_counter()
            read_openpyxl(path)
            read_runs.append(time.perf_counter() - started)

            timings = services.ImportTimings()
            started = time.perf_counter()
            record = services.coverage_import(actor=user, region=province, period=period,
                                              files=[(path.name, data)], original_name=path.name, timings=timings)
            import_runs.append(time.perf_counter() - started)
            assert record.rows_matched == matched, (record.rows_matched, matched)
            assert len(record.unmatched) == args.rows - matched
            phases.append(timings)

            started = time.perf_counter()
            recompute_dirty()
            rollup_runs.append(time.perf_counter() - started)
    purge_queue()

    with_rollup = [i + r for i, r in zip(import_runs, rollup_runs, strict=True)]
    result = {
        "database": BENCH_DB, "ledger_employers": employers,
        "rows": args.rows, "matched": matched, "unmatched": args.rows - matched, "runs": args.runs,
        "openpyxl_read": best_and_median(read_runs),
        "import_total_through_commit": best_and_median(import_runs),
        "read_validate": best_and_median([p.read_validate_s for p in phases]),
        "lookup_reconcile": best_and_median([p.lookup_s for p in phases]),
        "write_through_commit": best_and_median([p.write_s for p in phases]),
        "rollup_it_triggers": best_and_median(rollup_runs),
        "import_and_rollup": best_and_median(with_rollup),
        "ratio_of_medians": round(statistics.median(import_runs) / statistics.median(read_runs), 2),
        "ratio_of_bests": round(min(import_runs) / min(read_runs), 2),
        "ratio_with_rollup_of_medians": round(statistics.median(with_rollup) / statistics.median(read_runs), 2),
        "target_ratio": 2.0,
        "load_average": os.getloadavg(),
        "at": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print("OK" if result["ratio_of_medians"] <= 2.0 else "OVER TARGET")
    (OUT / "bench_insurance.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
