"""The indicator registry: every campaign indicator of DOMAIN.md as SQL over one period's
records (RECORD_SOURCE: alias r, its period p, the HRSS coverage row ic of the same employer
and period when there is one, and the employer's inspections of the year ins): which employers
it counts (`among`, over the classification the record was counted under: r.in_governance_scope,
r.key_group, r.operating_status, never the employer's current values, so a submitted period's
figures stay what they were), and each counted record's numerator and denominator (over r, p, ic, ins).

Every numerator and denominator is a sum over employers, so a parent region's figures are
the sums of its children's: the incremental rollup relies on that. The same definitions give
the ledger's "未落实" filter (a counted employer whose own numerator is below its own
denominator), so the employers a dashboard figure links to are exactly the ones it counted."""

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# What a record's numerator and denominator read besides the record r: its period p and the
# HRSS coverage row ic. Both LEFT JOINed (every record has a period) so that PostgreSQL drops
# a join the indicator does not read: an inner join to p kept the ledger filter's scan serial.
#
# The supervision indicator also reads ins: the first submitted inspection of the employer in the
# period's year (an unannounced visit whose checklist was submitted, even if since returned for
# correction). Inspections are facts of their own: they are never written into the county's
# records, so a submitted (locked) period's records stay as the county reported them. Grouped per
# (employer, year), the join is unique and PostgreSQL drops it for the other indicators.
INSPECTED = """SELECT a.employer_id, EXTRACT(YEAR FROM i.inspected_on)::int AS year, MIN(i.inspected_on) AS first_on
               FROM inspections_inspection i JOIN inspections_assignment a ON a.id = i.assignment_id
               WHERE a.employer_id IS NOT NULL AND i.submitted_at IS NOT NULL AND i.inspected_on IS NOT NULL
               GROUP BY 1, 2"""
_PERIOD_AND_COVERAGE_JOINS = (
    ("p", "LEFT JOIN ledger_reportingperiod p ON p.id = r.period_id"),
    ("ic", "LEFT JOIN insurance_insurancecoverage ic ON ic.employer_id = r.employer_id AND ic.period_id = r.period_id"),
    ("ins", f"LEFT JOIN ({INSPECTED}) ins ON ins.employer_id = r.employer_id AND ins.year = p.year"),
)
PERIOD_AND_COVERAGE = "\n        ".join(join for _alias, join in _PERIOD_AND_COVERAGE_JOINS)


def period_and_coverage_for(*conditions: str) -> str:
    """The joins of PERIOD_AND_COVERAGE that `conditions` read. Inside an EXISTS, PostgreSQL drops
    an unused join only after it has chosen the join order: carried along, they kept it from
    starting at the few records of a "未落实" list (a city's list exported in 1.7 s through a
    full join of the province's employers and records, against 85 ms from its 833 records)."""
    used = " ".join(conditions)
    aliases = {alias for alias, _join in _PERIOD_AND_COVERAGE_JOINS if re.search(rf"\b{alias}\.", used)}
    if "ins" in aliases:
        aliases.add("p")  # ins is joined on the period's year
    return "\n        ".join(join for alias, join in _PERIOD_AND_COVERAGE_JOINS if alias in aliases)
RECORD_SOURCE = f"""ledger_employerrecord r
        {PERIOD_AND_COVERAGE}"""

# Conditions on the record's classification, over the record alias {r}: closed employers count
# nowhere; the campaign counts 纳入治理范围的重点行业用人单位 unless an indicator says otherwise.
COUNTED = "{r}.operating_status <> 'closed'"
IN_SCOPE = "({r}.in_governance_scope AND {r}.key_group <> '')"
KEY_INDUSTRY = "({r}.key_group <> '')"


