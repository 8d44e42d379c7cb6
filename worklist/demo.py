"""Demo additions of the work list (called from `seed_demo` after the other demo data): the
notifications the demo's earlier steps raised are delivered at once (a fresh `make run` has no
worker running yet), and the daily reminders run once, so every inbox starts as it would after a
day of work. Running it twice changes nothing (delivery and reminders are idempotent)."""

import datetime

from ledger.selectors import current_period
from portal.demo import DEMO_REGIONS, DEMO_SIBLING_COUNTY, demo_username
from portal.models import Department, Region, User
from worklist import services
from worklist.models import HandoverDeadline, Liaison, NotificationEvent

# 阳谷县's health and HRSS offices have named their liaisons; 东昌府区's admins still have to.
LIAISONS = [
    (Department.HEALTH, {"name": "刘建国", "unit": "阳谷县卫生健康局", "post": "职业健康科科长", "phone": "0635-6211001"}),
    (Department.HRSS, {"name": "高秀英", "unit": "阳谷县人力资源和社会保障局", "post": "工伤保险股股长",
                       "phone": "0635-6212002"}),
]


# The open half-year's deadline, counted from the day the demo is seeded: inside the 7-day
# reminder window, so reminders and "N days left" show as they would a week before a deadline.
OPEN_PERIOD_DAYS_LEFT = 6


def _open_period_due_soon(period) -> None:
    """The demo plays "now" in the open half-year: its deadline (set in the seed years) moves to
    a few days from today; earlier, accepted half-years keep their historical deadlines. A re-run
    while it is still ahead changes nothing."""
    from django.utils import timezone

    from ledger.models import ReportingPeriod

    ReportingPeriod.objects.filter(pk=period.pk, deadline__lt=timezone.localdate()).update(
        deadline=timezone.localdate() + datetime.timedelta(days=OPEN_PERIOD_DAYS_LEFT))
    period.refresh_from_db(fields=["deadline"])


def _figures_in_progress(period) -> None:
    """Reported figures still to do in the open half-year: 东昌府区's enforcement-training figure
    was returned by the city, its exam-institution figure is entered but not submitted, and
    聊城市's diagnosis-institution figure likewise (the demo seeds them approved)."""
    from targets.models import ReportedFigure

    figures = ReportedFigure.objects.filter(period=period, status=ReportedFigure.Status.APPROVED)
    figures.filter(region__code=DEMO_REGIONS["county"], indicator="enforcement_training").update(
        status=ReportedFigure.Status.RETURNED, return_reason="培训签到表缺少培训日期和授课人，请补充后重新报送",
        reviewed_by=User.objects.get(username=demo_username("city", "health", "reviewer")))
    figures.filter(region__code=DEMO_REGIONS["county"], indicator="exam_institution").update(
        status=ReportedFigure.Status.DRAFT, submitted_at=None, reviewed_by=None, reviewed_at=None)
    figures.filter(region__code=DEMO_REGIONS["city"], indicator="diagnosis_institution").update(
        status=ReportedFigure.Status.DRAFT, submitted_at=None, reviewed_by=None, reviewed_at=None)


def seed_demo_worklist() -> str:
    period = current_period()
    if period is not None:
        _open_period_due_soon(period)
        _figures_in_progress(period)
    province = Region.objects.get(code=DEMO_REGIONS["province"])
    if period is not None and not HandoverDeadline.objects.filter(period=period, region=province).exists():
        services.handover_deadline_set(
            actor=User.objects.get(username=demo_username("province", "health", "admin")), period=period,
            region=province, deadline=period.deadline + datetime.timedelta(days=15))
    county = Region.objects.get(code=DEMO_SIBLING_COUNTY)
    for department, data in LIAISONS:
        if not Liaison.objects.filter(region=county, department=department).exists():
            services.liaison_save(actor=User.objects.get(username=demo_username("county2", department, "admin")),
                                  region=county, department=department, data=data)
    delivered = sum(services.event_deliver(event_id=pk) for pk in
                    NotificationEvent.objects.filter(delivered_at__isnull=True).values_list("pk", flat=True))
    reminders = services.deadline_reminders()
    overdue = services.findings_overdue_notify()
    return f"notifications: {delivered} delivered, {reminders} deadline reminders, {overdue} overdue findings"
