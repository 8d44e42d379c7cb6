"""The audit log as a workbook: an export kind of `portal.exports` (written in the request when
small, by the worker when large). Its filters are the audit search page's."""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ledger.models import Employer
from portal import history
from portal.exports import ExportKind, Prepared
from portal.models import User
from portal.params import scoped_region_param
from portal.scoping import Capability, scope_for
from portal.workbook import new_workbook

AUDIT_EXPORT_MAX = 10_000
AUDIT_HEADERS = [gettext_lazy("时间"), gettext_lazy("操作人"), gettext_lazy("来源地址"), gettext_lazy("对象类型"),
                 gettext_lazy("对象"), gettext_lazy("操作"), gettext_lazy("事由"), gettext_lazy("修改内容")]


def iso_date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def audit_filters(actor: User, params) -> history.AuditFilters:
    """The audit search's filters from its query string: person, employer, what, operation,
    from, to, region (one outside the actor's scope is no region, rule 21)."""
    def date(name):
        return iso_date(params.get(name, ""))

    person = None
    if (who := params.get("person", "").strip()):
        person = User.objects.filter(Q(username=who) | Q(display_name=who)).first() or User(pk=0)
    employer_id = None
    if (employer := params.get("employer", "").strip()):
        found = Employer.objects.filter(Q(uscc=employer.upper()) | Q(name=employer)).values_list("pk", flat=True)
        employer_id = found[0] if found else 0
    region = scoped_region_param(scope_for(actor, Capability.USERS_MANAGE), "region", params)
    return history.AuditFilters(person=person, employer_id=employer_id, what=params.get("what", ""),
                                operation=params.get("operation", ""), date_from=date("from"),
                                date_to=date("to"), region=region)


def write_audit(stream, entries) -> None:
    workbook = new_workbook()
    sheet = workbook.sheet(_("审计记录"))
    sheet.append([str(h) for h in AUDIT_HEADERS])
    for e in entries:
        sheet.append([timezone.localtime(e.when).strftime("%Y-%m-%d %H:%M:%S"), e.who, e.ip, e.what, e.object_label,
                      e.operation, e.action, "\n".join(e.changes)])
    workbook.save(stream)


def audit_prepare(actor: User, params) -> Prepared:
    filters = audit_filters(actor, params)
    return Prepared(
        count=history.audit_count(actor=actor, filters=filters, limit=AUDIT_EXPORT_MAX), filename="审计记录.xlsx",
        write=lambda stream, progress: write_audit(stream, progress(
            history.audit_search(actor=actor, filters=filters, limit=AUDIT_EXPORT_MAX))))


AUDIT = ExportKind(name="audit", title=gettext_lazy("导出审计记录"), unit=gettext_lazy("条"),
                   capability=Capability.USERS_MANAGE, prepare=audit_prepare)
