import itertools

from ledger.demo import demo_uscc
from ledger.models import Employer, EmployerRecord, EnterpriseSize, Industry, OwnershipType
from portal.models import Region

_serial = itertools.count(900_000)


def make_employer(*, county: str, township: str | None = None, name: str = "测试单位", industry: str = "3011",
                  **fields) -> Employer:
    county_region = Region.objects.select_related("parent").get(code=county)
    industry_row = Industry.objects.get(code=industry)
    serial = next(_serial)
    return Employer.objects.create(
        uscc=fields.pop("uscc", demo_uscc(county, serial)),
        name=name,
        province_id=county_region.parent.parent_id,
        city_id=county_region.parent_id,
        county=county_region,
        township=Region.objects.get(code=township) if township else None,
        workplace_address=f"{county_region.name}测试路{serial}号",
        industry=industry_row,
        key_group=industry_row.key_group,
        size=EnterpriseSize.SMALL,
        ownership=OwnershipType.PRIVATE,
        legal_representative="张三",
        **fields,
    )


def make_record(employer: Employer, period, **fields) -> EmployerRecord:
    """The employer's record for the period, in the employer's regions."""
    return EmployerRecord.objects.create(employer=employer, period=period, province=employer.province,
                                         city=employer.city, county=employer.county, **fields)
