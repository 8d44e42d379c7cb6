"""Every write of targets and rollups."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import ReportingPeriod
from portal.aftercommit import after_commit, send_task
from portal.audit import audit
from portal.models import Region, User
from portal.scoping import Capability, require_in_scope
from targets import rollups
from targets.indicators import BY_CODE
from targets.models import Campaign, DirtyCounty, RollupRun, Target

ROLLUP_QUEUED_KEY = "targets:rollup-queued"


# ---- Rollups --------------------------------------------------------------------------------


@transaction.atomic
def rollup_recompute_full(*, period: ReportingPeriod) -> RollupRun:
    """All indicators at all levels of one period in one statement; records the drift it
    corrected (rows that differed from what was stored)."""
    started, clock = timezone.now(), time.perf_counter()
    written, drift, sample = rollups.run(rollups.FULL, period=period.pk)
    DirtyCounty.objects.filter(period=period, marked_at__lte=started).delete()
    return RollupRun.objects.create(
        kind=RollupRun.Kind.FULL, period=period, started_at=started, rows_written=written, drift=drift,
        drift_sample=sample, duration_ms=int((time.perf_counter() - clock) * 1000),
    )


def rollup_recompute_all() -> list[RollupRun]:
    """The nightly job: every period, from scratch."""
    return [rollup_recompute_full(period=period) for period in ReportingPeriod.objects.all()]


def rollup_recompute_dirty() -> list[RollupRun]:
    """Claim the dirty (county, period) marks no other worker holds, recompute those counties
    and their ancestors, and drop the marks, all in one transaction per period."""
    cache.delete(ROLLUP_QUEUED_KEY)
    runs = []
    for period_id in DirtyCounty.objects.values_list("period_id", flat=True).distinct().order_by("period_id"):
        with transaction.atomic():
            claimed = list(DirtyCounty.objects.select_for_update(skip_locked=True).filter(period_id=period_id))
            if not claimed:
                continue
            started, clock = timezone.now(), time.perf_counter()
            counties = sorted({mark.county_id for mark in claimed})
            written, drift, _sample = rollups.run(rollups.COUNTIES, period=period_id, counties=counties)
            more, _drift, _ = rollups.run(rollups.ANCESTORS, period=period_id, counties=counties)
            DirtyCounty.objects.filter(pk__in=[mark.pk for mark in claimed]).delete()
            runs.append(RollupRun.objects.create(
                kind=RollupRun.Kind.INCREMENTAL, period_id=period_id, started_at=started, counties=len(counties),
                rows_written=written + more, duration_ms=int((time.perf_counter() - clock) * 1000),
            ))
    return runs


def rollup_mark_dirty(county, period) -> None:
    """The one way a write tells the rollups that a county's figures of a period changed: call
    it inside the writer's transaction (the mark commits or rolls back with the data). `county`
    and `period` are instances or ids; a period of None marks the latest period in which the
    county has records. After the commit, one task is enqueued however many marks came before it
    runs (a Redis flag); if Redis is down that is logged, never raised: the marks are in the
    database and beat's sweep recomputes them within five minutes."""
    if not connection.in_atomic_block:
        raise RuntimeError("rollup_mark_dirty must run inside the writer's transaction")
    county_id, period_id = getattr(county, "pk", county), getattr(period, "pk", period)
    with connection.cursor() as cursor:
        if period_id is None:
            cursor.execute(
                """
                INSERT INTO targets_dirtycounty (county_id, period_id, marked_at)
                SELECT %s, p.id, now() FROM ledger_reportingperiod p
                WHERE EXISTS (SELECT 1 FROM ledger_employerrecord r WHERE r.period_id = p.id AND r.county_id = %s)
                ORDER BY p.year DESC, p.half DESC LIMIT 1
                ON CONFLICT (county_id, period_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
                """,
                [county_id, county_id],
            )
        else:
            cursor.execute(
                """
                INSERT INTO targets_dirtycounty (county_id, period_id, marked_at) VALUES (%s, %s, now())
                ON CONFLICT (county_id, period_id) DO UPDATE SET marked_at = EXCLUDED.marked_at
                """,
                [county_id, period_id],
            )
    after_commit(_enqueue_dirty_recompute, what="rollup recompute", once=True)


def _enqueue_dirty_recompute() -> None:
    from targets.tasks import recompute_dirty

    if cache.add(ROLLUP_QUEUED_KEY, 1, timeout=300):
        try:
            send_task(recompute_dirty, countdown=1)
        except Exception:
            cache.delete(ROLLUP_QUEUED_KEY)  # let the next write try again
            raise


