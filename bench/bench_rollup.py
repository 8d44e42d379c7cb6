"""Rollups at 200,000 employers: the full recompute against the bare GROUP BY ROLLUP query
(same run), and the task time of an incremental recompute after one edit in one county.

    PNEUMO_BENCH_DB=pneumo_bench PNEUMO_BENCH_EMPLOYERS=200000 .venv/bin/python -m bench.bench_rollup
"""

from bench.common import incremental_rollup, setup_django, timed, vacuum


def main() -> None:
    setup_django()
    from ledger.models import Employer, EmployerRecord, ReportingPeriod
    from targets import rollups, services

    period = ReportingPeriod.objects.get(code="2020H1")
    records = EmployerRecord.objects.filter(period=period).count()
    bare, _ = timed(lambda: rollups.bare_aggregate(period.pk), repeat=7)
    full, _ = timed(lambda: services.rollup_recompute_full(period=period), repeat=7)

    record = EmployerRecord.objects.filter(period=period, county__code="371521").first()
    incremental, statements_ms = incremental_rollup(record)
    print(f"employers: {Employer.objects.count()}, records in 2020H1: {records}")
    print(f"bare GROUP BY ROLLUP query: {bare * 1000:.1f} ms (median of 7)")
    print(f"full recompute (aggregate + upsert + drift): {full * 1000:.1f} ms (median of 7)")
    print(f"ratio full / bare: {full / bare:.2f} (target <= 1.3)")
    print(f"incremental recompute after one edit in one county: {incremental * 1000:.1f} ms task time "
          f"(median of 10; statements alone {statements_ms} ms) (target <= 50 ms)")
    vacuum("ledger_employerrecord", "ledger_employerrecordevent", "targets_regionrollup", "targets_dirtycounty",
           "targets_rolluprun")


if __name__ == "__main__":
    main()
