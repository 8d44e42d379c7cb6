"""The rollup SQL, in one place. The ORM has no grouping sets; these statements aggregate a
period's records with GROUP BY ROLLUP (province, city, county, township) and SUM(CASE …) per
indicator, label the subtotal rows with GROUPING(), and upsert whole rows of
targets_regionrollup (read in one statement, written in the next: see Step)."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from portal.models import RegionLevel
from targets.indicators import (
    PATIENT_FIGURE_CODES,
    RECORD_SOURCE,
    ROLLUP_FIGURES,
    counted_sql,
    grouping_sql,
    patient_aggregate_sql,
    shortfall_code,
    shortfall_of,
)

_SUMS = ",\n".join(
    f"{indicator.sum_sql('num')} AS {indicator.code}_num, {indicator.sum_sql('den')} AS {indicator.code}_den"
    for indicator in ROLLUP_FIGURES
)
# COALESCE: the grand total (the national row) of a period without records sums nothing.
_FIGURES = "jsonb_build_object({})".format(", ".join(
    f"'{i.code}', jsonb_build_array(COALESCE({i.code}_num, 0), COALESCE({i.code}_den, 0))" for i in ROLLUP_FIGURES))

# GROUPING(province, city, county, township): 0 township row, 1 county, 3 city, 7 province,
# 15 the grand total, which is the national root's row.
_REGION_OF_GROUPING = f"""CASE g WHEN 0 THEN township_id WHEN 1 THEN county_id WHEN 3 THEN city_id
                           WHEN 7 THEN province_id
                           WHEN 15 THEN (SELECT id FROM portal_region WHERE level = {RegionLevel.NATIONAL}) END"""
_LEVEL_OF_GROUPING = f"""CASE g WHEN 0 THEN {RegionLevel.TOWNSHIP} WHEN 1 THEN {RegionLevel.COUNTY}
                          WHEN 3 THEN {RegionLevel.CITY} WHEN 7 THEN {RegionLevel.PROVINCE}
                          WHEN 15 THEN {RegionLevel.NATIONAL} END"""


def aggregate_sql(*, counties: bool) -> str:
    """The bare GROUP BY ROLLUP query over one period (or some counties' townships and counties)."""
    county_filter = "AND r.county_id = ANY(%(counties)s)" if counties else ""
    return f"""
        SELECT r.province_id, r.city_id, r.county_id, r.township_id,
               GROUPING(r.province_id, r.city_id, r.county_id, r.township_id) AS g,
               COUNT(*) AS employers,
               {_SUMS}
        FROM {RECORD_SOURCE}
        WHERE r.period_id = %(period)s AND {counted_sql()} {county_filter}
        GROUP BY {grouping_sql(counties=counties, alias="r.")}
    """


# The rows of aggregate_sql handed back as JSON by run() (Step.aggregate), with its columns.
LEDGER_ROWS = "SELECT * FROM jsonb_to_recordset(%(ledger)s::jsonb) AS x({})".format(", ".join([
    "province_id bigint", "city_id bigint", "county_id bigint", "township_id bigint", "g integer",
    "employers bigint", *(f"{i.code}_{part} bigint" for i in ROLLUP_FIGURES for part in ("num", "den"))]))


@dataclass(frozen=True)
class Step:
    """One recompute: a read-only SELECT of the rows (region_id, level, employers, figures) as
    one JSON array, then one statement that upserts them and removes the stale ones. Two statements, because
    PostgreSQL runs no part of a data-modifying statement in parallel: inside the upsert, the
    aggregation ran on one core, 1.4x the bare query on this 2-core machine.

    With `aggregate`, a statement before them: the bare GROUP BY ROLLUP over the records, its
    few hundred rows handed to the SELECT as JSON (%(ledger)s, read by LEDGER_ROWS). In one
    statement with the labelling and JSON building, PostgreSQL JIT-compiled those expressions
    too, for the half-million groups it expects at 1,000,000 employers (there are a few hundred):
    the bare query compiled 156 functions over its three processes, the combined SELECT 299, and
    the full recompute took 1.26-1.43x the bare query. Alone, the aggregate compiles as the bare
    query does, and what follows is estimated too cheap to compile (1.08x)."""

    select: str
    upsert: str
    parallel: bool = True  # a few counties' records: starting workers costs more than it saves
    aggregate: str = ""


def _step(*, agg_source: str, keep: str, stale: str, parallel: bool = True, aggregate: str = "") -> Step:
    """Upsert the rows of `agg_source` kept by `keep` and delete the period's rows matching
    `stale` that no longer have data; count rows whose figures changed."""
    return Step(
        select=f"""SELECT coalesce(jsonb_agg(jsonb_build_object('region_id', region_id, 'level', level,
                                                             'employers', employers, 'figures', figures)), '[]')::text
                   FROM (SELECT *, count(*) FILTER (WHERE level = {RegionLevel.PROVINCE}) OVER () AS provinces
                         FROM ({agg_source}) a WHERE {keep}) agg
                   -- GROUP BY ROLLUP gives an empty period a grand total: the national row exists
                   -- only above a province's, as the incremental steps write it.
                   WHERE level <> {RegionLevel.NATIONAL} OR provinces > 0""",
        upsert=f"""
        WITH rows AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
                      AS x(region_id bigint, level smallint, employers integer, figures jsonb)),
        old AS (SELECT region_id, employers, figures FROM targets_regionrollup t
                WHERE t.period_id = %(period)s AND ({stale})),
        drifted AS (
            SELECT o.region_id FROM old o LEFT JOIN rows n ON n.region_id = o.region_id
            WHERE n.figures IS DISTINCT FROM o.figures OR n.employers IS DISTINCT FROM o.employers),
        removed AS (
            DELETE FROM targets_regionrollup t WHERE t.period_id = %(period)s AND ({stale})
              AND NOT EXISTS (SELECT 1 FROM rows n WHERE n.region_id = t.region_id)
            RETURNING 1),
        written AS (
            INSERT INTO targets_regionrollup (period_id, region_id, level, employers, figures, computed_at)
            SELECT %(period)s, region_id, level, employers, figures, now() FROM rows ORDER BY region_id
            ON CONFLICT (period_id, region_id) DO UPDATE
               SET level = EXCLUDED.level, employers = EXCLUDED.employers, figures = EXCLUDED.figures,
                   computed_at = EXCLUDED.computed_at
            RETURNING 1)
        SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM drifted) + (SELECT count(*) FROM removed),
               (SELECT coalesce(array_agg(region_id), '{{}}') FROM (SELECT region_id FROM drifted LIMIT 20) s)
    """, parallel=parallel, aggregate=aggregate)


def _labelled(agg: str) -> str:
    return f"""SELECT {_REGION_OF_GROUPING} AS region_id, {_LEVEL_OF_GROUPING} AS level, employers, {_FIGURES} AS figures
               FROM ({agg}) a"""


# COALESCE: the grand total (the national row) of a period without patient files sums nothing.
_PATIENT_FIGURES = "jsonb_build_object({})".format(", ".join(
    f"'{code}', jsonb_build_array(COALESCE({code}_num, 0), COALESCE({code}_den, 0))" for code in PATIENT_FIGURE_CODES))
_NO_PATIENTS = "jsonb_build_object({})".format(", ".join(
    f"'{code}', jsonb_build_array(0, 0)" for code in PATIENT_FIGURE_CODES))
_NO_RECORDS = "jsonb_build_object({})".format(", ".join(
    f"'{i.code}', jsonb_build_array(0, 0)" for i in ROLLUP_FIGURES))


def _with_patients(*, counties: bool, ledger: str = "") -> str:
    """The ledger's labelled rows (of `ledger`, else aggregated here) joined by region with the
    patient files' (targets.indicators: patient_aggregate_sql); the filing rate takes its
    numerator from the files and its denominator from the ledger's reported cases."""
    patients = f"""SELECT {_REGION_OF_GROUPING} AS region_id, {_LEVEL_OF_GROUPING} AS level, {_PATIENT_FIGURES} AS figures
                   FROM ({patient_aggregate_sql(counties=counties, cycle_months=settings.PNEUMO_FOLLOWUP_CYCLE_MONTHS,
                                                stage3_months=settings.PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS)}) a"""
    return f"""
        SELECT COALESCE(l.region_id, pt.region_id) AS region_id, COALESCE(l.level, pt.level) AS level,
               COALESCE(l.employers, 0) AS employers,
               COALESCE(l.figures, {_NO_RECORDS})
               || COALESCE(pt.figures, {_NO_PATIENTS})
               || jsonb_build_object('patient_filing', jsonb_build_array(
                      COALESCE((pt.figures->'patient_filed'->>0)::bigint, 0),
                      COALESCE((l.figures->'reported_cases'->>0)::bigint, 0))) AS figures
        FROM ({_labelled(ledger or aggregate_sql(counties=counties))}) l
        FULL JOIN ({patients}) pt ON pt.region_id = l.region_id AND pt.level = l.level
    """


FULL = _step(
    agg_source=_with_patients(counties=False, ledger=LEDGER_ROWS),
    keep="region_id IS NOT NULL AND level IS NOT NULL",
    stale="TRUE",
    aggregate=aggregate_sql(counties=False),
)

# Incremental, step 1: the townships and counties of the dirty counties, from their records.
COUNTIES = _step(
    agg_source=_with_patients(counties=True),
    keep=f"region_id IS NOT NULL AND level IN ({RegionLevel.COUNTY}, {RegionLevel.TOWNSHIP})",
    stale="""t.region_id IN (SELECT id FROM portal_region WHERE id = ANY(%(counties)s)
                              OR parent_id = ANY(%(counties)s))""",
    parallel=False,
)

_SUMMED_CODES = [*(i.code for i in ROLLUP_FIGURES), *PATIENT_FIGURE_CODES, "patient_filing"]
_SUM_FIGURES = "jsonb_build_object({})".format(", ".join(
    f"'{c}', jsonb_build_array(COALESCE(SUM((figures->'{c}'->>0)::bigint), 0), "
    f"COALESCE(SUM((figures->'{c}'->>1)::bigint), 0))"
    for c in _SUMMED_CODES))

# The regions above the dirty counties (their cities, provinces and the national root): every
# region whose path is a prefix of a dirty county's path, above the county level.
_ABOVE_DIRTY = f"""SELECT a.id FROM portal_region x JOIN portal_region a ON x.path LIKE a.path || '%%'
                   WHERE x.id = ANY(%(counties)s) AND a.level < {RegionLevel.COUNTY}"""

# Incremental, step 2: every region above them, as the sum of the county rows under it (every
# indicator is a sum, so this equals aggregating their records).
ANCESTORS = _step(
    agg_source=f"""
        SELECT a.id AS region_id, a.level, SUM(t.employers)::int AS employers, {_SUM_FIGURES} AS figures
        FROM portal_region a
        JOIN portal_region c ON c.path LIKE a.path || '%%' AND c.level = {RegionLevel.COUNTY}
        JOIN targets_regionrollup t ON t.region_id = c.id AND t.period_id = %(period)s
        WHERE a.id IN ({_ABOVE_DIRTY})
        GROUP BY a.id, a.level
    """,
    keep="TRUE",
    stale=f"t.region_id IN ({_ABOVE_DIRTY})",
)


def run(step: Step, **params) -> tuple[int, int, list[int]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('targets.rollup'), %s)", [params["period"]])
        # The full aggregate's sorts spilled 37-49 MB per worker to disk at 1,000,000 employers
        # with the default 4 MB; raised for this transaction only.
        cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.PNEUMO_ROLLUP_WORK_MEM])
        if not step.parallel:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # until the transaction ends
        if step.aggregate:
            # Fetched as the bare query's rows, not wrapped in json_agg: the wrapper's expressions
            # were JIT-compiled for the half-million rows the planner expects (0.6 s at 1M).
            cursor.execute(step.aggregate, params)
            columns = [column.name for column in cursor.description]
            params["ledger"] = json.dumps([dict(zip(columns, row, strict=True)) for row in cursor.fetchall()])
        cursor.execute(step.select, params)
        (rows,) = cursor.fetchone()  # JSON text, handed back as it came
        cursor.execute(step.upsert, {**params, "rows": rows})
        written, drift, sample = cursor.fetchone()
    return written, drift, list(sample)


