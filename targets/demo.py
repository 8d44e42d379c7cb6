"""Demo data for the campaign view, called from seed_demo in one line: employers and periods in
the four other seed provinces (so the national dashboard compares five), and approved reported
figures (enforcement-staff training, exam and diagnosis institutions) with a shared evidence file."""

import random

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from ledger.demo import seed_demo_employers, seed_demo_periods
from ledger.models import ReportingPeriod
from portal.audit import AuditAction, audit
from portal.models import Region, RegionLevel, User
from targets.models import ReportedFigure

OTHER_PROVINCES = ("21", "22", "41", "50")  # Liaoning, Jilin, Henan, Chongqing
EVIDENCE = "reported/demo/演示佐证材料.txt"


def seed_demo_other_provinces(*, seed: int, employers: int) -> int:
    """A fifth of the demo province's employers in each other seed province, with its periods."""
    inserted = 0
    for code in OTHER_PROVINCES:
        inserted += seed_demo_employers(seed=seed, count=employers // 5, province_code=code)
        seed_demo_periods(province_code=code)
    return inserted


@transaction.atomic
def seed_demo_reported_figures(*, seed: int) -> int:
    """Approved figures for every county (enforcement training, exam institution) and city
    (diagnosis institution) of the seed provinces, in every period; idempotent."""
    rng = random.Random(seed)
    if not default_storage.exists(EVIDENCE):
        default_storage.save(EVIDENCE, ContentFile("演示数据：培训签到表与机构确定文件（示例）。".encode()))
    clerk = User.objects.filter(username="county_health_clerk").first() or User.objects.filter(
        is_superuser=True).first()
    reviewer = User.objects.filter(username="province_health_reviewer").first() or clerk
    regions = list(Region.objects.filter(level__in=(RegionLevel.CITY, RegionLevel.COUNTY)).order_by("code"))
    rows = []
    for period in ReportingPeriod.objects.order_by("year", "half"):
        for region in regions:
            if region.level == RegionLevel.CITY:
                rows.append(("diagnosis_institution", region, int(rng.random() < 0.85), 1))
            else:
                staff = rng.randint(4, 20)
                rows.append(("enforcement_training", region, staff - int(rng.random() < 0.4), staff))
                rows.append(("exam_institution", region, int(rng.random() < 0.8), 1))
        existing = set(ReportedFigure.objects.filter(period=period).values_list("region_id", "indicator"))
        with audit(None, AuditAction.SEED_DEMO_REPORTED_FIGURES):
            ReportedFigure.objects.bulk_create([
                ReportedFigure(period=period, region=region, indicator=indicator, numerator=numerator,
                               denominator=denominator, evidence=EVIDENCE, department="health",
                               status=ReportedFigure.Status.APPROVED, entered_by=clerk, reviewed_by=reviewer)
                for indicator, region, numerator, denominator in rows
                if (region.pk, indicator) not in existing])
        rows.clear()
    return ReportedFigure.objects.count()


def seed_demo_campaign(*, seed: int, employers: int) -> str:
    other = seed_demo_other_provinces(seed=seed, employers=employers)
    figures = seed_demo_reported_figures(seed=seed)
    return f"other provinces: {other} employers; reported figures: {figures}"
