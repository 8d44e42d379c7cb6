"""The dashboard table as an Excel workbook (same rows and columns as the page)."""

from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill

from portal.workbook import Book, new_workbook
from targets.indicators import INDICATORS

FILLS = {"met": "C6EFCE", "near": "FFEB9C", "behind": "FFC7CE"}


def dashboard_workbook(board) -> Book:
    workbook = new_workbook(write_only=False)
    sheet = workbook.sheet(_("指标汇总"))
    sheet.append([_("%(region)s %(period)s 尘肺病防治攻坚行动指标汇总") % {
        "region": board.region.name, "period": board.period}])
    sheet["A1"].font = Font(bold=True, size=14)
    stamp = board.data_as_of.strftime("%Y-%m-%d %H:%M") if board.data_as_of else _("无")
    sheet.append([_("数据截至：%(stamp)s；目标值取本级及上级要求中最严格者；分母为0显示“无数据”。") % {"stamp": stamp}])
    header = [_("区划"), _("代码"), _("单位数")]
    for indicator in INDICATORS:
        header += [f"{indicator.name}", _("分子/分母"), _("目标")]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    rows = ([board.total] if board.total else []) + board.rows
    for row in rows:
        values = [row.region.name, row.region.code, row.employers]
        for c in row.cells:
            values += [
                _("无数据") if c.rate is None else round(c.rate, 1),
                f"{c.numerator}/{c.denominator}",
                "" if c.target is None else float(c.target.value),
            ]
        sheet.append(values)
        for index, c in enumerate(row.cells):
            if c.status in FILLS:
                sheet.cell(row=sheet.max_row, column=4 + 3 * index).fill = PatternFill("solid", fgColor=FILLS[c.status])
    sheet.freeze_panes = "D4"
    return workbook
