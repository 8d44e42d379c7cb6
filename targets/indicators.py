"""The indicator registry: every campaign indicator of DOMAIN.md with its numerator and
denominator as SQL over one period's records (alias r, joined employer e, period p, and the
HRSS coverage row ic of the same employer and period when there is one).

Every numerator and denominator is a sum over employers, so a parent region's figures are
the sums of its children's: the incremental rollup relies on that."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Employers the campaign counts unless an indicator says otherwise (纳入治理范围的重点行业用人单位).
IN_SCOPE = "(e.in_governance_scope AND e.key_group <> '')"
KEY_INDUSTRY = "(e.key_group <> '')"


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    name_en: str
    unit: str
    numerator_sql: str
    denominator_sql: str
    counts: str  # which employers count, for the page's footnote

    def sum_sql(self, part: str) -> str:
        return f"SUM({self.numerator_sql if part == 'num' else self.denominator_sql})::bigint"


def _employers(condition: str, among: str = IN_SCOPE) -> tuple[str, str]:
    return (f"CASE WHEN {among} AND ({condition}) THEN 1 ELSE 0 END", f"CASE WHEN {among} THEN 1 ELSE 0 END")


def _people(numerator: str, denominator: str, among: str = IN_SCOPE) -> tuple[str, str]:
    return (f"CASE WHEN {among} THEN r.{numerator} ELSE 0 END", f"CASE WHEN {among} THEN r.{denominator} ELSE 0 END")


SCOPE_NOTE = _("纳入治理范围的重点行业用人单位")
INDICATORS: list[Indicator] = [
    Indicator("declaration", _("粉尘危害申报率"), "Dust hazard declaration rate", _("家"),
              *_employers("r.hazard_declared"), SCOPE_NOTE),
    Indicator("testing", _("粉尘浓度定期检测率"), "Periodic dust testing rate", _("家"),
              *_employers("r.last_test_date >= p.ends_on - 365"), SCOPE_NOTE),
    Indicator("warning_signs", _("警示标识设置率"), "Warning signs rate", _("家"),
              *_employers("r.warning_signs"), SCOPE_NOTE),
    Indicator("health_exam", _("在岗期间职业健康检查率"), "In-service health exam rate", _("人"),
              *_people("exam_done", "exam_due"), SCOPE_NOTE),
    Indicator("surveillance_files", _("职业健康监护档案建档率"), "Health surveillance file rate", _("人"),
              *_people("surveillance_files", "exposed_workers"), SCOPE_NOTE),
    Indicator("training_principal", _("主要负责人培训率"), "Principal training rate", _("家"),
              *_employers("r.principal_trained"), SCOPE_NOTE),
    Indicator("training_managers", _("职业健康管理人员培训率"), "Health manager training rate", _("人"),
              *_people("managers_trained", "managers_due"), SCOPE_NOTE),
    Indicator("training_workers", _("劳动者培训率"), "Worker training rate", _("人"),
              *_people("workers_trained", "workers_training_due"), SCOPE_NOTE),
    # The HRSS count when the bureau has one for the employer and period, the ledger's otherwise.
    Indicator("injury_insurance", _("工伤保险覆盖率"), "Work-injury insurance coverage", _("人"),
              f"CASE WHEN {KEY_INDUSTRY} THEN COALESCE(ic.insured_workers, r.insured_workers) ELSE 0 END",
              f"CASE WHEN {KEY_INDUSTRY} THEN r.total_workers ELSE 0 END",
              _("重点行业用人单位；参保人数以人社部门数据为准，无人社数据时取台帐填报数")),
    Indicator("labour_contracts", _("劳动合同签订率"), "Labour contract rate", _("人"),
              *_people("contract_workers", "total_workers"), SCOPE_NOTE),
    Indicator("supervision", _("监督检查覆盖率"), "Supervision coverage", _("家"),
              *_employers("EXTRACT(YEAR FROM r.last_inspection_date) = p.year"), SCOPE_NOTE),
    Indicator("three_simultaneities", _("“三同时”实施率"), "Three simultaneities rate", _("个"),
              *_people("three_simultaneities_projects", "new_projects"), SCOPE_NOTE),
]
BY_CODE = {indicator.code: indicator for indicator in INDICATORS}

# Figures kept beside the indicators, not shown as rates: how many key-industry employers'
# insured counts come from HRSS (numerator) out of all key-industry employers (denominator).
INSURANCE_SOURCE = Indicator(
    "insurance_source", _("人社数据覆盖单位"), "Employers with an HRSS count", _("家"),
    f"CASE WHEN {KEY_INDUSTRY} AND ic.id IS NOT NULL THEN 1 ELSE 0 END", f"CASE WHEN {KEY_INDUSTRY} THEN 1 ELSE 0 END",
    _("重点行业用人单位"))
ROLLUP_FIGURES = [*INDICATORS, INSURANCE_SOURCE]


def rate(numerator: int, denominator: int) -> float | None:
    """Percent; None when the denominator is zero ("无数据", never 0% or 100%)."""
    return None if not denominator else 100.0 * numerator / denominator
