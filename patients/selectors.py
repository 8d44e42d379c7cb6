"""Every read of the patient files, through portal.scoping: health staff read whole files in
their scope (PATIENT_VIEW); the relief departments read the relief part of the files of their
categories (RELIEF_DUTIES); identity and file reads are logged by the views."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.validation import mask_id_number
from patients.models import (
    LEVEL_FIELDS,
    FollowUp,
    LifeStatus,
    Patient,
    PatientAccess,
    PatientMove,
    RehabSite,
    ReliefAction,
    SiteKind,
    Stage,
)
from portal.models import Region, User
from portal.params import parse_id
from portal.scoping import Capability, relief_q, scope_for

TOWNSHIP_STATION_THRESHOLD = 100  # 常住尘肺病患者达到100人的乡镇 (seed 001 三、2)
VILLAGE_POINT_THRESHOLD = 10  # 常住尘肺病患者达到10人的村居

LIST_FIELDS = ["id", "name", "id_number", "sex", "birth_date", "village", "diagnosis_kind", "disease", "stage",
               "diagnosed_on", "status", "relief_category", "last_followup_on", "next_followup_due",
               "county__name", "township__name", "county_id", "township_id"]


@dataclass
class PatientFilters:
    query: str = ""
    region: Region | None = None
    status: str = ""
    category: str = ""
    stage: str = ""
    overdue: bool = False
    missing: str = ""  # a dashboard indicator's shortfall (MISSING)


def stage_filter(text: str) -> str | None:
    """The stage filter: "" (every stage) or a stage's number; None when the parameter is not a
    stage (text, an impossible number), which the list answers with 400 rather than a database error."""
    stage = text.strip()
    return stage if not stage or parse_id(stage) in Stage.values else None


def may_see_identity(actor: User, county: Region) -> bool:
    return scope_for(actor, Capability.PATIENT_IDENTITY).contains(county)


def masked(number: str) -> str:
    return mask_id_number(number)


def _region_q(region: Region | None) -> Q:
    if region is None:
        return Q()
    field = LEVEL_FIELDS.get(region.level)
    return Q(**{f"{field}_id": region.pk}) if field else Q(pk__in=[])


def patient_list(*, actor: User, filters: PatientFilters, today: datetime.date | None = None) -> QuerySet[Patient]:
    qs = scope_for(actor, Capability.PATIENT_VIEW).filter(Patient.objects).filter(_region_q(filters.region))
    if filters.query:
        q = filters.query
        qs = qs.filter(Q(name__startswith=q) | Q(id_number=q.upper()) | Q(village__startswith=q))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.category:
        qs = qs.filter(relief_category=filters.category)
    if filters.stage:
        qs = qs.filter(stage=filters.stage)
    if filters.missing in MISSING:
        qs = qs.filter(MISSING[filters.missing][1](today or timezone.localdate()))
    if filters.overdue:
        qs = qs.filter(status=LifeStatus.ALIVE, next_followup_due__lt=today or timezone.localdate())
        return qs.select_related("county", "township").only(*_only()).order_by("next_followup_due", "id")
    return qs.select_related("county", "township").only(*_only()).order_by("name", "id")


# The patients behind a dashboard cell (targets.indicators.PATIENT_INDICATORS' `drill`), as of today.
MISSING = {
    "filing": (_("已建档的患者"), lambda today: Q()),
    "followup": (_("逾期未随访的存活患者"), lambda today: Q(status=LifeStatus.ALIVE, next_followup_due__lt=today)),
    "rehab_archive": (_("尚未建立肺康复档案的存活患者"), lambda today: Q(status=LifeStatus.ALIVE,
                                                                rehab_filed_on__isnull=True)),
    "relief": (_("负责部门尚未登记救治救助措施的存活患者"), lambda today: Q(status=LifeStatus.ALIVE,
                                                                       relief_acted_on__isnull=True)),
}


def _only() -> list[str]:
    return [f for f in LIST_FIELDS if not f.endswith("_id")] + ["county__code", "township__code"]


def patient_get(*, actor: User, pk: int) -> Patient:
    """Raises Patient.DoesNotExist outside the user's scope."""
    qs = scope_for(actor, Capability.PATIENT_VIEW).filter(Patient.objects)
    return qs.select_related("county", "township", "city", "employer", "dust_type").get(pk=pk)


def patient_followups(patient: Patient) -> QuerySet[FollowUp]:
    return patient.followups.select_related("recorded_by")


def patient_moves(patient: Patient) -> QuerySet[PatientMove]:
    return patient.moves.select_related("from_county", "to_county", "moved_by")


