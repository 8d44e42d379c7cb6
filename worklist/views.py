"""The inbox, the menu's counts and the reviewer's bulk page; thin: parse, call, render."""

import logging

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from portal import history
from portal.forms import call_service
from portal.models import Department, Region, RegionLevel
from portal.params import period_param, scoped_region_param
from portal.scoping import Capability, found_or_404, login_only, requires, scope_for
from portal.views_exports import export_response
from worklist import selectors, services
from worklist.exports import audit_filters, iso_date
from worklist.models import Liaison

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
    period = (period_param(all_periods, request.GET, request.POST)
              or ledger_selectors.current_period(all_periods))
    if request.method == "POST" and period is not None:
        action = request.POST.get("action", "")
        ids = [int(i) for i in request.POST.getlist("submission") if i.isdigit()]
        reviewed, done = call_service(request, ledger_services.submissions_bulk_review, actor=request.user,
                                      period=period, submission_ids=ids, action=action,
                                      reason=request.POST.get("reason", ""))
        if reviewed:
            messages.success(request, {
                "approve": _("已审核通过 %(n)s 个县（市、区）：%(names)s。"),
                "accept": _("已接收 %(n)s 个县（市、区）：%(names)s。"),
                "return": _("已退回 %(n)s 个县（市、区）：%(names)s。"),
            }[action] % {"n": len(done), "names": "、".join(s.county.name for s in done)})
        return redirect(f"{reverse('worklist:review')}?period={period.code}")
    waiting = selectors.review_queue(request.user, period) if period else []
    return render(request, "worklist/review.html", {
        "period": period, "periods": all_periods, "waiting": waiting,
        "may_approve": any(s.stage == "review" for s in waiting), "may_accept": any(s.stage == "accept" for s in waiting)})


@requires(Capability.LEDGER_VIEW, write=Capability.PERIODS_MANAGE)
def handovers(request):
    """Which counties handed the period's ledger to HRSS on time, late or not yet; the province
    sets the deadline here."""
    all_periods = list(ledger_selectors.periods())
    period = (period_param(all_periods, request.GET, request.POST)
              or ledger_selectors.current_period(all_periods))
    region = scoped_region_param(request.scope, "region", request.GET, request.POST)
    if request.method == "POST" and period is not None:
        deadline = iso_date(request.POST.get("deadline", ""))
        if deadline is None:
            messages.error(request, _("请填写有效的截止日期（年-月-日）。"))
        elif region is None:
            messages.error(request, _("请选择省份。"))
        elif call_service(request, services.handover_deadline_set, actor=request.user, period=period, region=region,
                          deadline=deadline)[0]:
            messages.success(request, _("已设定%(region)s%(period)s台帐移交截止日期 %(d)s。") % {
                "region": region.name, "period": period, "d": deadline})
        return redirect(f"{reverse('worklist:handovers')}?period={period.code}")
    rows = selectors.handover_status(actor=request.user, period=period, region=region) if period else []
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.label] = totals.get(row.label, 0) + 1
    manage = scope_for(request.user, Capability.PERIODS_MANAGE)
    provinces = [r for r in manage.top_regions() if r.level == RegionLevel.PROVINCE] if manage else []
    return render(request, "worklist/handovers.html", {
        "period": period, "periods": all_periods, "rows": rows, "totals": totals, "region": region,
        "provinces": provinces})


@requires(Capability.LEDGER_VIEW, write=Capability.LEDGER_VIEW)
def liaisons(request):
    """The liaison list of a region, every department; each department's admin edits its own."""
    scope = scope_for(request.user, Capability.LEDGER_VIEW)
    region = (scoped_region_param(scope, "region", request.GET, request.POST)
              or scope.top_regions().order_by("path").first())
    if region is None:
        raise Http404(_("该区划不存在或不在您的管辖范围内。"))
    if request.method == "POST":
        action = request.POST.get("action")
        department = request.POST.get("department", "")
        liaison = None
        if request.POST.get("liaison"):
            liaison = Liaison.objects.filter(pk=request.POST.get("liaison"), region=region).first()
            if liaison is None:
                raise Http404(_("该联络员不存在。"))
        if action == "delete" and liaison is not None:
            if call_service(request, services.liaison_delete, actor=request.user, liaison=liaison)[0]:
                messages.success(request, _("已删除联络员。"))
        elif call_service(request, services.liaison_save, actor=request.user, region=region, department=department,
                          data=request.POST, liaison=liaison)[0]:
            messages.success(request, _("已保存联络员。"))
        return redirect(f"{reverse('worklist:liaisons')}?region={region.code}")
    rows = selectors.liaison_list(actor=request.user, region=region)
    editable = [d for d in Department if services.may_edit_liaisons(request.user, region, d.value)]
    return render(request, "worklist/liaisons.html", {
        "region": region, "rows": rows, "editable": editable,
        "editable_values": {d.value for d in editable},
        "children": scope.filter(Region.objects.filter(parent=region)).order_by("path") if region.level < 3 else [],
    })


@requires(Capability.LEDGER_REVIEW)
def county_review(request, pk: int):
    """One county under review: its indicators against its previous period, the employers
    whose figures jumped, the open comments."""
    review = found_or_404(selectors.county_review, _("该报送记录不存在或不在您的审核范围内。"), actor=request.user, submission_pk=pk)
    return render(request, "worklist/county_review.html", {"review": review})


@requires(Capability.LEDGER_VIEW, write=Capability.LEDGER_VIEW)
def record_comments(request, pk: int):
    """The comments on one employer record: reviewers ask, the county's clerks answer."""
    record, threads = found_or_404(selectors.record_comments, _("该记录不存在或不在您的管辖范围内。"), actor=request.user, record_pk=pk)
    if request.method == "POST":
        body = request.POST.get("body", "")
        if request.POST.get("reply_to"):
            comment = next((c for c, _answers in threads if str(c.pk) == request.POST["reply_to"]), None)
            if comment is None:
                messages.error(request, _("该批注不存在。"))
            elif call_service(request, services.record_comment_answer, actor=request.user, comment=comment,
                              body=body)[0]:
                messages.success(request, _("已答复。"))
        elif call_service(request, services.record_comment_add, actor=request.user, record=record, body=body)[0]:
            messages.success(request, _("已提出批注，县级填报人员将收到通知。"))
        return redirect("worklist:record-comments", pk=record.pk)
    return render(request, "worklist/record_comments.html", {
        "record": record, "threads": threads,
        "may_comment": scope_for(request.user, Capability.LEDGER_REVIEW).contains_from_level(
            record.county, RegionLevel.CITY),
        "may_answer": scope_for(request.user, Capability.LEDGER_EDIT).contains(record.county),
    })


@requires(Capability.USERS_MANAGE)
def audit(request):
    """Who changed what, when and from where, over the admin's regions and departments."""
    if request.GET.get("format") == "xlsx":  # a large one is written by the worker while the page waits
        return export_response(request, "audit")
    filters = audit_filters(request.user, request.GET)
    entries = history.audit_search(actor=request.user, filters=filters) if request.GET else []
    return render(request, "worklist/audit.html", {
        "entries": entries, "sources": history.SOURCES, "operations": history.LABELS, "searched": bool(request.GET),
        "query": request.GET.urlencode(), "limit": 300})
