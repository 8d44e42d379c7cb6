"""Reading uploaded xlsx workbooks with python-calamine (Rust; several times faster than
openpyxl's read-only mode, which still writes every workbook the portal hands out).

calamine parses a whole sheet at once and holds it; rows become Python lists one at a time.
Empty cells come back as "", numbers as float, dates as date/datetime. Two of its habits are
undone here: its row iterator starts each row at the first non-empty column (rows are
indented back to column A, so row numbers and column letters in error reports are the
sheet's), and it reads formula errors (#DIV/0!, #N/A) as empty cells (they are found in the
sheet's XML and put back as CellError, so a broken formula is reported, not taken for a
blank). Its XML reader expands no entities; `check_package` refuses what is not an xlsx
package or would expand beyond reason, before calamine reads it.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator
from typing import IO

from django.utils.translation import gettext as _
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.utils import column_index_from_string
from python_calamine import CalamineWorkbook

log = logging.getLogger(__name__)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A decompressed package larger than this many times the upload limit is refused (zip bomb).
MAX_EXPANSION = 30


class WorkbookFileError(Exception):
    """The upload is not a readable xlsx workbook; the message is for the user (Chinese)."""


def check_package(fileobj: IO[bytes], *, max_bytes: int) -> None:
    """Refuse, with a Chinese message, what is not an xlsx package: an old .xls, another file
    renamed .xlsx, a damaged zip, or a zip that would expand beyond reason."""
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    if head.startswith(OLE2_MAGIC):
        raise WorkbookFileError(_("这是旧版 Excel 97-2003 工作簿（.xls）或其他 Office 旧格式文件，不能直接导入。"
                                  "请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再上传。"))
    if not head.startswith(b"PK"):
        raise WorkbookFileError(_("文件不是 Excel 工作簿（.xlsx）：内容与扩展名不符，可能是其他类型的文件改了扩展名。"
                                  "请在 Excel 中保存为 .xlsx 后再上传。"))
    try:
        with zipfile.ZipFile(fileobj) as package:
            infos = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise WorkbookFileError(_("文件已损坏，无法读取（压缩包结构不完整）。请重新保存或重新下载后再上传。")) from None
    finally:
        fileobj.seek(0)
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise WorkbookFileError(_("文件不是 Excel 工作簿（.xlsx）：可能是 Word、WPS 或其他压缩文件改了扩展名。"
                                  "请在 Excel 中保存为 .xlsx 后再上传。"))
    if sum(info.file_size for info in infos) > MAX_EXPANSION * max_bytes:
        raise WorkbookFileError(_("文件解压后的内容过大，超出系统允许的范围，请拆分后分批导入。"))


def open_workbook(fileobj: IO[bytes], *, max_bytes: int) -> CalamineWorkbook:
    """The upload as a calamine workbook, after `check_package`; WorkbookFileError otherwise."""
    check_package(fileobj, max_bytes=max_bytes)
    try:
        return CalamineWorkbook.from_filelike(fileobj)
    except Exception as exc:  # calamine raises several types for a damaged package
        log.warning("xlsx upload: the workbook could not be opened (%s)", type(exc).__name__)
        raise WorkbookFileError(_("文件已损坏或不是有效的 Excel 工作簿，无法打开。请在 Excel 中重新保存为 .xlsx 后再上传。")) from None


def sheet_rows(fileobj: IO[bytes], workbook: CalamineWorkbook, sheet_name: str) -> tuple[Iterator[list], int]:
    """(rows of the sheet from A1 as lists, number of its last row); WorkbookFileError for a
    damaged sheet."""
    try:
        sheet = workbook.get_sheet_by_name(sheet_name)
        errors = _error_cells(fileobj, sheet_name)
    except Exception as exc:
        log.warning("xlsx upload: unreadable sheet data (%s)", type(exc).__name__)
        raise WorkbookFileError(_("文件已损坏，“%(sheet)s”工作表的内容无法读取。请在 Excel 中重新保存后再上传。") % {
            "sheet": sheet_name}) from None
    # The row iterator yields blank rows above the first non-empty one (rows count from 1) but
    # starts every row at the first non-empty column; an empty sheet has no start.
    start, end = sheet.start, sheet.end
    if start is None:
        return iter(()), 0
    return _from_column_a(sheet.iter_rows(), start[1], errors), end[0] + 1


class CellError(str):
    """A cell holding an Excel error value (#DIV/0!, #N/A, #REF!…), usually a broken formula."""


_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*?\bt="e"[^>]*?)(?<!/)>(.*?)</(?:\w+:)?c>', re.S)
_CELL_REFERENCE = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")


_ERROR_MARKER = b't="e"'
_SCAN_CHUNK = 1 << 20


def _error_cells(fileobj: IO[bytes], sheet_name: str) -> dict[int, dict[int, CellError]]:
    """{row: {column index: error}} (row 1-based, column 0-based) of the sheet's error cells.
    calamine reads them as empty; found here so that a broken formula is reported instead of
    being taken for a blank cell. The sheet's XML is streamed for the marker and only parsed
    when it is there."""
    fileobj.seek(0)
    with zipfile.ZipFile(fileobj) as archive:
        workbook = WorkbookParser(archive, "xl/workbook.xml")
        workbook.parse()
        part = next((rel.target for sheet, rel in workbook.find_sheets() if sheet.name == sheet_name), None)
        if part not in archive.namelist():
            return {}
        with archive.open(part) as stream:
            tail = b""
            while chunk := stream.read(_SCAN_CHUNK):
                if _ERROR_MARKER in tail + chunk[: len(_ERROR_MARKER)] or _ERROR_MARKER in chunk:
                    break
                tail = chunk[-len(_ERROR_MARKER):]
            else:
                return {}
        xml = archive.read(part)
    found: dict[int, dict[int, CellError]] = {}
    for match in _ERROR_CELL.finditer(xml):
        reference, value = _CELL_REFERENCE.search(match.group(1)), _CELL_VALUE.search(match.group(2))
        if reference:
            found.setdefault(int(reference.group(2)), {})[column_index_from_string(reference.group(1).decode()) - 1] = (
                CellError(value.group(1).decode() if value else "#VALUE!"))
    return found


def _from_column_a(rows: Iterator[list], first_column: int, errors: dict[int, dict[int, CellError]]) -> Iterator[list]:
    """Rows as the user sees them: from column A, with the error cells put back."""
    indent = [""] * first_column
    for number, values in enumerate(rows, start=1):
        if first_column:
            values = indent + values
        for column, value in errors.get(number, {}).items():
            if column < len(values):
                values[column] = value
        yield values
