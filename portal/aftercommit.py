"""Work scheduled after a commit (enqueueing a Celery task, a notification, a rollup): the one
way to do it. The write has committed by the time this runs, so whatever happens here must not
reach the user as a failure of the write: it is best-effort, logged (without personal data) and
counted, and something durable in the database lets a beat job pick the work up later (dirty
rollup marks, pending jobs, unsent notifications).

    after_commit(send_notice, what="worklist.notify")          # any callable
    enqueue_after_commit(tasks.recompute_dirty, countdown=1)    # a Celery task

Never call `task.delay_on_commit` or `transaction.on_commit` with code that can raise: Django
runs on_commit callbacks when the outermost atomic block exits, so their exception escapes
from the view after the data is already committed (a 500, and "nothing was written")."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connection, transaction

log = logging.getLogger("portal.aftercommit")


def after_commit(func: Callable[[], object], *, what: str, once: bool = False) -> None:
    """Run `func` once the current transaction commits (at once outside a transaction); a
    failure is logged and counted, never raised. With `once`, registering the same `func`
    again in the same transaction is a no-op (many writes, one enqueue)."""
    if once and connection.in_atomic_block and any(
        getattr(callback, "__wrapped__", None) is func for _sids, callback, _robust in connection.run_on_commit
    ):
        return

    def run() -> None:
        try:
            func()
        except Exception as exc:  # noqa: BLE001 — the write has committed; report, do not raise
            from portal.metrics import AFTER_COMMIT_FAILURES

            AFTER_COMMIT_FAILURES.labels(what=what).inc()
            log.warning("after-commit work %s failed (%s: %s); it will be picked up later",
                        what, type(exc).__name__, exc)

    run.__wrapped__ = func
    transaction.on_commit(run, robust=True)


def enqueue_after_commit(task, *args, countdown: int | None = None, **kwargs) -> None:
    """Enqueue a Celery task after commit without retrying against a broker that is down (the
    request would hang): one attempt, then the failure is logged and beat's sweep does the work."""
    after_commit(lambda: send_task(task, *args, countdown=countdown, **kwargs), what=f"enqueue {task.name}")


def send_task(task, *args, countdown: int | None = None, **kwargs) -> None:
    """One attempt to publish (raises if the broker is unreachable)."""
    task.apply_async(args, kwargs, countdown=countdown, retry=False)