def counted_sql(record: str = "r") -> str:
    return COUNTED.format(r=record)


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    name_en: str
    unit: str
    among: str  # the employers counted (SQL over the record alias {r}: its classification)
    numerator: str  # a counted record's share (SQL over r, p, ic; never NULL)
    denominator: str
    counts: str  # which employers count, for the page's footnote
    item: str = ""  # the measure itself, for "未落实：…" (粉尘危害申报 for 粉尘危害申报率)
    # A record still counted the old way (SQL over r), labelled on the dashboard and the drill-down;
    # the rollup counts them as the figure "<code>_by_employer".
    old_way: str = ""

    def among_sql(self, record: str = "r") -> str:
        return self.among.format(r=record)

    def sum_sql(self, part: str) -> str:
        value = self.numerator if part == "num" else self.denominator
        return f"SUM(CASE WHEN {self.among_sql()} THEN {value} ELSE 0 END)::bigint"

    def shortfall_sql(self) -> str:
        """A counted employer's record that falls short: the indicator not met (counted in
        employers) or fewer people than due (counted in people)."""
        return f"({self.numerator}) < ({self.denominator})"


def _employers(condition: str) -> tuple[str, str, str]:
    """An indicator counted in employers: 1 of 1 when `condition` holds (NULL: it does not)."""
    return IN_SCOPE, f"CASE WHEN {condition} THEN 1 ELSE 0 END", "1"


def _people(numerator: str, denominator: str) -> tuple[str, str, str]:
    return IN_SCOPE, f"r.{numerator}", f"r.{denominator}"


SCOPE_NOTE = _("纳入治理范围的重点行业用人单位")
INDICATORS: list[Indicator] = [
    Indicator("declaration", _("粉尘危害申报率"), "Dust hazard declaration rate", _("家"),
              *_employers("r.hazard_declared"), SCOPE_NOTE, item=_("粉尘危害申报")),
    Indicator("testing", _("粉尘浓度定期检测率"), "Periodic dust testing rate", _("家"),
              *_employers("r.last_test_date >= p.ends_on - 365"), SCOPE_NOTE, item=_("粉尘浓度定期检测")),
    # Counted by posts with serious hazards, as the plans count it (产生严重职业病危害的作业岗位警示
    # 标识设置率). A record kept before the ledger held the posts (both counts NULL) keeps its
    # employer-level answer: 1 of 1 when its signs were set; WARNING_SIGNS_BY_EMPLOYER counts them.
    Indicator("warning_signs", _("警示标识设置率"), "Warning signs rate (serious-hazard posts)", _("个岗位"),
              IN_SCOPE,
              "CASE WHEN r.serious_hazard_posts IS NOT NULL THEN r.posts_with_warning_signs"
              " WHEN r.warning_signs THEN 1 ELSE 0 END",
              "COALESCE(r.serious_hazard_posts, 1)",
              _("纳入治理范围的重点行业用人单位中产生严重职业病危害的作业岗位（按岗位计）"), item=_("警示标识设置"),
              old_way="r.serious_hazard_posts IS NULL"),
    Indicator("health_exam", _("在岗期间职业健康检查率"), "In-service health exam rate", _("人"),
              *_people("exam_done", "exam_due"), SCOPE_NOTE, item=_("在岗期间职业健康检查")),
    Indicator("surveillance_files", _("职业健康监护档案建档率"), "Health surveillance file rate", _("人"),
              *_people("surveillance_files", "exposed_workers"), SCOPE_NOTE, item=_("职业健康监护档案")),
    Indicator("training_principal", _("主要负责人培训率"), "Principal training rate", _("家"),
              *_employers("r.principal_trained"), SCOPE_NOTE, item=_("主要负责人培训")),
    Indicator("training_managers", _("职业健康管理人员培训率"), "Health manager training rate", _("人"),
              *_people("managers_trained", "managers_due"), SCOPE_NOTE, item=_("职业健康管理人员培训")),
    Indicator("training_workers", _("劳动者培训率"), "Worker training rate", _("人"),
              *_people("workers_trained", "workers_training_due"), SCOPE_NOTE, item=_("劳动者培训")),
    # The HRSS count when the bureau has one for the employer and period, the ledger's otherwise.
    Indicator("injury_insurance", _("工伤保险覆盖率"), "Work-injury insurance coverage", _("人"),
              KEY_INDUSTRY, "COALESCE(ic.insured_workers, r.insured_workers)", "r.total_workers",
              _("重点行业用人单位；参保人数以人社部门数据为准，无人社数据时取台帐填报数"), item=_("工伤保险")),
    Indicator("labour_contracts", _("劳动合同签订率"), "Labour contract rate", _("人"),
              *_people("contract_workers", "total_workers"), SCOPE_NOTE, item=_("劳动合同")),
    Indicator("supervision", _("监督检查覆盖率"), "Supervision coverage", _("家"),
              *_employers("EXTRACT(YEAR FROM r.last_inspection_date) = p.year OR ins.first_on <= p.ends_on"),
              SCOPE_NOTE, item=_("监督检查")),
    Indicator("three_simultaneities", _("“三同时”实施率"), "Three simultaneities rate", _("个"),
              *_people("three_simultaneities_projects", "new_projects"), SCOPE_NOTE, item=_("“三同时”")),
]
BY_CODE = {indicator.code: indicator for indicator in INDICATORS}

