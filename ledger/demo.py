"""Deterministic demo employers and their half-year facts. Employer number i depends only on the seed
and i, so a smaller run is a prefix of a larger one and every run gives the same data."""

import datetime
import random
from collections.abc import Iterator

import pgtrigger
from django.db import connection, transaction
from django.utils import timezone
from stdnum.cn import uscc as uscc_number

from ledger.models import Employer, EnterpriseSize, Industry, OperatingStatus, OwnershipType
from portal.bulk import staging_table
from portal.demo import chinese_name
from portal.models import Region, RegionLevel

# (GB/T 4754-2017 class, trade-name suffix, weight): industries where dust hazards are common.
DEMO_INDUSTRIES = [
    ("0610", "煤业", 6), ("0810", "矿业", 2), ("0890", "铁矿", 1), ("0911", "铜业", 1), ("1011", "石料", 6),
    ("1019", "砂石", 6), ("1091", "云母", 1), ("1093", "玉石", 1), ("3011", "水泥", 8), ("3021", "水泥制品", 4),
    ("3031", "砖瓦", 6), ("3032", "石材", 8), ("3071", "陶瓷", 4), ("3081", "石棉制品", 1),
    ("3089", "耐火材料", 3), ("3110", "钢铁", 1), ("3120", "特钢", 2), ("3130", "轧钢", 2),
    ("3216", "铝业", 1), ("3391", "铸造", 6), ("3392", "铸件", 3), ("2110", "家具", 5), ("2431", "工艺品", 2),
    ("3670", "汽车配件", 3), ("8111", "汽车维修", 3), ("3311", "钢结构", 3), ("2641", "涂料", 1),
]
TRADE_NAMES = "鑫达 恒泰 金山 宏远 华鑫 盛源 永兴 新兴 东方 鲁鑫 聚源 天成 瑞丰 广汇 隆盛 正大 昌盛 福源 泰和 长兴".split()
COMPANY_FORMS = ["有限公司", "有限责任公司", "股份有限公司", "厂", "加工厂"]
SIZES = [(EnterpriseSize.LARGE, 1), (EnterpriseSize.MEDIUM, 4), (EnterpriseSize.SMALL, 35), (EnterpriseSize.MICRO, 60)]
OWNERSHIPS = [(OwnershipType.PRIVATE, 55), (OwnershipType.LIMITED_LIABILITY, 30), (OwnershipType.STATE, 5),
              (OwnershipType.JOINT_STOCK, 5), (OwnershipType.COLLECTIVE, 3), (OwnershipType.FOREIGN, 2)]
STATUSES = [(OperatingStatus.OPERATING, 90), (OperatingStatus.SUSPENDED, 6), (OperatingStatus.CLOSED, 4)]

COLUMNS = [
    "uscc", "registration_number", "name", "province_id", "city_id", "county_id", "township_id",
    "registered_address", "workplace_address", "industry_id", "key_group", "size", "ownership", "business_scope",
    "legal_representative", "legal_representative_phone", "health_manager", "health_manager_phone", "status",
    "in_governance_scope", "version", "created_at", "updated_at",
]


def _weighted(rng: random.Random, options):
    return rng.choices([o[0] for o in options], weights=[o[-1] for o in options])[0]


