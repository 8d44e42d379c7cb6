"""Deterministic demo employers (identity fields). Employer number i depends only on the seed
and i, so a smaller run is a prefix of a larger one and every run gives the same data."""

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
    check = 11 - sum(int(d) * w for d, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
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