# Figures kept beside the indicators, not shown as rates: how many key-industry employers'
# insured counts come from HRSS (numerator) out of all key-industry employers (denominator).
INSURANCE_SOURCE = Indicator(
    "insurance_source", _("人社数据覆盖单位"), "Employers with an HRSS count", _("家"),
    KEY_INDUSTRY, "CASE WHEN ic.id IS NOT NULL THEN 1 ELSE 0 END", "1", _("重点行业用人单位"))
# The pneumoconiosis cases the ledger reports (all counted employers): the patient filing rate's
# denominator.
REPORTED_CASES = Indicator(
    "reported_cases", _("台帐报告尘肺病例数"), "Cases reported in the ledger", _("人"),
    "TRUE", "r.pneumoconiosis_cases", "0", _("未关闭的用人单位"))


def _shortfall(indicator: Indicator) -> Indicator:
    """How many counted employers fall short of an indicator counted in people: the length of the
    ledger's "未落实" list, which the indicator's own sums cannot give (an employer counted in
    employers falls short by 1 of 1, so there it is the denominator less the numerator)."""
    return Indicator(shortfall_code(indicator), indicator.name, indicator.name_en, _("家"), indicator.among,
                     f"CASE WHEN {indicator.shortfall_sql()} THEN 1 ELSE 0 END", "0", indicator.counts)


def shortfall_code(indicator: Indicator) -> str:
    return f"short_{indicator.code}"


def counts_employers(indicator: Indicator) -> bool:
    return indicator.denominator == "1"


SHORTFALLS = [_shortfall(i) for i in INDICATORS if not counts_employers(i)]
# For an indicator with `old_way`: its counted employers whose records are still counted the old
# way (warning signs: a record without the post counts, one employer as one post), so the dashboard
# labels a figure that includes them.
OLD_WAY_FIGURES = [
    Indicator(f"{i.code}_by_employer", _("按单位计（旧口径）"), "Counted the old way", _("家"),
              i.among, f"CASE WHEN {i.old_way} THEN 1 ELSE 0 END", "1", i.counts)
    for i in INDICATORS if i.old_way
]
ROLLUP_FIGURES = [*INDICATORS, INSURANCE_SOURCE, REPORTED_CASES, *SHORTFALLS, *OLD_WAY_FIGURES]


def shortfall_of(indicator: Indicator, figures: dict) -> int | None:
    """The number of employers falling short of `indicator` in one rollup row's figures; None when
    the row predates the figure (a rollup from before it existed)."""
    if counts_employers(indicator):
        numerator, denominator = figures.get(indicator.code, (None, None))
        return None if denominator is None else denominator - numerator
    return figures[shortfall_code(indicator)][0] if shortfall_code(indicator) in figures else None


def rate(numerator: int, denominator: int) -> float | None:
    """Percent; None when the denominator is zero ("无数据", never 0% or 100%)."""
    return None if not denominator else 100.0 * numerator / denominator


# ---- Patients (保障存量): figures from the patient files, rolled up beside the ledger's -----------
#
# One aggregate per period over the patient files (alias pa: what they keep of their follow-ups
# and relief measures), the rehab sites, and the period `per`, counted as of the period's end: a patient counts from the
# diagnosis on, and while alive (not died by the period's end, not lost: 迁出/失访). Grouped per
# township first (a station is due in a township with >= 100 living patients), then rolled up like
# the ledger's records. The filing rate's denominator is the ledger's reported cases, so the
# rollup joins the two: `patient_filing` = [files, reported_cases].