def organization_code(serial: int) -> str:
    """A GB 11714 organization code: 8 digits and its check character."""
    body = f"{serial:08d}"
    check = 11 - sum(int(d) * w for d, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def demo_uscc(county_code: str, serial: int) -> str:
    body = f"91{county_code}{organization_code(serial)}"
    return body + uscc_number.calc_check_digit(body)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


def employer_rows(*, seed: int, count: int, province: Region) -> Iterator[tuple]:
    """Reads the reference data now, then yields rows lazily: the rows are consumed inside a
    COPY, during which the connection can run no other query."""
    counties = list(Region.objects.filter(path__startswith=province.path, level=RegionLevel.COUNTY).order_by("code"))
    townships: dict[int, list[int]] = {}
    for township_id, parent_id in Region.objects.filter(
        path__startswith=province.path, level=RegionLevel.TOWNSHIP
    ).values_list("id", "parent_id"):
        townships.setdefault(parent_id, []).append(township_id)
    industries = {i.code: i for i in Industry.objects.filter(code__in=[code for code, *_ in DEMO_INDUSTRIES])}
    missing = {code for code, *_ in DEMO_INDUSTRIES} - industries.keys()
    if missing:
        raise RuntimeError(f"industry catalogue lacks {sorted(missing)}: run manage.py load_reference first")
    return _generate_rows(seed, count, province, counties, townships, industries)


def _generate_rows(seed, count, province, counties, townships, industries) -> Iterator[tuple]:
    now = timezone.now()
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        county = counties[i % len(counties)]
        code, suffix, _w = rng.choices(DEMO_INDUSTRIES, weights=[w for *_, w in DEMO_INDUSTRIES])[0]
        industry = industries[code]
        short_county = county.name.rstrip("区县市") or county.name
        name = f"{short_county}{rng.choice(TRADE_NAMES)}{suffix}{rng.choice(COMPANY_FORMS)}"
        name = f"{name}（{i + 1}）" if rng.random() < 0.5 else name.replace(short_county, f"{short_county}{i + 1}号", 1)
        legacy = rng.random() < 0.01
        street = f"{county.name}{rng.choice(['工业园区', '经济开发区', '产业园'])}{rng.randrange(1, 300)}号"
        yield (
            None if legacy else demo_uscc(county.code, i + 1),
            f"{county.code}{i + 1:08d}{rng.randrange(10)}" if legacy else None,
            name, province.id, county.parent_id, county.id, rng.choice(townships[county.id]) if county.id in townships else None,
            street, street, industry.id, industry.key_group, _weighted(rng, SIZES), _weighted(rng, OWNERSHIPS),
            f"{industry.name}；{suffix}产品销售", chinese_name(rng), _phone(rng), chinese_name(rng), _phone(rng),
            _weighted(rng, STATUSES), bool(industry.key_group) and rng.random() < 0.85, 1, now, now,
        )


@transaction.atomic
def seed_demo_employers(*, seed: int, count: int, province_code: str) -> int:
    """Bulk insert through COPY; audit triggers are skipped: seeded data is nobody's act."""
    province = Region.objects.get(code=province_code)
    rows = employer_rows(seed=seed, count=count, province=province)
    column_list = ", ".join(COLUMNS)
    with (
        staging_table(staging="employer_staging", like_table=Employer._meta.db_table, columns=COLUMNS, rows=rows),
        pgtrigger.ignore("ledger.Employer:insert_insert"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"INSERT INTO ledger_employer ({column_list}) SELECT {column_list} FROM employer_staging "
            "ON CONFLICT DO NOTHING"
        )
        return cursor.rowcount


DEMO_PERIODS = [(2019, 2, datetime.date(2020, 1, 15)), (2020, 1, datetime.date(2020, 7, 15))]


def _h(salt: str, modulus: int) -> str:
    """A deterministic pseudo-random integer in [0, modulus) per employer, computed in SQL."""
    return f"mod(abs(hashtext(e.id::text || '{salt}')), {modulus})"


# Values are formatted in (ints and ISO dates made here), not bound: pgtrigger.ignore prepends
# a positional placeholder, which psycopg refuses to mix with named ones.
# Facts that satisfy every rule the record form applies (EmployerRecord.consistency_errors, the
# database's CHECK constraints): each count is a share of the count it may not exceed, points over
# the limit only where a test date is given (tests/portal/test_seed_demo_accepted.py re-saves a
# sample). Later periods improve a little.
_RECORD_SQL = f"""
INSERT INTO ledger_employerrecord
    (employer_id, period_id, province_id, city_id, county_id, township_id, version, updated_at,
     total_workers, exposed_workers, hazard_declared, declared_on, last_test_date, test_lab, points_over_limit,
     warning_signs, serious_hazard_posts, posts_with_warning_signs, exam_due, exam_done, surveillance_files, principal_trained, managers_due, managers_trained,
     workers_training_due, workers_trained, contract_workers, insured_workers, new_projects,
     three_simultaneities_projects, pneumoconiosis_cases, last_inspection_date)
SELECT e.id, {{period}}, e.province_id, e.city_id, e.county_id, e.township_id, 1, now(),
       t.total, t.exposed, t.declared, CASE WHEN t.declared THEN {{starts}}::date + {_h('dd', 150)} END,
       CASE WHEN {_h('tst', 100)} < 70 + {{bonus}} THEN {{ends}}::date - {_h('td', 300)} END,
       CASE WHEN {_h('tst', 100)} < 70 + {{bonus}} THEN '聊城市职业卫生技术服务中心' ELSE '' END,
       CASE WHEN {_h('tst', 100)} < 70 + {{bonus}} THEN {_h('over', 3)} ELSE 0 END, {_h('sign', 100)} < 75 + {{bonus}},
       {{posts}}, {{signed_posts}},
       t.exposed * (60 + {_h('due', 41)}) / 100,
       t.exposed * (60 + {_h('due', 41)}) / 100 * LEAST(100, 65 + {_h('done', 36)} + {{bonus}} / 2) / 100,
       t.exposed * (55 + {_h('file', 46)}) / 100, {_h('prn', 100)} < 72 + {{bonus}},
       1 + {_h('md', 3)}, (1 + {_h('md', 3)}) * (50 + {_h('mt', 51)}) / 100,
       t.total * (70 + {_h('wd', 31)}) / 100, t.total * (70 + {_h('wd', 31)}) / 100 * (60 + {_h('wt', 41)}) / 100,
       t.total * (75 + {_h('lc', 26)}) / 100, t.total * LEAST(100, 55 + {_h('ins', 46)} + {{bonus}} / 2) / 100,
       {_h('np', 3)}, {_h('np', 3)} * {_h('ts', 2)},
       CASE WHEN {_h('case', 100)} < 3 THEN 1 ELSE 0 END,
       CASE WHEN {_h('insp', 100)} < 50 + {{bonus}} THEN {{ends}}::date - {_h('id', 150)} END
FROM ledger_employer e
CROSS JOIN LATERAL (SELECT 5 + {_h('tot', 300)} AS total) w
CROSS JOIN LATERAL (SELECT w.total AS total, w.total * (20 + {_h('exp', 61)}) / 100 AS exposed,
                           {_h('decl', 100)} < 78 + {{bonus}} AS declared) t
WHERE e.province_id = {{province}} AND e.status <> 'closed'
ON CONFLICT (employer_id, period_id) DO NOTHING
"""


# Posts with serious hazards (one to six where workers breathe dust), all signed where the
# employer answered yes, a share of them otherwise.
_POSTS_SQL = f"CASE WHEN t.exposed > 0 THEN 1 + {_h('pst', 6)} ELSE 0 END"
_SIGNED_POSTS_SQL = f"""CASE WHEN t.exposed = 0 THEN 0 WHEN {_h('sign', 100)} < 75 + {{bonus}} THEN 1 + {_h('pst', 6)}
                            ELSE (1 + {_h('pst', 6)}) * {_h('psg', 100)} / 100 END"""


@transaction.atomic
def seed_demo_periods(*, province_code: str) -> int:
    """Two half-years of facts for every employer of the demo province, one INSERT … SELECT
    each; earlier periods accepted, the latest one in mixed states. Returns records written."""
    from ledger.models import CountySubmission, ReportingPeriod, SubmissionStatus

    province = Region.objects.get(code=province_code)
    written = 0
    for index, (year, half, deadline) in enumerate(DEMO_PERIODS):
        starts = datetime.date(year, 1 if half == 1 else 7, 1)
        ends = datetime.date(year, 6, 30) if half == 1 else datetime.date(year, 12, 31)
        period, _created = ReportingPeriod.objects.get_or_create(
            code=f"{year}H{half}", defaults={"year": year, "half": half, "starts_on": starts, "ends_on": ends,
                                             "deadline": deadline})
        with pgtrigger.ignore("ledger.EmployerRecord:insert_insert"), connection.cursor() as cursor:
            # The first half-year was kept before the ledger counted posts: its warning signs stay
            # counted by employer (NULL post counts), as old records are.
            by_employer = index == 0 and len(DEMO_PERIODS) > 1
            cursor.execute(_RECORD_SQL.format(period=int(period.pk), starts=f"'{starts.isoformat()}'",
                                              ends=f"'{ends.isoformat()}'", bonus=8 * index, province=int(province.pk),
                                              posts="NULL" if by_employer else _POSTS_SQL,
                                              signed_posts="NULL" if by_employer else _SIGNED_POSTS_SQL.format(
                                                  bonus=8 * index)))
            written += cursor.rowcount
        latest = index == len(DEMO_PERIODS) - 1
        counties = Region.objects.filter(path__startswith=province.path, level=RegionLevel.COUNTY).order_by("code")
        for position, county in enumerate(counties):
            status = (SubmissionStatus.ACCEPTED if not latest else
                      [SubmissionStatus.DRAFT, SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED,
                       SubmissionStatus.ACCEPTED][position % 4])
            submitted = None if status == SubmissionStatus.DRAFT else timezone.make_aware(
                datetime.datetime.combine(deadline - datetime.timedelta(days=position % 9 - 3), datetime.time(10)))
            CountySubmission.objects.get_or_create(
                period=period, county=county,
                defaults={"province_id": province.pk, "city_id": county.parent_id, "status": status,
                          "submitted_at": submitted})
    return written
