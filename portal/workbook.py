"""The one place the portal creates workbooks: everything it hands out (the ledger template,
exports, error reports, the coverage template and work list, the dashboard table, inspection
and plan reports, and what later apps export) is written through `new_workbook`.

    book = new_workbook()                     # openpyxl write-only: rows stream to the file
    sheet = book.sheet("未参保工作清单")
    sheet.append(["单位名称", ...])            # every str is made safe
    sheet.append([employer.name, ...])
    sheet.styled("标题", font=Font(bold=True)) # a styled cell, made safe too
    book.save(stream)                         # or book.to_bytes()

A text starting with = + - @ (or a tab or carriage return) would be taken by a spreadsheet for
a formula (=HYPERLINK(...), =cmd|...): every string is written as a string cell, and such a one
with Excel's quote prefix (the invisible apostrophe), so it shows and re-imports exactly as
typed and never runs. Control characters that XML cannot hold are dropped instead of failing
the file. The sheet wrapper passes everything else (column widths, freeze panes, merged cells,
data validations, `sheet["A1"]` on a normal workbook) to openpyxl's worksheet.

A test finds every URL that returns a workbook and checks that no cell of any holds a formula
built from user text; another checks that no other module creates an openpyxl Workbook.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from typing import IO

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook as _OpenpyxlWorkbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_THIN = Side(style="thin", color="808080")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
YES, NO = "是", "否"


class Sheet:
    """An openpyxl worksheet whose `append` and `styled` write every string safely."""

    __slots__ = ("_ws", "_write_only")

    def __init__(self, ws, write_only: bool):
        object.__setattr__(self, "_ws", ws)
        object.__setattr__(self, "_write_only", write_only)

    def _cell(self, value):
        return WriteOnlyCell(self._ws, value=value) if self._write_only else Cell(self._ws, value=value)

    def safe(self, value):
        """The value as it may be written: a str without XML-illegal characters, and one that
        would read as a formula as a quote-prefixed string cell."""
        if not isinstance(value, str):
            return value
        value = str(value)  # a subclass (a lazy translation, a SafeString) as a plain str
        if not value.isprintable():
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_TRIGGERS):
            cell = self._cell(value)
            cell.data_type = "s"
            cell.quotePrefix = True
            return cell
        return value

    def append(self, values) -> None:
        self._ws.append([v if isinstance(v, Cell) else self.safe(v) for v in values])

    def styled(self, value, *, font=None, fill=None, alignment=None, border=None, number_format=None):
        """A cell with a style, for `append`; its value made safe like any other."""
        safe = self.safe(value)
        cell = safe if isinstance(safe, Cell) else self._cell(safe)
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if alignment is not None:
            cell.alignment = alignment
        if border is not None:
            cell.border = border
        if number_format is not None:
            cell.number_format = number_format
        return cell

    def __getattr__(self, name):
        return getattr(self._ws, name)

    def __setattr__(self, name, value):
        setattr(self._ws, name, value)

    def __getitem__(self, key):
        return self._ws[key]


class Book:
    def __init__(self, *, write_only: bool = True):
        self._wb = _OpenpyxlWorkbook(write_only=write_only)
        self._write_only = write_only
        if not write_only:
            self._wb.remove(self._wb.active)

    def sheet(self, title: str) -> Sheet:
        return Sheet(self._wb.create_sheet(title), self._write_only)

    def save(self, stream: IO[bytes] | str) -> None:
        self._wb.save(stream)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()


def new_workbook(*, write_only: bool = True) -> Book:
    """A new workbook. Write-only (the default) streams rows to the file, so a large export
    stays within memory; a normal one allows styling cells after they are written."""
    return Book(write_only=write_only)


def xlsx_response(content: bytes | Callable[[IO[bytes]], object], filename: str) -> HttpResponse:
    """A workbook as a download named `filename`: the one way a view sends one. `content` is
    the file's bytes, or a function writing the workbook to a stream: it is written to a
    temporary file (openpyxl's write-only mode streams rows there) and sent in chunks, and the
    file disappears when the response is closed."""
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    spool = tempfile.TemporaryFile()
    content(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def write_list(stream: IO[bytes] | str, *, sheet: str, title: str, columns: Iterable, rows: Iterable[list] = ()) -> None:
    """A list workbook of one column definition (the patient list, the worker roster): the title,
    the headers (a required column's marked *), the rows, and a 填表说明 sheet saying for each
    column whether it is required and what to fill in. A column has `header`, `required`,
    `expected` and `width`."""
    columns = list(columns)
    wb = new_workbook()
    ws = wb.sheet(sheet)
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A3"
    ws.append([ws.styled(title, font=Font(bold=True, size=13))])
    ws.append([ws.styled(c.header + ("*" if c.required else ""), font=Font(bold=True), fill=HEADER_FILL,
                         border=BORDER) for c in columns])
    for row in rows:
        ws.append(row)
    notes = wb.sheet("填表说明")
    notes.append(["列名", "是否必填", "应填写"])
    for column in columns:
        notes.append([column.header, YES if column.required else NO, column.expected])
    wb.save(stream)


def write_error_report(stream: IO[bytes] | str, errors: Iterable[dict]) -> None:
    """An import's per-cell report (行号, 列名, 填写内容, 问题, 应填写): one line per problem, user
    values neutralised."""
    wb = new_workbook()
    ws = wb.sheet("错误报告")
    for letter, width in zip("ABCDE", (8, 22, 30, 60, 60), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append([ws.styled(h, font=Font(bold=True), fill=HEADER_FILL, border=BORDER)
               for h in ("行号", "列名", "填写内容", "问题", "应填写")])
    for error in errors:
        ws.append([error.get("row"), error.get("column") or "", error.get("value") or "", error.get("problem") or "",
                   error.get("expected") or ""])
    wb.save(stream)
