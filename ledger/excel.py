"""The official ledger workbook's format: writing it (template or export rows) and its error
report, and opening an upload. The layout comes from `ledger.columns` alone; what goes into
the rows is chosen by `ledger.selectors` and `ledger.exports`.

Writing uses openpyxl's write-only mode (rows stream to a temporary file, so an export of
200,000 employers stays within memory); the template is an export with no rows. Uploads are
read with python-calamine, on files that were checked to be real xlsx packages first.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ledger import columns as cols
from ledger.columns import COLUMNS
from portal.workbook import BORDER, HEADER_FILL, new_workbook
from portal.xlsx import WorkbookFileError, read_upload

# Data validations (dropdowns) cover at least this many rows, so a template has room to fill.
TEMPLATE_ROWS = 2000

_GROUP_FILL = PatternFill("solid", fgColor="BDD7EE")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
# Codes typed into these columns must stay text: leading zeros (0610), 15- and 18-digit numbers.
TEXT_FORMAT_KEYS = {"region_code", "township", "uscc", "registration_number", "industry",
                    "legal_representative_phone", "health_manager_phone"}


# ---- Writing ---------------------------------------------------------------------------------


@dataclass
class ReferenceLists:
    """Catalogues printed in the workbook for the person filling it in."""

    dust_types: list[str] = field(default_factory=list)
    townships: list[str] = field(default_factory=list)
    industries: list[tuple[str, str]] = field(default_factory=list)  # (code, name), 大类 to 小类


def write_ledger(stream: IO[bytes] | str, *, region_name: str | None, period=None, rows: Iterable[Sequence] = (),
                 reference: ReferenceLists | None = None, filled_on: datetime.date | None = None,
                 expected_rows: int | None = None) -> int:
    """Write the ledger workbook (template when `rows` is empty) to `stream`; returns the number
    of data rows. Each row holds one value per column of `columns.COLUMNS`, already in display
    form (labels, 是/否, dates). `expected_rows` (the count of `rows`, when known) is written as
    the sheet's <dimension>: without it, a reader such as openpyxl's read-only mode parses the
    whole sheet once more just to learn its size."""
    reference = reference or ReferenceLists()
    wb = new_workbook()
    ws = wb.sheet(cols.SHEET_NAME)
    last = get_column_letter(len(COLUMNS))
    if expected_rows is not None:
        # Read by openpyxl's writer when the first row is written (write-only sheets have no size).
        last_row = cols.DATA_START_ROW + expected_rows - 1 if expected_rows else cols.HEADER_ROW
        ws.calculate_dimension = lambda: f"A1:{last}{last_row}"
    for index, column in enumerate(COLUMNS, start=1):
        dimension = ws.column_dimensions[get_column_letter(index)]
        dimension.width = column.width
        if column.key in TEXT_FORMAT_KEYS:
            dimension.number_format = "@"
    ws.freeze_panes = f"E{cols.DATA_START_ROW}"
    ws.row_dimensions[cols.TITLE_ROW].height = 32
    ws.row_dimensions[cols.HEADER_ROW].height = 48

    ws.append([ws.styled(cols.title_for(region_name), font=Font(size=16, bold=True), alignment=_CENTER)])
    ws.merged_cells.add(f"A{cols.TITLE_ROW}:{last}{cols.TITLE_ROW}")
    ws.append([ws.styled(cols.note_line(period, filled_on), alignment=Alignment(vertical="center"))])
    ws.merged_cells.add(f"A{cols.NOTE_ROW}:{last}{cols.NOTE_ROW}")
    group_row: list = []
    for group, first, end in cols.groups():
        for index in range(first, end + 1):
            group_row.append(ws.styled(group if index == first else None, font=Font(bold=True), fill=_GROUP_FILL,
                                     alignment=_CENTER, border=BORDER))
        if end > first:
            ws.merged_cells.add(f"{get_column_letter(first)}{cols.GROUP_ROW}:{get_column_letter(end)}{cols.GROUP_ROW}")
    ws.append(group_row)
    ws.append([
        ws.styled(column.header, font=Font(bold=True, color="C00000" if column.required else "000000"),
                fill=HEADER_FILL, alignment=_CENTER, border=BORDER)
        for column in COLUMNS
    ])

    count = 0
    for row in rows:
        ws.append(row)
        count += 1

    township_range = None
    instructions = _instruction_rows(reference)
    if reference.townships:
        start = instructions.township_first_row
        township_range = (f"'{cols.INSTRUCTIONS_SHEET}'!$B${start}:$B${start + len(reference.townships) - 1}")
    _add_validations(ws, cols.DATA_START_ROW + max(count, TEMPLATE_ROWS) - 1, township_range)

    notes = wb.sheet(cols.INSTRUCTIONS_SHEET)
    for letter, width in (("A", 22), ("B", 28), ("C", 10), ("D", 90)):
        notes.column_dimensions[letter].width = width
    for row in instructions.rows:
        notes.append(row)

    industries = wb.sheet(cols.INDUSTRY_SHEET)
    industries.column_dimensions["A"].width = 10
    industries.column_dimensions["B"].width = 50
    industries.append([industries.styled("行业代码", font=Font(bold=True)),
                       industries.styled("行业名称", font=Font(bold=True))])
    for code, name in reference.industries:
        industries.append([code, name])

    wb.save(stream)
    return count


@dataclass
class _Instructions:
    rows: list[list]
    township_first_row: int


def _instruction_rows(reference: ReferenceLists) -> _Instructions:
    rows: list[list] = [
        ["存在粉尘危害用人单位信息台帐 填表说明"],
        [],
        [f"1. 请在“台帐”工作表第{cols.DATA_START_ROW}行起逐行填写，每个用人单位一行；不要增加、删除、改名或调换列，"
         f"不要修改第{cols.HEADER_ROW}行列标题。"],
        ["2. 红色列标题为必填项。是/否类列只填“是”或“否”；日期填 YYYY-MM-DD（如 2020-03-15），也可使用 Excel 日期格式。"],
        ["3. 以统一社会信用代码识别单位：已登记的单位按本表更新，未登记的新增；尚未换领的单位留空该列，填写15位旧工商注册号。"],
        ["4. 导入前系统先校验全部行，有任何错误则一行也不写入，并给出逐行逐列的错误报告（可下载为 Excel）。"],
        [],
        ["列名", "所属栏目", "是否必填", "填写要求"],
    ]
    for column in COLUMNS:
        rows.append([column.header, column.group, "必填" if column.required else "选填", str(column.expected)])
    rows.append([])
    rows.append(["粉尘种类（《职业病危害因素分类目录》）"])
    rows.extend([["", name] for name in reference.dust_types])
    rows.append([])
    rows.append(["乡镇（街道）"])
    township_first_row = len(rows) + 1
    rows.extend([["", name] for name in reference.townships])
    return _Instructions(rows, township_first_row)


def _add_validations(ws, last_row: int, township_range: str | None) -> None:
    for index, column in enumerate(COLUMNS, start=1):
        labels = column.choice_labels() if column.imported else []
        if column.key == "township" and township_range:
            formula = township_range
        elif labels:
            formula = '"' + ",".join(labels) + '"'
        else:
            continue
        letter = get_column_letter(index)
        validation = DataValidation(
            type="list", formula1=formula, allow_blank=True, showErrorMessage=column.key != "township",
            errorTitle="填写错误", error=f"请从下拉列表中选择{column.header}",
        )
        validation.add(f"{letter}{cols.DATA_START_ROW}:{letter}{last_row}")
        ws.data_validations.append(validation)


# ---- Reading ---------------------------------------------------------------------------------


@dataclass
class LedgerSheet:
    """An opened data sheet: the header row found, then the data rows as value lists."""

    header_row_number: int
    header: tuple
    rows_estimate: int
    _rows: Iterator[tuple[int, list]]

    def data_rows(self) -> Iterator[tuple[int, list]]:
        """(row number in the sheet, values) for each non-blank row after the header."""
        return self._rows


HEADER_SEARCH_ROWS = 10


@contextlib.contextmanager
def open_ledger(source, *, max_bytes: int) -> Iterator[LedgerSheet]:
    """Open the `台帐` sheet of an uploaded workbook and find its column-header row (row 4 of
    the template; a file whose title rows were deleted is still understood).

    Read in the sandbox through portal.xlsx: what is not a readable xlsx, or lacks the sheet or
    its header row, is refused here with WorkbookFileError, before any row is checked. The
    rows stream while the caller checks them, inside the `with`."""
    with read_upload(source, filename="ledger.xlsx", max_bytes=max_bytes,
                     sheets=[cols.SHEET_NAME_ALIASES]) as book:
        found = book.sheets[0]
        if found is None:
            names = "、".join(book.sheet_names) or _("（无）")
            raise WorkbookFileError(_("找不到名为“%(sheet)s”的工作表（文件中的工作表：%(names)s）。请使用官方模板，"
                                      "将数据填在“%(sheet)s”工作表中，不要改工作表名称。") % {
                "sheet": cols.SHEET_NAME, "names": names}, "no_sheet")
        for number, row in found.rows:
            if number > HEADER_SEARCH_ROWS:
                break
            normalised = [cols.normalise_header(v) for v in row]
            if "单位名称" in normalised or "统一社会信用代码" in normalised:
                yield LedgerSheet(number, tuple(row), max(found.last_row - number, 0), found.rows)
                return
        raise WorkbookFileError(_("在“%(sheet)s”工作表前%(n)s行中找不到列标题行（应在第%(row)s行，含“单位名称”“统一社会信用代码”等列）。"
                                "请使用官方模板，不要删除或修改列标题。") % {
            "sheet": found.name, "n": HEADER_SEARCH_ROWS, "row": cols.HEADER_ROW}, "no_header")
