"""Audit context for writes. pghistory's triggers record every row change (including bulk
imports and raw SQL); this adds who acted and why to the same context, so a history entry
reads "张三 (county_health_clerk) 台帐导入: 单位名称 A → B"."""

import contextlib

import pghistory


@contextlib.contextmanager
def audit(actor, action: str, **metadata):
    with pghistory.context(
        user=actor.pk if actor is not None and actor.is_authenticated else None,
        actor_name=str(actor) if actor is not None and actor.is_authenticated else "system",
        action=action,
        **metadata,
    ):
        yield
