"""The social-insurance agency's export (Excel .xlsx or CSV) in, the uninsured work list out.

Workbooks are read with python-calamine through portal.xlsx (checked to be a real xlsx package
first; empty cells come back as "", numbers as float, formula errors as CellError), CSV with
the csv module; a workbook's first sheet is the unit list, an optional second sheet the
per-person list. openpyxl writes the workbooks handed out (template, work list)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from python_calamine import SheetTypeEnum

from portal.xlsx import WorkbookFileError, open_workbook, sheet_rows

COVERAGE_COLUMNS = ["单位名称", "统一社会信用代码", "参保人数", "截至日期"]
PERSON_COLUMNS = ["姓名", "居民身份证号", "统一社会信用代码"]


@dataclass
class Table:
    """A header and its data rows (row numbers as the user sees them: the header is row 1)."""

    sheet: str
    header: list[str]
    rows: Iterator
    last_row: int = 0  # the sheet's last row number: the progress bar's estimate

    @property
    def rows_estimate(self) -> int:
        return max(self.last_row - 1, 0)


def _clean_header(values: Iterable) -> list[str]:
    header = [str(v).strip() if v is not None else "" for v in values]
    while header and not header[-1]:
        header.pop()
    return header


def _xlsx_tables(fileobj: IO[bytes], max_bytes: int) -> list[Table]:
    tables = []
    with open_workbook(fileobj, max_bytes=max_bytes) as workbook:
        # Worksheets only (a chart sheet holds no rows), in the workbook's order, as openpyxl's
        # `worksheets` gave them.
        names = [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet][:2]
        for name in names:
            rows, last_row = sheet_rows(fileobj, workbook, name)
            header = _clean_header(next(rows, ()))
            if header:
                tables.append(Table(name, header, rows, last_row))
    return tables


def _csv_table(data: bytes, name: str) -> Table:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise WorkbookFileError(_("CSV 文件编码无法识别，请另存为 UTF-8 或 GB18030 编码。"))
    reader = csv.reader(io.StringIO(text))
    header = _clean_header(next(reader, ()))
    lines = text.count("\n") + (not text.endswith("\n"))
    return Table(name, header, (tuple(r) for r in reader), lines)


def read_tables(data: bytes | IO[bytes], filename: str, *, max_bytes: int) -> list[Table]:
    """The tables of one uploaded file (its content, or a binary file object positioned
    anywhere): a workbook's first two sheets, or one CSV. `max_bytes` is the upload limit, from
    which the package check derives what a workbook may decompress to."""
    lower = filename.lower()
    fileobj = io.BytesIO(data) if isinstance(data, bytes) else data
    if lower.endswith(".csv"):
        fileobj.seek(0)
        tables = [_csv_table(fileobj.read(), filename)]
    elif lower.endswith((".xlsx", ".xlsm")):
        tables = _xlsx_tables(fileobj, max_bytes)
    else:
        raise WorkbookFileError(_("只支持 .xlsx 或 .csv 文件（“%(name)s”）。") % {"name": filename})
    if not tables or not tables[0].header:
        raise WorkbookFileError(_("文件“%(name)s”是空的，没有表头。") % {"name": filename})
    return tables


def write_coverage_workbook(path_or_buffer, rows: Iterable[tuple], persons: Iterable[tuple] | None = None) -> None:
    """An agency export in the expected layout (used by tests, the benchmark and the template
    download)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("参保单位")
    sheet.append(COVERAGE_COLUMNS)
    for row in rows:
        sheet.append(list(row))
    if persons is not None:
        people = workbook.create_sheet("参保人员")
        people.append(PERSON_COLUMNS)
        for row in persons:
            people.append(list(row))
    workbook.save(path_or_buffer)


WORK_LIST_COLUMNS = ["单位名称", "统一社会信用代码", "县（市、区）", "重点行业类别", "职工总人数", "参保人数",
                     "参保人数来源", "未参保人数", "最近跟进", "跟进日期"]


def write_work_list(buffer, rows: Iterable[dict]) -> None:
    """The uninsured work list as a write-only workbook (constant memory at any size)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("未参保工作清单")
    sheet.append(WORK_LIST_COLUMNS)
    for r in rows:
        sheet.append([r["name"], r["uscc"], r["county"], r["key_group"], r["total"], r["insured"], r["source"],
                      r["uninsured"], r["last_action"], r["last_action_on"]])
    workbook.save(buffer)
