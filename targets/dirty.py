"""Marking counties whose indicator rollups are stale (debounced through the database)."""

from django.db import connection


def mark_county_dirty(*, county_id: int, period_id: int | None) -> None:
    """Upsert the mark in the caller's transaction. Without a period, the latest period in
    which the county has records is marked."""
    with connection.cursor() as cursor:
        if period_id is None:
            cursor.execute(
                """
                INSERT INTO targets_dirtycounty (county_id, period_id, marked_at)
                SELECT %s, p.id, now() FROM ledger_reportingperiod p
                WHERE EXISTS (SELECT 1 FROM ledger_employerrecord r WHERE r.period_id = p.id AND r.county_id = %s)
                ORDER BY p.year DESC, p.half DESC LIMIT 1
                ON CONFLICT (county_id, period_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
                """,
                [county_id, county_id],
            )
        else:
            cursor.execute(
                """
                INSERT INTO targets_dirtycounty (county_id, period_id, marked_at) VALUES (%s, %s, now())
                ON CONFLICT (county_id, period_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
                """,
                [county_id, period_id],
            )
    from targets.services import schedule_dirty_recompute

    schedule_dirty_recompute()
