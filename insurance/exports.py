"""The uninsured work list as a workbook: an export kind of `portal.exports` (written in the
request when small, by the worker when large)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insurance import excel, selectors
from insurance.models import FollowUpAction
from ledger.industries import KeyIndustryGroup
from ledger.models import ReportingPeriod
from ledger.selectors import current_period
from portal.exports import ExportKind, Prepared
from portal.models import User
from portal.params import export_region_param, period_param, scoped_region_param
from portal.scoping import Capability, scope_for


def work_list_query(actor: User, params, *, read_region=scoped_region_param):
    """(period, region, filters, rows) of the work list the query string asks for; rows is None
    without a period. A region outside the actor's scope is no region for the page, a refusal
    for the export (`read_region`; rule 21)."""
    period = period_param(ReportingPeriod.objects, params, default=current_period)
    region = read_region(scope_for(actor, Capability.INSURANCE_VIEW), "region", params)
    filters = selectors.WorkListFilters(region=region, key_group=params.get("key_group", ""))
    rows = selectors.work_list(actor=actor, period=period, filters=filters) if period else None
    return period, region, filters, rows


def _rows(rows):
    actions, groups = dict(FollowUpAction.choices), dict(KeyIndustryGroup.choices)
    for r in rows.iterator(chunk_size=2000) if rows is not None else ():
        yield {"name": r.employer.name, "uscc": r.employer.uscc or r.employer.registration_number,
               "county": r.county.name, "key_group": str(groups.get(r.employer.key_group, "")),
               "total": r.total_workers, "insured": r.insured, "source": _("人社部门") if r.hrss is not None else _("单位填报"),
               "uninsured": r.uninsured, "last_action": str(actions.get(r.last_action, "")),
               "last_action_on": r.last_action_on}


def work_list_prepare(actor: User, params) -> Prepared:
    _period, _region, _filters, rows = work_list_query(actor, params, read_region=export_region_param)
    return Prepared(count=rows.count() if rows is not None else 0, filename="未参保工作清单.xlsx",
                    write=lambda stream, progress: excel.write_work_list(stream, progress(_rows(rows))))


WORK_LIST = ExportKind(name="work-list", title=gettext_lazy("导出未参保工作清单"), unit=gettext_lazy("个单位"),
                       capability=Capability.INSURANCE_VIEW, prepare=work_list_prepare)
