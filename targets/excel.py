"""The dashboard table as an Excel workbook (same rows and columns as the page: the ledger's and
the patients' indicators, then the reported figures, each with its target and "还差 N")."""

from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill

from portal.workbook import Book, new_workbook
from targets.indicators import DASHBOARD_INDICATORS, Kind

FILLS = {"met": "C6EFCE", "near": "FFEB9C", "behind": "FFC7CE"}
PER_INDICATOR = 5  # figure, numerator/denominator, target, deadline, 还差 N
FIRST_FIGURE = 5  # after region, code, employers, completeness


def _figure(cell):
    if cell.rate is None:
        return _("无数据")
    return cell.numerator if cell.kind == Kind.COUNT else round(cell.rate, 1)


def _parts(cell) -> str:
    if cell.kind == Kind.COUNT:
        return ""
    text = f"{cell.numerator}/{cell.denominator}"
    if cell.old_way:
        text += _("（含 %(n)s 家按单位计，旧口径）") % {"n": cell.old_way}
    return text


def dashboard_workbook(board, progress=lambda rows: rows) -> Book:
    """The dashboard's table; its rows pass through `progress` as they are written (portal.exports)."""
    workbook = new_workbook(write_only=False)
    sheet = workbook.sheet(_("指标汇总"))
    sheet.append([_("%(region)s %(period)s 尘肺病防治攻坚行动指标汇总") % {
        "region": board.region.name, "period": board.period}])
    sheet["A1"].font = Font(bold=True, size=14)
    stamp = board.data_as_of.strftime("%Y-%m-%d %H:%M") if board.data_as_of else _("无")
    sheet.append([_("数据截至：%(stamp)s；目标值取本级及上级要求中最严格者；分母为0显示“无数据”；"
                    "“还差”为达到目标还需落实的单位、人数或个数。") % {"stamp": stamp}])
    header = [_("区划"), _("代码"), _("单位数"), _("已报送县数")]
    names = [(i.name, i.unit) for i in DASHBOARD_INDICATORS] + [(e.name, e.unit) for e in board.reported]
    for name, unit in names:
        header += [str(name), _("分子/分母"), _("目标"), _("目标期限"), _("还差（%(unit)s）") % {"unit": unit}]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    rows = ([board.total] if board.total else []) + board.rows
    for row in progress(rows):
        done = f"{row.completeness[0]}/{row.completeness[1]}" if row.completeness else ""
        values = [row.region.name, row.region.code, row.employers, done]
        cells = row.cells + row.reported_cells
        for c in cells:
            values += [
                _figure(c),
                _parts(c),
                "" if c.target is None else float(c.target.value),
                "" if c.target is None else c.target.due_on,
                "" if c.shortfall is None else c.shortfall,
            ]
        sheet.append(values)
        for index, c in enumerate(cells):
            column = FIRST_FIGURE + PER_INDICATOR * index
            if c.status in FILLS:
                sheet.cell(row=sheet.max_row, column=column).fill = PatternFill("solid", fgColor=FILLS[c.status])
            if c.target is not None:
                sheet.cell(row=sheet.max_row, column=column + 3).number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "E4"
    return workbook
