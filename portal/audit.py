"""Audit context for writes. pghistory's triggers record every row change (including bulk
imports and raw SQL); this adds who acted and why to the same context, so a history entry
reads "张三 (county_health_clerk) 台帐导入: 单位名称 A → B"."""

import contextlib

import pghistory
import pghistory.middleware


@contextlib.contextmanager
def audit(actor, action: str, **metadata):
    with pghistory.context(
        user=actor.pk if actor is not None and actor.is_authenticated else None,
        actor_name=str(actor) if actor is not None and actor.is_authenticated else "system",
        action=action,
        **metadata,
    ):
        yield


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's request context (user, url) plus where the request came from, for the audit
    search. Behind the compose nginx (PNEUMO_BEHIND_PROXY=1) the address is the one nginx saw."""

    def get_context(self, request):
        from django.conf import settings

        context = super().get_context(request)
        address = request.META.get("REMOTE_ADDR", "")
        if getattr(settings, "PNEUMO_BEHIND_PROXY", False):
            address = request.META.get("HTTP_X_REAL_IP") or address
        context["ip"] = address
        return context
