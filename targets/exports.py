"""The indicator dashboard's table as a workbook: an export kind of `portal.exports` (written in
the request when small, by the worker when large)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.exports import ExportKind, Prepared
from portal.models import User
from portal.scoping import Capability
from targets import selectors
from targets.excel import dashboard_workbook


def dashboard_prepare(actor: User, params) -> Prepared:
    """ValidationError without a region or a period (the view shows the page that asks for one)."""
    target = selectors.dashboard_target(actor, params)
    if target.region is None or target.period is None:
        raise ValidationError(_("请选择区划和填报期。"))
    board = selectors.dashboard(actor=actor, region=target.region, period=target.period)
    return Prepared(count=len(board.rows) + (1 if board.total else 0),
                    filename=f"indicators-{board.region.code}-{board.period.code}.xlsx",
                    write=lambda stream, progress: dashboard_workbook(board, progress).save(stream))


DASHBOARD = ExportKind(name="dashboard", title=gettext_lazy("导出指标汇总"), unit=gettext_lazy("个区划"),
                       capability=Capability.DASHBOARD_VIEW, prepare=dashboard_prepare)
