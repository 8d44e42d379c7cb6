"""Deterministic demo patients: generated people only (names from portal.demo, ID numbers from
patients.identity with random sequences), spread over every county of the demo province, with
follow-ups, relief measures and one rehab station per county. The benchmark reuses it at scale."""

import datetime
import random

from django.db import transaction

from ledger.models import DustType, Employer
from patients.identity import generated_id_number
from patients.models import (
    DiagnosisKind,
    Disease,
    FollowUp,
    FollowUpWay,
    HealthStatus,
    LifeStatus,
    OxygenUse,
    Patient,
    RehabSite,
    ReliefAction,
    SiteKind,
    derive_relief,
)
from patients.services import add_months, cycle_months
from portal.audit import AuditAction, audit
from portal.demo import chinese_name, demo_username
from portal.models import Department, Region, RegionLevel, Role, User
from portal.scoping import RELIEF_DUTIES

VILLAGES = "东关 西关 南街 北街 王庄 李庄 张庄 刘屯 陈集 杨楼 赵寨 黄河 新华 红旗 前进 胜利".split()
DISEASES = [(Disease.SILICOSIS, 50), (Disease.COAL_WORKER, 30), (Disease.CEMENT, 4), (Disease.WELDER, 5),
            (Disease.FOUNDRY, 3), (Disease.POTTER, 3), (Disease.ASBESTOSIS, 2), (Disease.OTHER, 3)]
INSTITUTIONS = ["聊城市职业病防治院", "山东省职业病医院", "济南市职业病防治院", "淄博市职业病防治院"]


def _weighted(rng, options):
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


def _patient(rng: random.Random, county: Region, township_id: int | None, village: str, employers: list, dust_ids,
             today: datetime.date, used: set[str]) -> Patient:
    birth = datetime.date(rng.randint(1940, 1975), rng.randint(1, 12), rng.randint(1, 28))
    male = rng.random() < 0.93
    id_number = generated_id_number(rng, county_code=county.code, birth=birth, male=male)
    while id_number in used:
        id_number = generated_id_number(rng, county_code=county.code, birth=birth, male=male)
    used.add(id_number)
    diagnosed = datetime.date(rng.randint(max(birth.year + 25, 1990), today.year - 1), rng.randint(1, 12), rng.randint(1, 28))
    occupational = rng.random() < 0.85
    employer = rng.choice(employers) if employers and rng.random() < 0.5 else None
    gone = employer is None and rng.random() < 0.5
    died = rng.random() < 0.12
    patient = Patient(
        name=chinese_name(rng), id_number=id_number,
        sex="M" if male else "F", birth_date=birth, phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
        village=village, address=f"{village}村{rng.randint(1, 12)}组",
        employer_id=employer[0] if employer else None,
        employer_name=employer[1] if employer else f"{county.name}{rng.choice(VILLAGES)}石料厂",
        employer_uscc=(employer[3] or "") if employer else "",
        employer_gone=gone if employer is None else employer[2] == "closed",
        exposure_years=rng.randint(3, 30), dust_type_id=rng.choice(dust_ids) if dust_ids else None,
        diagnosis_kind=DiagnosisKind.OCCUPATIONAL if occupational else DiagnosisKind.UNPROVEN,
        disease=_weighted(rng, DISEASES) if occupational else "", stage=_weighted(rng, [(1, 55), (2, 30), (3, 15)]),
        diagnosed_on=diagnosed, diagnosis_institution=rng.choice(INSTITUTIONS),
        certificate_number=f"{county.code[:4]}-{diagnosed.year}-{rng.randint(1, 999):03d}",
        injury_insured=occupational and rng.random() < 0.4,
        status=LifeStatus.DIED if died else (LifeStatus.MOVED_AWAY if rng.random() < 0.03 else LifeStatus.ALIVE),
        rehab_filed_on=add_months(diagnosed, rng.randint(1, 24)) if rng.random() < 0.6 else None,
    )
    if patient.rehab_filed_on and patient.rehab_filed_on > today:
        patient.rehab_filed_on = None
    patient.injury_recognized = patient.injury_insured and rng.random() < 0.8
    patient.disability_grade = rng.randint(4, 10) if patient.injury_recognized else None
    if died:
        patient.died_on = min(today, add_months(diagnosed, rng.randint(6, 96)))
        patient.death_cause = rng.choice(["呼吸衰竭", "肺部感染", "肺心病", "其他疾病"])
    city = county.parent
    patient.province_id, patient.city_id, patient.county_id, patient.township_id = (
        city.parent_id, city.pk, county.pk, township_id)
    patient.relief_category = derive_relief(
        occupational=occupational, insured=patient.injury_insured,
        employer_exists=(employer[2] != "closed") if employer else not gone)[0]
    return patient


def _followup_days(rng: random.Random, patient: Patient, today: datetime.date) -> list[datetime.date]:
    end = patient.died_on or today
    days, day = [], add_months(patient.diagnosed_on, rng.randint(3, 12))
    months = cycle_months(patient.stage)
    while day <= end and len(days) < 6:
        if rng.random() < 0.85:
            days.append(day)
        day = add_months(day, months + rng.choice((-1, 0, 0, 1, 3)))
    return days


