"""Bulk loading through PostgreSQL COPY (psycopg 3) into a temporary staging table, then one
INSERT … SELECT, so constraints, defaults and conflict handling stay in SQL."""

import contextlib
from collections.abc import Iterable, Iterator, Sequence

from django.db import connection


@contextlib.contextmanager
def staging_table(*, staging: str, like_table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """A temporary table with `columns` of `like_table` (no constraints), filled by COPY, dropped
    on leaving. Must run inside a transaction; `rows` must not query the database (the connection
    is busy with the COPY while they are produced)."""
    column_list = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMPORARY TABLE "{staging}" AS SELECT {column_list} FROM "{like_table}" WITH NO DATA')
        with cursor.cursor.copy(f'COPY "{staging}" ({column_list}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        yield staging
        # On an error the transaction's rollback drops the table; a DROP here would only hide
        # the error behind "current transaction is aborted".
        cursor.execute(f'DROP TABLE IF EXISTS "{staging}"')
