"""The inbox, the menu's counts and the reviewer's bulk page; thin: parse, call, render."""

import logging

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from portal.scoping import Capability, login_only, requires
from worklist import selectors, services

logger = logging.getLogger(__name__)
COUNT_TTL = 120  # seconds the menu may show a work count computed by an earlier page


def _count_key(user) -> str:
    return f"worklist:count:{user.pk}"


def remember_counts(user, total: int) -> None:
    try:
        cache.set(_count_key(user), total, COUNT_TTL)
    except Exception:  # noqa: BLE001 - the menu badge is a convenience; a cache outage must not fail the page
        logger.warning("work-list count not cached", exc_info=True)


def _work_count(user) -> int:
    try:
        total = cache.get(_count_key(user))
    except Exception:  # noqa: BLE001
        total = None
    if total is None:
        total = selectors.work_list(user).total
        remember_counts(user, total)
    return total


@login_only
def nav_counts(request):
    """The menu's badges, loaded by htmx after the page so no page pays for them."""
    return render(request, "worklist/_nav_counts.html", {
        "work_count": _work_count(request.user), "unread": selectors.unread_count(request.user)})


@login_only
def inbox(request):
    if request.method == "POST":
        ids = None if request.POST.get("all") else [int(i) for i in request.POST.getlist("id") if i.isdigit()]
        marked = services.notifications_mark_read(actor=request.user, ids=ids)
        messages.success(request, _("已将 %(n)s 条通知标为已读。") % {"n": marked})
        return redirect("worklist:inbox")
    only_unread = request.GET.get("unread") == "1"
    notifications = selectors.inbox(request.user)
    if only_unread:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, 30).get_page(request.GET.get("page"))
    return render(request, "worklist/inbox.html", {
        "page": page, "only_unread": only_unread, "unread": selectors.unread_count(request.user)})


@login_only
@require_POST
def notification_open(request, pk: int):
    """Mark one notification read and go where the work is."""
    notification = selectors.inbox(request.user).filter(pk=pk).first()
    if notification is None:
        return redirect("worklist:inbox")
    services.notifications_mark_read(actor=request.user, ids=[pk])
    return redirect(notification.url or "worklist:inbox")


@requires(Capability.LEDGER_REVIEW, write=Capability.LEDGER_REVIEW)
def review(request):
    """Counties waiting for this reviewer (city: submitted; province: approved), several at once."""
    all_periods = list(ledger_selectors.periods())
    code = request.GET.get("period") or request.POST.get("period") or ""
    period = next((p for p in all_periods if p.code == code), None) or ledger_selectors.current_period(all_periods)
    if request.method == "POST" and period is not None:
        action = request.POST.get("action", "")
        ids = [int(i) for i in request.POST.getlist("submission") if i.isdigit()]
        try:
            done = ledger_services.submissions_bulk_review(
                actor=request.user, period=period, submission_ids=ids, action=action,
                reason=request.POST.get("reason", ""))
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, {
                "approve": _("已审核通过 %(n)s 个县（市、区）：%(names)s。"),
                "accept": _("已接收 %(n)s 个县（市、区）：%(names)s。"),
                "return": _("已退回 %(n)s 个县（市、区）：%(names)s。"),
            }[action] % {"n": len(done), "names": "、".join(s.county.name for s in done)})
        return redirect(f"{reverse('worklist:review')}?period={period.code}")
    waiting = selectors.review_queue(request.user, period) if period else []
    return render(request, "worklist/review.html", {
        "period": period, "periods": all_periods, "waiting": waiting})
