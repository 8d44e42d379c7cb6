"""The social-insurance agency's export (Excel .xlsx or CSV) in, the uninsured work list out.

Uploads are read in the sandbox through portal.xlsx (empty cells come back as "", numbers as
float, formula errors as CellError, rows numbered as the sheet shows them); a workbook's first
sheet is the unit list, an optional second sheet the per-person list; CSV files one table each. portal.workbook writes the workbooks handed out (template, work list)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _

from portal.workbook import new_workbook
from portal.xlsx import WorkbookFileError, read_upload

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


@contextlib.contextmanager
def read_tables(data: bytes | IO[bytes], filename: str, *, max_bytes: int) -> Iterator[list[Table]]:
    """The tables of one uploaded file (its content, or an uploaded, stored or binary file): a
    workbook's first two worksheets, or one CSV, read in the sandbox through portal.xlsx; the
    rows stream while the caller reads them, inside the `with`. A table's header is its first
    non-blank row."""
    lower = filename.lower()
    if not lower.endswith((".csv", ".xlsx", ".xlsm")):
        raise WorkbookFileError(_("只支持 .xlsx 或 .csv 文件（“%(name)s”）。") % {"name": filename}, "extension")
    with read_upload(data, filename=filename, max_bytes=max_bytes, sheets=[0, 1]) as book:
        tables = []
        for sheet in book.sheets:
            if sheet is None:
                continue
            first = next(sheet.rows, None)
            header = _clean_header(first[1]) if first else []
            if header:
                tables.append(Table(sheet.name, header, sheet.rows, sheet.last_row))
        if not tables or not tables[0].header:
            raise WorkbookFileError(_("文件“%(name)s”是空的，没有表头。") % {"name": filename}, "empty")
        yield tables


def write_coverage_workbook(path_or_buffer, rows: Iterable[tuple], persons: Iterable[tuple] | None = None) -> None:
    """An agency export in the expected layout (used by tests, the benchmark and the template
    download)."""
    workbook = new_workbook()
    sheet = workbook.sheet("参保单位")
    sheet.append(COVERAGE_COLUMNS)
    for row in rows:
        sheet.append(list(row))
    if persons is not None:
        people = workbook.sheet("参保人员")
        people.append(PERSON_COLUMNS)
        for row in persons:
            people.append(list(row))
    workbook.save(path_or_buffer)


WORK_LIST_COLUMNS = ["单位名称", "统一社会信用代码", "县（市、区）", "重点行业类别", "职工总人数", "参保人数",
                     "参保人数来源", "未参保人数", "最近跟进", "跟进日期"]


def write_work_list(buffer, rows: Iterable[dict]) -> None:
    """The uninsured work list as a write-only workbook (constant memory at any size)."""
    workbook = new_workbook()
    sheet = workbook.sheet("未参保工作清单")
    sheet.append(WORK_LIST_COLUMNS)
    for r in rows:
        sheet.append([r["name"], r["uscc"], r["county"], r["key_group"], r["total"], r["insured"], r["source"],
                      r["uninsured"], r["last_action"], r["last_action_on"]])
    workbook.save(buffer)
