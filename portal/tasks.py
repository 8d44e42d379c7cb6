"""Celery tasks of the portal: one-line wrappers around services."""

from celery import shared_task

from portal import exports


@shared_task(name="portal.export_write", ignore_result=True)
def export_write(token: str, kind: str, user_id: int, params: dict, language: str | None = None) -> None:
    exports.run(token, kind, user_id, params, language)