def bare_aggregate(period_id: int, work_mem: str | None = None) -> int:
    """For the benchmark's baseline: the GROUP BY ROLLUP query alone (with the recompute's
    work_mem unless told otherwise, so the ratio measures the recompute's own work)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem or settings.PNEUMO_ROLLUP_WORK_MEM])
        cursor.execute(aggregate_sql(counties=False), {"period": period_id})
        return len(cursor.fetchall())


def county_shortfalls(*, period_id: int, indicator, paths: list[str]) -> tuple[int, list[int]]:
    """How many employers under the regions `paths` fall short of `indicator` in the period, by
    the county rows of the rollup (the ledger's "未落实" list's length without counting its
    records), and the counties whose row cannot say: marked dirty (a write since the last
    recompute), without the figure (a row from before it), or without a row while the period
    has never had a full recompute (after one, a county without a row has no records: one that
    gets some is marked dirty). The caller counts those from the records. One statement, so
    the marks and the rows are read from one snapshot."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.id, t.id IS NULL, jsonb_build_object(%(code)s, t.figures->%(code)s, %(short)s, t.figures->%(short)s),
                       (t.id IS NULL AND NOT EXISTS (SELECT 1 FROM targets_rolluprun u
                                                     WHERE u.period_id = %(period)s AND u.kind = 'full'))
                       OR EXISTS (SELECT 1 FROM targets_dirtycounty d
                                  WHERE d.county_id = c.id AND d.period_id = %(period)s)
                FROM portal_region c
                LEFT JOIN targets_regionrollup t ON t.region_id = c.id AND t.period_id = %(period)s
                WHERE c.level = {RegionLevel.COUNTY} AND c.path LIKE ANY(%(prefixes)s)""",
            {"code": indicator.code, "short": shortfall_code(indicator), "period": period_id,
             "prefixes": [f"{path}%" for path in paths]})  # paths are digits and slashes
        rows = cursor.fetchall()
    total, stale = 0, []
    for county_id, no_row, figures, dirty in rows:  # Django hands jsonb back as text
        figures = {k: v for k, v in json.loads(figures).items() if v is not None}
        counted = None if dirty else 0 if no_row else shortfall_of(indicator, figures)
        if counted is None:
            stale.append(county_id)
        else:
            total += counted
    return total, stale