STATION_THRESHOLD = 100


@dataclass(frozen=True)
class PatientIndicator:
    code: str
    name: str
    name_en: str
    unit: str
    counts: str
    drill: str  # the patient list's `missing` filter (or the rehab page) a dashboard cell links to
    item: str = ""


PATIENT_INDICATORS: list[PatientIndicator] = [
    PatientIndicator("patient_filing", _("尘肺病患者建档率"), "Patient filing rate", _("人"),
                     _("已建档患者（一人一档）/ 台帐报告的尘肺病例数"), "filing", _("患者建档")),
    PatientIndicator("patient_followup", _("患者随访率（周期内）"), "Follow-up within cycle", _("人"),
                     _("周期内已随访的存活患者 / 应随访的存活患者（壹、贰期每年，叁期按设置更短）"), "followup",
                     _("周期内随访")),
    PatientIndicator("rehab_archive", _("尘肺病患者肺康复建档率"), "Pulmonary rehab file rate", _("人"),
                     _("已建立肺康复档案的存活患者 / 存活患者"), "rehab_archive", _("肺康复建档")),
    PatientIndicator("patient_relief", _("分类救治救助落实率"), "Relief acted on", _("人"),
                     _("负责部门已登记救治救助措施的存活患者 / 存活患者"), "relief", _("救治救助")),
    PatientIndicator("rehab_station_coverage", _("康复站覆盖率"), "Rehab station coverage", _("个"),
                     _("已建康复站的乡镇（街道）/ 常住存活患者达到100人的乡镇（街道）"), "rehab", _("康复站")),
]
# Kept beside them: the files (the filing numerator). The stations built (a count target: 至少完成
# 1 个康复站建设) are not rolled up: the patients app supplies them (register_supplier).
PATIENT_FIGURE_CODES = ["patient_filed", *(i.code for i in PATIENT_INDICATORS if i.code != "patient_filing")]
PATIENT_BY_CODE = {i.code: i for i in PATIENT_INDICATORS}


def grouping_sql(*, counties: bool, alias: str = "") -> str:
    """GROUP BY's sets: every level of the rollup, or, for some counties, their townships and
    themselves only (what the incremental step keeps: each level above summed each record again,
    for rows it threw away). Both label their rows alike by GROUPING(): 0 township, 1 county."""
    columns = ", ".join(f"{alias}{column}" for column in ("province_id", "city_id", "county_id", "township_id"))
    if counties:
        return f"GROUPING SETS (({columns}), ({columns.rsplit(', ', 1)[0]}))"
    return f"ROLLUP ({columns})"


