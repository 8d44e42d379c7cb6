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


def history_triggers(*models) -> list[str]:
    """pgtrigger URIs of the insert and update history triggers of tracked models, for
    `pgtrigger.ignore` around a bulk write that records its history with `write_history`."""
    return [f"{model._meta.label}:{name}" for model in models for name in ("insert_insert", "update_update")]


def write_history(*, model, ids, inserted) -> None:
    """The history rows pghistory's row triggers would have written for `ids` (their current
    state, labelled insert or update, under the current audit context), in one statement.
    Row triggers cost a subtransaction a row; on bulk imports that dominated the write."""
    from django.apps import apps

    ids = list(ids)
    if not ids:
        return
    event = apps.get_model(model._meta.app_label, f"{model.__name__}Event")
    columns = ", ".join(
        f'"{field.column}"' for field in event._meta.concrete_fields
        if not field.name.startswith("pgh_")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{event._meta.db_table}" (pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id, {columns}) '
            f"SELECT now(), CASE WHEN id = ANY(%s) THEN 'insert' ELSE 'update' END, id, "
            f'(SELECT _pgh_attach_context()), {columns} FROM "{model._meta.db_table}" WHERE id = ANY(%s)',
            [list(inserted), ids],
        )