# ---- Campaigns and targets ----------------------------------------------------------------


def _ancestor_targets(region: Region, indicator: str):
    return Target.objects.filter(region__code__in=region.ancestor_codes[:-1], indicator=indicator).select_related(
        "region", "campaign")


def check_target(*, campaign: Campaign, region: Region, indicator: str, due_on: datetime.date,
                 value: Decimal) -> None:
    errors: dict[str, list[str]] = {}
    if indicator not in BY_CODE:
        errors["indicator"] = [_("未知指标。")]
    if value is None or not (0 <= value <= 100):
        errors["value"] = [_("目标值应在 0～100% 之间。")]
    if due_on is None or not (campaign.starts_on <= due_on <= campaign.ends_on):
        errors["due_on"] = [_("完成时限应在方案执行期 %(start)s 至 %(end)s 之内。") % {
            "start": campaign.starts_on, "end": campaign.ends_on}]
    if not region.is_within(campaign.region):
        errors["region"] = [_("区划不在方案“%(c)s”的发文区划之内。") % {"c": campaign}]
    if errors:
        raise ValidationError(errors)
    # A child may be stricter (higher, or earlier), never looser: by its due date, no
    # ancestor may already require more.
    for parent in _ancestor_targets(region, indicator):
        if parent.due_on <= due_on and parent.value > value:
            raise ValidationError({"value": [_(
                "目标不能宽于上级：%(region)s 要求 %(indicator)s 在 %(due)s 前达到 %(value)s%%（%(campaign)s），"
                "本级在 %(own_due)s 的目标 %(own)s%% 低于该要求。") % {
                "region": parent.region.name, "indicator": BY_CODE[indicator].name, "due": parent.due_on,
                "value": parent.value.normalize(), "campaign": parent.campaign, "own_due": due_on,
                "own": Decimal(value).normalize()}]})


def target_set(*, actor: User, campaign: Campaign, region: Region, indicator: str, due_on: datetime.date,
               value: Decimal) -> Target:
    require_in_scope(actor, Capability.TARGETS_EDIT, region)
    check_target(campaign=campaign, region=region, indicator=indicator, due_on=due_on, value=value)
    with transaction.atomic(), audit(actor, "target_set", indicator=indicator):
        target, _created = Target.objects.update_or_create(
            campaign=campaign, region=region, indicator=indicator, due_on=due_on, defaults={"value": value})
    return target


def target_delete(*, actor: User, target: Target) -> None:
    require_in_scope(actor, Capability.TARGETS_EDIT, target.region)
    with transaction.atomic(), audit(actor, "target_delete", indicator=target.indicator):
        target.delete()


def campaign_create(*, actor: User, region: Region, name: str, authority: str, document_number: str,
                    starts_on: datetime.date, ends_on: datetime.date) -> Campaign:
    require_in_scope(actor, Capability.TARGETS_EDIT, region)
    if not name.strip() or not authority.strip():
        raise ValidationError(_("请填写方案名称和发文机关。"))
    if ends_on < starts_on:
        raise ValidationError({"ends_on": [_("结束日期不能早于开始日期。")]})
    with transaction.atomic(), audit(actor, "campaign_create"):
        return Campaign.objects.create(region=region, name=name.strip(), authority=authority.strip(),
                                       document_number=document_number.strip(), starts_on=starts_on, ends_on=ends_on)


def campaigns_load_reference(rows: list[dict]) -> int:
    """The seed plans and their targets (fixtures/campaigns.json), idempotent; targets are
    checked like any other, parents first."""
    count = 0
    with transaction.atomic(), audit(None, "campaigns_load_reference"):
        for row in rows:
            region = Region.objects.get(code=row["region"])
            campaign, _created = Campaign.objects.update_or_create(
                region=region, document_number=row["document_number"], name=row["name"],
                defaults={"authority": row["authority"], "starts_on": datetime.date.fromisoformat(row["starts_on"]),
                          "ends_on": datetime.date.fromisoformat(row["ends_on"])})
            for target in row["targets"]:
                for indicator in target["indicators"]:
                    due_on = datetime.date.fromisoformat(target["due_on"])
                    value = Decimal(str(target["value"]))
                    check_target(campaign=campaign, region=region, indicator=indicator, due_on=due_on, value=value)
                    Target.objects.update_or_create(campaign=campaign, region=region, indicator=indicator,
                                                    due_on=due_on, defaults={"value": value})
                    count += 1
    return count