def patient_aggregate_sql(*, counties: bool, cycle_months: int, stage3_months: int) -> str:
    """GROUP BY ROLLUP (grouping_sql) over the period's patient figures per township: columns province_id,
    city_id, county_id, township_id, g, and <code>_num, <code>_den for PATIENT_FIGURE_CODES."""
    county_filter = "AND pa.county_id = ANY(%(counties)s)" if counties else ""
    site_filter = "AND s.county_id = ANY(%(counties)s)" if counties else ""
    cycle = f"make_interval(months => CASE WHEN pa.stage = 3 THEN {int(stage3_months)} ELSE {int(cycle_months)} END)"
    # The files alone (patients.services keeps followup_dates and relief_acted_on): followed
    # when a follow-up falls within the cycle before the period's end, i.e. more of the sorted
    # dates lie on or before the end than on or before the cycle's start (two binary searches).
    return f"""
        WITH per AS (SELECT ends_on FROM ledger_reportingperiod WHERE id = %(period)s),
        each AS (
            SELECT pa.province_id, pa.city_id, pa.county_id, pa.township_id,
                   TRUE AS known,
                   (pa.status <> 'moved_away' AND (pa.died_on IS NULL OR pa.died_on > per.ends_on)) AS living,
                   pa.diagnosed_on <= per.ends_on - {cycle} AS due,
                   width_bucket(per.ends_on, pa.followup_dates)
                       > width_bucket((per.ends_on - {cycle})::date, pa.followup_dates) AS followed,
                   COALESCE(pa.rehab_filed_on <= per.ends_on, FALSE) AS rehab,
                   COALESCE(pa.relief_acted_on <= per.ends_on, FALSE) AS relieved
            FROM patients_patient pa CROSS JOIN per
            WHERE pa.diagnosed_on <= per.ends_on {county_filter}
        ),
        townships AS (
            SELECT province_id, city_id, county_id, township_id,
                   COUNT(*) FILTER (WHERE known) AS filed,
                   COUNT(*) FILTER (WHERE living) AS living,
                   COUNT(*) FILTER (WHERE living AND due) AS due,
                   COUNT(*) FILTER (WHERE living AND due AND followed) AS followed,
                   COUNT(*) FILTER (WHERE living AND rehab) AS rehab,
                   COUNT(*) FILTER (WHERE living AND relieved) AS relieved
            FROM each GROUP BY 1, 2, 3, 4
        ),
        sites AS (
            SELECT s.province_id, s.city_id, s.county_id, s.township_id, COUNT(*) AS stations
            FROM patients_rehabsite s CROSS JOIN per
            WHERE s.kind = 'station' AND s.opened_on <= per.ends_on {site_filter}
            GROUP BY 1, 2, 3, 4
        ),
        joined AS (
            SELECT COALESCE(t.province_id, s.province_id) AS province_id, COALESCE(t.city_id, s.city_id) AS city_id,
                   COALESCE(t.county_id, s.county_id) AS county_id, COALESCE(t.township_id, s.township_id) AS township_id,
                   COALESCE(t.filed, 0) AS filed, COALESCE(t.living, 0) AS living, COALESCE(t.due, 0) AS due,
                   COALESCE(t.followed, 0) AS followed, COALESCE(t.rehab, 0) AS rehab,
                   COALESCE(t.relieved, 0) AS relieved, COALESCE(s.stations, 0) AS stations
            FROM townships t FULL JOIN sites s ON s.township_id = t.township_id
        )
        SELECT province_id, city_id, county_id, township_id,
               GROUPING(province_id, city_id, county_id, township_id) AS g,
               SUM(filed)::bigint AS patient_filed_num, 0::bigint AS patient_filed_den,
               SUM(followed)::bigint AS patient_followup_num, SUM(due)::bigint AS patient_followup_den,
               SUM(rehab)::bigint AS rehab_archive_num, SUM(living)::bigint AS rehab_archive_den,
               SUM(relieved)::bigint AS patient_relief_num, SUM(living)::bigint AS patient_relief_den,
               SUM(CASE WHEN living >= {STATION_THRESHOLD} AND stations > 0 THEN 1 ELSE 0 END)::bigint
                   AS rehab_station_coverage_num,
               SUM(CASE WHEN living >= {STATION_THRESHOLD} THEN 1 ELSE 0 END)::bigint AS rehab_station_coverage_den
        FROM joined
        GROUP BY {grouping_sql(counties=counties)}
    """

# What the dashboard shows: the ledger's indicators, then the patients'.
DASHBOARD_INDICATORS = [*INDICATORS, *PATIENT_INDICATORS]

# ---- The target catalogue: every indicator a plan may set a target on ----------------------
#
# The ledger indicators above are computed from the employer records (the rollup). The plans
# also set targets on figures the ledger does not hold: these are reported per period and
# region by the responsible department (targets.models.ReportedFigure, submitted and approved),
# or supplied by another app that registers a supplier (see `register_supplier`).


class Source:
    LEDGER = "ledger"  # the rollup of the employer ledger
    REPORTED = "reported"  # figures reported by the responsible department, reviewed
    APP = "app"  # supplied by another app's data (rehab stations: the patients app)


class Kind:
    RATE = "rate"  # numerator / denominator, a percentage target
    YES_NO = "yes_no"  # each region answers yes (1 of 1) or no (0 of 1); a parent's rate is its share of yes
    COUNT = "count"  # a number (至少 1 个康复站): the target is a minimum count