def patient_relief_actions(patient: Patient, department: str | None = None) -> QuerySet[ReliefAction]:
    qs = patient.relief_actions.select_related("recorded_by")
    return qs.filter(department=department) if department else qs


# ---- The relief departments ---------------------------------------------------------------------


def relief_list(*, actor: User, department: str | None = None, query: str = "") -> QuerySet[Patient]:
    """Patients of the categories the user's departments serve, in their regions; only the
    fields relief work needs."""
    qs = Patient.objects.filter(relief_q(actor, level_fields=LEVEL_FIELDS, department=department))
    if query:
        qs = qs.filter(Q(name__startswith=query) | Q(village__startswith=query))
    return (qs.select_related("county", "township")
            .only("id", "name", "id_number", "sex", "birth_date", "village", "diagnosis_kind", "stage", "status",
                  "relief_category", "county__name", "township__name")
            .annotate(actions=Count("relief_actions", filter=_own_actions(department)))
            .order_by("name", "id"))


def _own_actions(department: str | None) -> Q:
    return Q(relief_actions__department=department) if department else Q()


def relief_patient_get(*, actor: User, pk: int, department: str | None = None) -> Patient:
    qs = Patient.objects.filter(relief_q(actor, level_fields=LEVEL_FIELDS, department=department))
    return qs.select_related("county", "township", "employer").get(pk=pk)


# ---- Rehabilitation coverage --------------------------------------------------------------------


@dataclass
class TownshipNeed:
    township: Region
    patients: int
    stations: list[RehabSite]


@dataclass
class VillageNeed:
    township: Region
    village: str
    patients: int
    points: list[RehabSite]


def rehab_overview(*, actor: User, region: Region | None = None) -> dict:
    """Townships with ≥ 100 and villages with ≥ 10 resident living patients, each with its
    station or point (or none yet), and every station and point in scope."""
    scope = scope_for(actor, Capability.PATIENT_VIEW)
    living = scope.filter(Patient.objects.filter(status=LifeStatus.ALIVE, township__isnull=False)).filter(
        _region_q(region))
    townships = list(living.values("township_id").annotate(n=Count("id")).filter(n__gte=TOWNSHIP_STATION_THRESHOLD))
    villages = list(living.exclude(village="").values("township_id", "village").annotate(n=Count("id"))
                    .filter(n__gte=VILLAGE_POINT_THRESHOLD))
    sites = list(scope.filter(RehabSite.objects).filter(_region_q(region))
                 .select_related("county", "township").order_by("county__code", "township__code", "kind", "name"))
    region_ids = {t["township_id"] for t in townships} | {v["township_id"] for v in villages}
    regions = Region.objects.in_bulk(region_ids)
    stations = {}
    points = {}
    for site in sites:
        if site.kind == SiteKind.STATION:
            stations.setdefault(site.township_id, []).append(site)
        else:
            points.setdefault((site.township_id, site.village), []).append(site)
    return {
        "townships": sorted((TownshipNeed(regions[t["township_id"]], t["n"], stations.get(t["township_id"], []))
                             for t in townships), key=lambda n: -n.patients),
        "villages": sorted((VillageNeed(regions[v["township_id"]], v["village"], v["n"],
                                        points.get((v["township_id"], v["village"]), []))
                            for v in villages), key=lambda n: -n.patients),
        "sites": sites,
    }


# ---- Access log --------------------------------------------------------------------------------


def access_log_list(*, actor: User, region: Region | None = None) -> QuerySet[PatientAccess]:
    qs = scope_for(actor, Capability.PATIENT_ACCESS_LOG).filter(PatientAccess.objects).filter(_region_q(region))
    return qs.select_related("user", "patient", "county").only(
        "id", "kind", "at", "user__username", "user__display_name", "patient__name", "patient__id_number",
        "county__name").order_by("-at", "-id")


def rehab_station_counts(period, regions: list[Region]) -> dict[int, tuple[int, int]]:
    """The targets registry's supplier for "rehab_stations" (targets.indicators.register_supplier):
    the stations built by the period's end in each region's subtree, {region_id: (count, 0)}, in
    one query whatever the regions (the dashboard passes its region and the children)."""
    def within(region: Region) -> Q:
        field = LEVEL_FIELDS.get(region.level)
        return Q(**{f"{field}_id": region.pk}) if field else Q()  # the national root: every station

    if not regions:
        return {}
    top = min(regions, key=lambda r: r.level)
    counts = RehabSite.objects.filter(within(top), kind=SiteKind.STATION, opened_on__lte=period.ends_on).aggregate(
        **{f"r{r.pk}": Count("pk", filter=within(r)) for r in regions})
    return {r.pk: (counts[f"r{r.pk}"], 0) for r in regions}
