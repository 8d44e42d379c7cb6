"""Every write of targets and rollups."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import ReportingPeriod
from portal.aftercommit import after_commit, send_task
from portal.audit import AuditAction, audit
from portal.models import Region, RegionLevel, User
from portal.scoping import Capability, require_in_scope, scope_for
from targets import rollups
from targets.indicators import CATALOGUE_BY_CODE, Kind, Source, format_target
from targets.models import Campaign, CampaignPhase, DirtyCounty, ReportedFigure, RollupRun, Target

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


def check_target(*, campaign: Campaign, region: Region, indicator: str, due_on: datetime.date | None,
                 value: Decimal | None) -> None:
    errors: dict[str, list[str]] = {}
    entry = CATALOGUE_BY_CODE.get(indicator)
    if entry is None:
        errors["indicator"] = [_("未知指标。")]
    if value is None:
        errors["value"] = [_("请填写目标值。")]
    elif entry is not None and entry.kind == Kind.COUNT:
        if value != int(value) or not (1 <= value <= 100):
            errors["value"] = [_("“%(indicator)s”的目标是个数，应为 1～100 的整数。") % {"indicator": entry.name}]
    elif not (0 < value <= 100):
        errors["value"] = [_("目标值应在 0～100% 之间。")]
    if due_on is None:
        errors["due_on"] = [_("请填写完成时限：方案未写明时限的目标不能录入。")]
    elif not (campaign.first_year <= due_on.year <= campaign.last_year):
        errors["due_on"] = [_("完成时限应在方案年度 %(first)s—%(last)s 年之内。") % {
            "first": campaign.first_year, "last": campaign.last_year}]
    if not region.is_within(campaign.region):
        errors["region"] = [_("区划不在方案“%(c)s”的发文区划之内。") % {"c": campaign}]
    if errors:
        raise ValidationError(errors)
    # A child may be stricter (higher, or earlier), never looser: by its due date, no
    # ancestor may already require more. The message names the most demanding of them (the
    # nearest level on a tie).
    conflicts = [p for p in _ancestor_targets(region, indicator) if p.due_on <= due_on and p.value > value]
    if conflicts:
        parent = max(conflicts, key=lambda p: (p.value, len(p.region.path)))
        raise ValidationError({"value": [_(
            "目标不能宽于上级：%(region)s 要求 %(indicator)s 在 %(due)s 前达到 %(value)s（%(campaign)s），"
            "本级在 %(own_due)s 的目标 %(own)s 低于该要求。") % {
            "region": parent.region.name, "indicator": entry.name, "due": parent.due_on,
            "value": format_target(indicator, parent.value), "campaign": parent.campaign, "own_due": due_on,
            "own": format_target(indicator, value)}]})


def require_campaign_editable(actor: User, campaign: Campaign) -> None:
    """Only an admin whose target scope covers the issuing region edits a plan: a plan binds
    the regions below it, but belongs to the region that issued it."""
    if not scope_for(actor, Capability.TARGETS_EDIT).contains(campaign.region):
        raise PermissionDenied(_("方案“%(c)s”由%(region)s印发，您不能修改。") % {
            "c": campaign, "region": campaign.region.name})


def target_set(*, actor: User, campaign: Campaign, region: Region, indicator: str, due_on: datetime.date,
               value: Decimal, wording: str = "") -> Target:
    require_in_scope(actor, Capability.TARGETS_EDIT, region)
    require_campaign_editable(actor, campaign)
    check_target(campaign=campaign, region=region, indicator=indicator, due_on=due_on, value=value)
    with transaction.atomic(), audit(actor, AuditAction.TARGET_SET, indicator=indicator):
        target, _created = Target.objects.update_or_create(
            campaign=campaign, region=region, indicator=indicator, due_on=due_on,
            defaults={"value": value, "wording": wording.strip()})
    return target


def target_delete(*, actor: User, target: Target) -> None:
    require_in_scope(actor, Capability.TARGETS_EDIT, target.region)
    require_campaign_editable(actor, target.campaign)
    with transaction.atomic(), audit(actor, AuditAction.TARGET_DELETE, indicator=target.indicator):
        target.delete()


def _check_campaign(*, name: str, authority: str, first_year: int | None, last_year: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("请填写方案名称。")]
    if not authority.strip():
        errors["authority"] = [_("请填写发文机关。")]
    if first_year is None or last_year is None:
        errors["last_year"] = [_("请填写方案的起止年度。")]
    elif last_year < first_year:
        errors["last_year"] = [_("终止年度不能早于起始年度。")]
    if errors:
        raise ValidationError(errors)


def campaign_create(*, actor: User, region: Region, name: str, authority: str, document_number: str,
                    first_year: int, last_year: int, issued_on: datetime.date | None = None,
                    note: str = "") -> Campaign:
    require_in_scope(actor, Capability.TARGETS_EDIT, region)
    _check_campaign(name=name, authority=authority, first_year=first_year, last_year=last_year)
    with transaction.atomic(), audit(actor, AuditAction.CAMPAIGN_CREATE):
        return Campaign.objects.create(region=region, name=name.strip(), authority=authority.strip(),
                                       document_number=document_number.strip(), issued_on=issued_on,
                                       first_year=first_year, last_year=last_year, note=note.strip())


def campaign_update(*, actor: User, campaign: Campaign, name: str, authority: str, document_number: str,
                    first_year: int, last_year: int, issued_on: datetime.date | None = None,
                    note: str = "") -> Campaign:
    require_campaign_editable(actor, campaign)
    _check_campaign(name=name, authority=authority, first_year=first_year, last_year=last_year)
    outside = campaign.targets.exclude(due_on__year__gte=first_year, due_on__year__lte=last_year)
    if outside.exists():
        raise ValidationError({"last_year": [_("方案已有 %(n)s 个目标的完成时限不在新的年度范围内，请先修改这些目标。") % {
            "n": outside.count()}]})
    with transaction.atomic(), audit(actor, AuditAction.CAMPAIGN_UPDATE):
        campaign.name, campaign.authority = name.strip(), authority.strip()
        campaign.document_number, campaign.note = document_number.strip(), note.strip()
        campaign.first_year, campaign.last_year, campaign.issued_on = first_year, last_year, issued_on
        campaign.save()
    return campaign


def campaigns_load_reference(rows: list[dict]) -> int:
    """The plans and their targets (fixtures/campaigns.json), idempotent; parents first, each
    target checked like any other. A plan's own targets and phases become exactly the file's:
    a corrected fixture removes what an earlier one loaded (targets set by admins for regions
    below the issuing region stay)."""
    count = 0
    with transaction.atomic(), audit(None, AuditAction.CAMPAIGNS_LOAD_REFERENCE):
        for row in sorted(rows, key=lambda r: len(Region.objects.get(code=r["region"]).path)):
            region = Region.objects.get(code=row["region"])
            campaign, _created = Campaign.objects.update_or_create(
                region=region, document_number=row["document_number"], name=row["name"],
                defaults={"authority": row["authority"], "first_year": row["first_year"],
                          "last_year": row["last_year"], "note": row.get("note", ""),
                          "issued_on": datetime.date.fromisoformat(row["issued_on"]) if row["issued_on"] else None})
            kept = []
            for target in row["targets"]:
                due_on = datetime.date.fromisoformat(target["due_on"])
                value = Decimal(str(target["value"]))
                for indicator in target["indicators"]:
                    check_target(campaign=campaign, region=region, indicator=indicator, due_on=due_on, value=value)
                    saved, _created = Target.objects.update_or_create(
                        campaign=campaign, region=region, indicator=indicator, due_on=due_on,
                        defaults={"value": value, "wording": target.get("wording", "")})
                    kept.append(saved.pk)
                    count += 1
            Target.objects.filter(campaign=campaign, region=region).exclude(pk__in=kept).delete()
            campaign.phases.all().delete()
            CampaignPhase.objects.bulk_create([
                CampaignPhase(campaign=campaign, name=phase["name"], wording=phase.get("wording", ""),
                              starts_on=datetime.date.fromisoformat(phase["starts_on"]),
                              ends_on=datetime.date.fromisoformat(phase["ends_on"]))
                for phase in row.get("phases", [])])
    return count


# ---- Reported figures (what the ledger does not hold) ------------------------------------------


def _reported_entry(indicator: str):
    entry = CATALOGUE_BY_CODE.get(indicator)
    if entry is None or entry.source != Source.REPORTED:
        raise ValidationError({"indicator": [_("该指标不由责任部门报送（来自台帐汇总或业务系统）。")]})
    return entry


def check_reported_figure(*, indicator: str, region: Region, numerator: int | None,
                          denominator: int | None) -> tuple[int, int]:
    """The figure as stored: (numerator, denominator); a yes/no is 1 or 0 of 1, a count has no
    denominator (0). Each region reports its own figure; a parent's is the sum of its subtree's."""
    entry = _reported_entry(indicator)
    errors: dict[str, list[str]] = {}
    if entry.reported_level is not None and region.level != entry.reported_level:
        errors["region"] = [_("“%(indicator)s”由%(level)s报送。") % {
            "indicator": entry.name, "level": RegionLevel(entry.reported_level).label}]
    elif not (RegionLevel.PROVINCE <= region.level <= RegionLevel.COUNTY):
        errors["region"] = [_("报送指标由省、市、县填报。")]
    if numerator is None or numerator < 0:
        errors["numerator"] = [_("请填写不小于 0 的整数。")]
    if entry.kind == Kind.YES_NO:
        if numerator not in (0, 1):
            errors["numerator"] = [_("请选择“是”或“否”。")]
        denominator = 1
    elif entry.kind == Kind.COUNT:
        denominator = 0
    elif denominator is None or denominator <= 0:
        errors["denominator"] = [_("请填写分母（应落实数），应大于 0。")]
    elif numerator is not None and numerator > denominator:
        errors["numerator"] = [_("分子 %(n)s 不能大于分母 %(d)s。") % {"n": numerator, "d": denominator}]
    if errors:
        raise ValidationError(errors)
    return numerator, denominator


def reported_figure_save(*, actor: User, period: ReportingPeriod, region: Region, indicator: str,
                         numerator: int | None, denominator: int | None = None, evidence=None,
                         note: str = "") -> ReportedFigure:
    """Enter or correct a figure while it is a draft or has been returned."""
    require_in_scope(actor, Capability.FIGURES_REPORT, region)
    numerator, denominator = check_reported_figure(indicator=indicator, region=region, numerator=numerator,
                                                   denominator=denominator)
    entry = CATALOGUE_BY_CODE[indicator]
    with transaction.atomic(), audit(actor, AuditAction.REPORTED_FIGURE_SAVE, indicator=indicator, region=region.code):
        figure = ReportedFigure.objects.select_for_update().filter(
            period=period, region=region, indicator=indicator).first()
        if figure is not None and figure.status in (ReportedFigure.Status.SUBMITTED, ReportedFigure.Status.APPROVED):
            raise ValidationError(_("该指标本期已报送，不能修改；如需更正，请上级审核人员退回。"))
        if figure is None:
            figure = ReportedFigure(period=period, region=region, indicator=indicator, department=entry.department)
        if evidence is None and not figure.evidence:
            raise ValidationError({"evidence": [_("请上传佐证材料（文件、名单或证明）。")]})
        figure.numerator, figure.denominator, figure.note = numerator, denominator, note.strip()
        figure.entered_by = actor
        if evidence is not None:
            figure.evidence = evidence
        figure.status = ReportedFigure.Status.DRAFT
        figure.save()
    return figure


def reported_figure_submit(*, actor: User, figure: ReportedFigure) -> ReportedFigure:
    require_in_scope(actor, Capability.FIGURES_REPORT, figure.region)
    with transaction.atomic(), audit(actor, AuditAction.REPORTED_FIGURE_SUBMIT, indicator=figure.indicator):
        figure = ReportedFigure.objects.select_for_update().get(pk=figure.pk)
        if figure.status not in (ReportedFigure.Status.DRAFT, ReportedFigure.Status.RETURNED):
            raise ValidationError(_("只有填报中或已退回的指标可以报送。"))
        figure.status, figure.submitted_at = ReportedFigure.Status.SUBMITTED, timezone.now()
        figure.save(update_fields=["status", "submitted_at"])
    return figure


def reported_figure_review(*, actor: User, figure: ReportedFigure, approve: bool, reason: str = "") -> ReportedFigure:
    """A reviewer of a level above the reporting region approves, or returns with a reason."""
    if not scope_for(actor, Capability.FIGURES_REVIEW).contains_from_level(figure.region, figure.region.level - 1):
        raise PermissionDenied(_("只有上级卫生健康部门的审核人员可以审核%(region)s报送的指标。") % {
            "region": figure.region.name})
    if not approve and not reason.strip():
        raise ValidationError({"reason": [_("退回时请填写原因。")]})
    with transaction.atomic(), audit(actor, AuditAction.REPORTED_FIGURE_REVIEW, indicator=figure.indicator):
        figure = ReportedFigure.objects.select_for_update().get(pk=figure.pk)
        if figure.status != ReportedFigure.Status.SUBMITTED:
            raise ValidationError(_("只有已报送的指标可以审核。"))
        figure.status = ReportedFigure.Status.APPROVED if approve else ReportedFigure.Status.RETURNED
        figure.reviewed_by, figure.reviewed_at = actor, timezone.now()
        figure.return_reason = "" if approve else reason.strip()
        figure.save(update_fields=["status", "reviewed_by", "reviewed_at", "return_reason"])
    return figure