SOURCE_LABELS = {
    Source.LEDGER: _("用人单位台帐汇总"),
    Source.REPORTED: _("责任部门报送（经审核）"),
    Source.APP: _("业务系统数据"),
}


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    name: str
    unit: str
    kind: str = Kind.RATE
    source: str = Source.LEDGER
    department: str = "health"  # the responsible department (portal.models.Department) for reported figures
    counts: str = ""  # what is counted, for the footnote and the report form
    reported_level: int | None = None  # yes/no figures: the level that answers (2 city, 3 county)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]


REPORTED_INDICATORS: list[CatalogueEntry] = [
    CatalogueEntry("enforcement_training", _("职业健康监管执法人员培训率"), _("人"), counts=_(
        "已培训的职业健康监管执法人员 / 监管执法人员总数"), source=Source.REPORTED),
    CatalogueEntry("dose_monitoring", _("放射工作人员个人剂量监测率"), _("人"), counts=_(
        "医疗卫生机构开展个人剂量监测的放射工作人员 / 放射工作人员总数"), source=Source.REPORTED),
    CatalogueEntry("diagnosis_institution", _("地市职业病诊断机构确定率"), _("个"), kind=Kind.YES_NO,
                   source=Source.REPORTED, reported_level=2, counts=_(
                       "至少确定1家医疗卫生机构承担职业病诊断的地市 / 地市数")),
    CatalogueEntry("exam_institution", _("县区职业健康检查机构确定率"), _("个"), kind=Kind.YES_NO,
                   source=Source.REPORTED, reported_level=3, counts=_(
                       "至少确定1家医疗卫生机构承担职业健康检查的县区 / 县区数")),
]

# From the patients app's files: the rates rolled up with the ledger (patient_aggregate_sql); the
# stations built a count the app supplies (patients.apps registers it; reported until then).
PATIENT_ENTRIES: list[CatalogueEntry] = [
    *(CatalogueEntry(i.code, i.name, i.unit, counts=i.counts, source=Source.APP) for i in PATIENT_INDICATORS),
    CatalogueEntry("rehab_stations", _("尘肺病康复站"), _("个"), kind=Kind.COUNT, source=Source.REPORTED,
                   counts=_("已建成的尘肺病康复站数（患者管理）")),
]

CATALOGUE: list[CatalogueEntry] = [
    *(CatalogueEntry(i.code, i.name, i.unit, counts=i.counts) for i in INDICATORS),
    *REPORTED_INDICATORS,
    *PATIENT_ENTRIES,
]
CATALOGUE_BY_CODE = {entry.code: entry for entry in CATALOGUE}

# Figures another app supplies: code -> callable(period, regions) -> {region_id: (numerator, denominator)}.
# Registered from the app's AppConfig.ready(); the entry's source then reads "业务系统数据".
SUPPLIERS: dict[str, object] = {}


def register_supplier(code: str, supplier) -> None:
    """Let another app supply an indicator's figure (e.g. the patients app counts rehab
    stations): `supplier(period, regions)` returns {region_id: (numerator, denominator)} for
    the given regions (a count indicator's denominator is ignored). Reported figures for the
    same indicator are then no longer asked for."""
    entry = CATALOGUE_BY_CODE[code]
    SUPPLIERS[code] = supplier
    CATALOGUE_BY_CODE[code] = CatalogueEntry(**{**entry.__dict__, "source": Source.APP})
    CATALOGUE[:] = [CATALOGUE_BY_CODE[e.code] for e in CATALOGUE]


def target_choices() -> list[tuple[str, str]]:
    """The model field's choices (a callable, so a new indicator needs no migration)."""
    return [(entry.code, entry.name) for entry in CATALOGUE]


def format_number(value) -> str:
    """90.00 -> "90", 92.50 -> "92.5" (never "9E+1")."""
    from decimal import Decimal

    return format(Decimal(value).normalize(), "f")


def format_target(code: str, value) -> str:
    """A target as the plans write it: "95%", or "1个" for a count."""
    entry = CATALOGUE_BY_CODE[code]
    return f"{format_number(value)}{entry.unit}" if entry.kind == Kind.COUNT else f"{format_number(value)}%"