def _followup(rng: random.Random, patient: Patient, day: datetime.date, recorder: User) -> FollowUp:
    return FollowUp(
        patient=patient, followed_on=day,
        way=_weighted(rng, [(FollowUpWay.HOME, 5), (FollowUpWay.PHONE, 4), (FollowUpWay.CLINIC, 2)]),
        health_status=_weighted(rng, [(HealthStatus.STABLE, 6), (HealthStatus.WORSE, 2), (HealthStatus.IMPROVED, 1),
                                      (HealthStatus.BEDRIDDEN, 1)]),
        fev1_percent=rng.randint(35, 95), fvc_percent=rng.randint(45, 100),
        oxygen_use=_weighted(rng, [(OxygenUse.NONE, 5), (OxygenUse.OCCASIONAL, 3), (OxygenUse.LONG_TERM, 2)]),
        rehab_received=rng.random() < 0.4, recorded_by=recorder,
        province_id=patient.province_id, city_id=patient.city_id, county_id=patient.county_id,
        township_id=patient.township_id)


@transaction.atomic
def seed_demo_patients(*, seed: int, province_codes: list[str], per_county: tuple[int, int] = (25, 45),
                       crowded_county: str | None = "371502", with_history: bool = True) -> int:
    """Patients in every county of the provinces; in `crowded_county` two townships above 100
    resident patients (one with its station, one still without) and a village above 10."""
    rng = random.Random(seed)
    today = datetime.date.today()
    recorder = User.objects.filter(username=demo_username("county", Department.HEALTH, Role.CLERK)).first() or \
        User.objects.filter(is_superuser=True).first()
    relief_users = {d: User.objects.filter(username=demo_username("province", d, Role.CLERK)).first() or recorder
                    for d in RELIEF_DUTIES}
    dust_ids = list(DustType.objects.values_list("pk", flat=True)[:12])
    townships: dict[int, list[int]] = {}
    for township_id, parent_id in Region.objects.filter(level=RegionLevel.TOWNSHIP).values_list("id", "parent_id"):
        townships.setdefault(parent_id, []).append(township_id)
    employers: dict[int, list] = {}
    for row in Employer.objects.filter(province__code__in=province_codes).values_list("id", "name", "status", "uscc",
                                                                                       "county_id"):
        employers.setdefault(row[4], []).append(row[:4])
    counties = list(Region.objects.filter(level=RegionLevel.COUNTY, path__regex=rf"(^|/)({'|'.join(province_codes)})/")
                    .select_related("parent").order_by("code"))
    total, used = 0, set(Patient.objects.values_list("id_number", flat=True))
    with audit(None, AuditAction.SEED_DEMO_PATIENTS):
        for county in counties:
            own = sorted(townships.get(county.pk, []))
            plan = [(rng.choice(own) if own else None, rng.choice(VILLAGES)) for _ in range(rng.randint(*per_county))]
            if county.code == crowded_county and len(own) >= 2:
                plan += [(own[0], VILLAGES[i % 6]) for i in range(135)] + [(own[1], VILLAGES[i % 8]) for i in range(125)]
            patients = [_patient(rng, county, t, v, employers.get(county.pk, []), dust_ids, today, used) for t, v in plan]
            days = [_followup_days(rng, p, today) if with_history else [] for p in patients]
            for p, followed in zip(patients, days, strict=True):
                p.followup_dates = sorted(followed)
                p.last_followup_on = max(followed) if followed else None
                p.next_followup_due = (add_months(p.last_followup_on or p.diagnosed_on, cycle_months(p.stage))
                                       if p.status == LifeStatus.ALIVE else None)
            Patient.objects.bulk_create(patients, batch_size=2000)
            total += len(patients)
            if not with_history:
                continue
            FollowUp.objects.bulk_create((_followup(rng, p, day, recorder) for p, followed in zip(patients, days, strict=True)
                                          for day in followed), batch_size=5000)
            actions = []
            for p in patients:
                department = next((d for d, duty in RELIEF_DUTIES.items() if p.relief_category in duty.categories), None)
                if department and rng.random() < 0.55:
                    duty = RELIEF_DUTIES[department]
                    actions.append(ReliefAction(
                        patient=p, department=department, kind=duty.kinds[0],
                        acted_on=min(today, add_months(p.diagnosed_on, rng.randint(1, 18))),
                        recorded_by=relief_users[department], province_id=p.province_id, city_id=p.city_id,
                        county_id=p.county_id, township_id=p.township_id))
            ReliefAction.objects.bulk_create(actions, batch_size=5000)
            for action in actions:  # one measure per patient, by a department serving its category
                action.patient.relief_acted_on = action.acted_on
            Patient.objects.bulk_update([a.patient for a in actions], ["relief_acted_on"], batch_size=2000)
            if own:
                township = Region.objects.get(pk=own[0])
                RehabSite.objects.create(
                    kind=SiteKind.STATION, name=f"{township.name}尘肺病康复站", host_institution=f"{township.name}卫生院",
                    rooms=["oxygen", "treatment", "education", "rescue"], equipment=["ecg", "oxygen_supply", "ventilator"],
                    drugs_stocked=True, opened_on=datetime.date(2020, rng.randint(3, 10), 1),
                    patients_served=rng.randint(20, 130), province_id=county.parent.parent_id, city_id=county.parent_id,
                    county_id=county.pk, township_id=township.pk)
                if county.code == crowded_county:
                    RehabSite.objects.create(
                        kind=SiteKind.POINT, name=f"{VILLAGES[0]}村尘肺病康复点", village=VILLAGES[0],
                        host_institution=f"{VILLAGES[0]}村卫生室", equipment=["concentrator", "beds"],
                        drugs_stocked=True, opened_on=datetime.date(2020, 11, 1), patients_served=15,
                        province_id=county.parent.parent_id, city_id=county.parent_id, county_id=county.pk,
                        township_id=township.pk)
    return total
