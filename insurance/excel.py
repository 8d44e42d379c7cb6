"""The social-insurance agency's export (Excel .xlsx or CSV) in, the uninsured work list out.

Reading is openpyxl read-only mode (values only) for workbooks, the csv module for CSV; a
workbook's first sheet is the unit list, an optional second sheet the per-person list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

COVERAGE_COLUMNS = ["单位名称", "统一社会信用代码", "参保人数", "截至日期"]
PERSON_COLUMNS = ["姓名", "居民身份证号", "统一社会信用代码"]


class FileFormatError(Exception):
    """The file cannot be read at all (not xlsx/csv, empty): nothing was checked."""


@dataclass
class Table:
    """A header and its data rows (row numbers as the user sees them: the header is row 1)."""

    sheet: str
    header: list[str]
    rows: Iterator[tuple]


def _clean_header(values: Iterable) -> list[str]:
    header = [str(v).strip() if v is not None else "" for v in values]
    while header and not header[-1]:
        header.pop()
    return header


def _xlsx_tables(data: bytes) -> list[Table]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a non-workbook
        raise FileFormatError(_("无法读取该文件，请上传 .xlsx 格式的 Excel 工作簿或 CSV 文件。")) from exc
    tables = []
    for sheet in workbook.worksheets[:2]:
        rows = sheet.iter_rows(values_only=True)
        header = _clean_header(next(rows, ()))
        if header:
            tables.append(Table(sheet.title, header, rows))
    return tables


def _csv_table(data: bytes, name: str) -> Table:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileFormatError(_("CSV 文件编码无法识别，请另存为 UTF-8 或 GB18030 编码。"))
    reader = csv.reader(io.StringIO(text))
    header = _clean_header(next(reader, ()))
    return Table(name, header, (tuple(r) for r in reader))


def read_tables(data: bytes, filename: str) -> list[Table]:
    """The tables of one uploaded file: a workbook's first two sheets, or one CSV."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        tables = [_csv_table(data, filename)]
    elif lower.endswith((".xlsx", ".xlsm")):
        tables = _xlsx_tables(data)
    else:
        raise FileFormatError(_("只支持 .xlsx 或 .csv 文件（“%(name)s”）。") % {"name": filename})
    if not tables or not tables[0].header:
        raise FileFormatError(_("文件“%(name)s”是空的，没有表头。") % {"name": filename})
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
