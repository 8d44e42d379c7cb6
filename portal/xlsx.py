"""Reading an uploaded workbook (.xlsx) or CSV file: the one path every import takes.

    from portal import xlsx

    with xlsx.read_upload(upload, filename=name, max_bytes=limit,
                          sheets=[("台帐", "台账")]) as book:      # or [0, 1]: the first two worksheets
        sheet = book.sheets[0]                                 # None when the workbook has no such sheet
        for number, values in sheet.rows:                      # row number as Excel shows it, values from column A
            ...

The file is parsed in a sandboxed child process (`portal.sandbox`, code in
`portal.upload_reader`) with an address-space limit (PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES,
1 GB) and a CPU-time limit (PNEUMO_UPLOAD_SANDBOX_CPU_SECONDS); rows stream back while the
caller checks them. Anything wrong with the file - not a workbook, an old .xls, encrypted,
damaged, sizes declared in it beyond what it holds, a crash, a panic or a limit reached in the
reader - raises `WorkbookFileError` with a Chinese message naming the likely cause; the
calling process is never at risk. Callers end their job "refused" and write nothing.

What a row holds: "" for an empty cell, float for a number, bool, date/datetime/time for a
date-formatted cell, `CellError("#DIV/0!")` for an Excel error value (a broken formula: report
it, never take it for a blank), str otherwise, as typed. A value merged over several rows is
repeated in the rows below it that hold other data.

`normalise(value)` (NFKC: full-width digits, letters, brackets, hyphens and spaces become
ASCII) is applied by the importers before validating every column whose value has a format
(codes, numbers, dates, phones, choices); free text (names, addresses) is stored as typed, so
Chinese punctuation in it stays. Blank rows are left out. A CSV file reads as one sheet (UTF-8 or
GB18030; a field longer than PNEUMO_UPLOAD_CSV_FIELD_MAX_CHARS is refused naming its row).

`text_stored_as_number(value)` tells whether a long code (USCC, ID number) came as a number:
Excel keeps 15 significant digits, so its last digits are already lost; callers report
`text_column_message(label)` for it rather than a wrong check digit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from portal import sandbox

log = logging.getLogger(__name__)

# A package whose parts add up to more than this many times the upload limit is refused (zip bomb).
MAX_EXPANSION = 30
SCAN_CHUNK = 1 << 20


class WorkbookFileError(Exception):
    """The upload is not a readable workbook; the message is for the user (Chinese)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class CellError(str):
    """A cell holding an Excel error value (#DIV/0!, #N/A, #REF!…), usually a broken formula."""


@dataclass
class UploadSheet:
    name: str
    last_row: int  # the sheet's last row number (the progress bar's estimate)
    rows: Iterator[tuple[int, list]]


@dataclass
class Upload:
    sheet_names: list[str]
    sheets: list[UploadSheet | None]


def memory_limit() -> int:
    return settings.PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES


def cpu_limit() -> int:
    return settings.PNEUMO_UPLOAD_SANDBOX_CPU_SECONDS


def csv_field_limit() -> int:
    return settings.PNEUMO_UPLOAD_CSV_FIELD_MAX_CHARS


def _messages(code: str, params: dict) -> str:
    save_again = _("请在 Excel 中重新保存为 .xlsx 后再上传。")
    messages = {
        "old_xls": _("这是旧版 Excel 97-2003 工作簿（.xls）或其他 Office 旧格式文件，不能直接导入。"
                     "请在 Excel 中“另存为”Excel 工作簿（*.xlsx）后再上传。"),
        "encrypted": _("文件已加密，请取消密码保护后再上传（在 Excel 中：文件 → 信息 → 保护工作簿 → 用密码进行加密，"
                       "清空密码并保存）。"),
        "not_xlsx": _("文件不是 Excel 工作簿（.xlsx）：内容与扩展名不符，可能是其他类型的文件改了扩展名。"
                      "请在 Excel 中保存为 .xlsx 后再上传。"),
        "damaged_zip": _("文件已损坏，无法读取（压缩包结构不完整）。请重新保存或重新下载后再上传。"),
        "not_workbook_package": _("文件不是 Excel 工作簿（.xlsx）：可能是 Word、WPS 或其他压缩文件改了扩展名。"
                                  "请在 Excel 中保存为 .xlsx 后再上传。"),
        "expands_too_much": _("文件解压后的内容过大，超出系统允许的范围，请拆分后分批导入。"),
        "declared_too_large": _("文件中声明的内容大小超出系统允许的范围，文件可能已损坏或由其他软件生成。") + save_again,
        "declared_counts": _("文件中声明的共享字符串数量（%(declared)s）与实际内容不符，文件可能已损坏或被篡改。") % {
            "declared": params.get("declared", "")} + save_again,
        "damaged_xml": _("文件已损坏或不是有效的 Excel 工作簿，无法打开。") + save_again,
        "damaged_workbook": _("文件已损坏或不是有效的 Excel 工作簿，无法打开。") + save_again,
        "damaged_sheet": _("文件已损坏，“%(sheet)s”工作表的内容无法读取。") % {"sheet": params.get("sheet", "")}
        + save_again,
        "merged_too_large": _("文件中合并的单元格范围过大（合并了数十万行以上），请取消合并后再上传。"),
        "csv_encoding": _("CSV 文件编码无法识别，请另存为 UTF-8 或 GB18030 编码。"),
        "csv_field_too_large": _("CSV 文件第 %(row)s 行有一个字段超过 %(limit)s 个字符，超出允许的长度："
                                 "可能是引号不成对，使后面的多行被读成了一个字段。请检查该行后重新上传。") % {
            "row": params.get("row", ""), "limit": params.get("limit", "")},
        "csv_damaged": _("CSV 文件第 %(row)s 行格式不正确（可能含有空字符或引号不成对），请检查该行后重新上传。") % {
            "row": params.get("row", "")},
        "memory": _("文件中声明的表格范围过大或内容过多（例如在很远的行、列中有内容，或文件已损坏），"
                    "读取所需的内存超出了系统上限，未导入任何数据。请删除多余的行列或拆分后重新保存上传。"),
        "cpu": _("读取文件所需的时间超出了系统上限（文件过大或结构异常），未导入任何数据。请拆分后分批导入。"),
        "timeout": _("读取文件所需的时间超出了系统上限（文件过大或结构异常），未导入任何数据。请拆分后分批导入。"),
        "crash": _("读取文件时读取程序异常退出，文件可能已损坏或结构异常，未导入任何数据。") + save_again,
    }
    return messages.get(code) or messages["crash"]


def failure_message(failure: sandbox.SandboxFailure) -> str:
    code = failure.params.get("code", "") if failure.code == "refused" else failure.code
    return _messages(code, failure.params)


@contextlib.contextmanager
def _as_path(source) -> Iterator[str]:
    """A path the child can open: the file's own when it has one, else a private copy."""
    if hasattr(source, "temporary_file_path"):  # a large upload Django spooled to disk
        yield source.temporary_file_path()
        return
    if isinstance(source, str | os.PathLike):
        yield os.fspath(source)
        return
    try:
        path = source.path  # a stored file on the file system
    except (AttributeError, NotImplementedError, ValueError):
        path = None
    if isinstance(path, str) and os.path.isfile(path):
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="upload-", suffix=".bin") as copy:
        if isinstance(source, bytes | bytearray):
            copy.write(source)
        else:
            fileobj: IO[bytes] = source
            fileobj.seek(0)
            shutil.copyfileobj(fileobj, copy, 1 << 20)
        copy.flush()
        yield copy.name


class _Stream:
    """Items of the child's stream handed to the sheet each belongs to; rows of a sheet read
    after a later one are kept until asked for."""

    def __init__(self, items: Iterator[dict], count: int):
        self.items = items
        self.pending: list[list[list]] = [[] for _ in range(count)]
        self.done = False

    def rows(self, index: int) -> Iterator[tuple[int, list]]:
        while True:
            if self.pending[index]:
                batch, self.pending[index] = self.pending[index], []
                for batch_rows in batch:
                    yield from batch_rows
                continue
            if self.done:
                return
            item = self._next()
            if item is None:
                continue
            if item["sheet"] == index:
                yield from item["rows"]
                continue
            self.pending[item["sheet"]].append(item["rows"])
            if item["sheet"] > index:
                return  # the child sends all rows of a sheet before any of a later one

    def _next(self) -> dict | None:
        try:
            return next(self.items)
        except StopIteration:
            self.done = True
            return None
        except sandbox.SandboxFailure as failure:
            self.done = True
            raise _refusal(failure) from None


def _refusal(failure: sandbox.SandboxFailure) -> WorkbookFileError:
    if failure.code != "refused":
        log.warning("upload reader ended by the sandbox: %s %s", failure.code,
                    {k: v for k, v in failure.params.items() if k in ("signal", "returncode", "exception")})
    code = failure.params.get("code", "") if failure.code == "refused" else failure.code
    return WorkbookFileError(_messages(code, failure.params), code)


@contextlib.contextmanager
def read_upload(source, *, filename: str, max_bytes: int,
                sheets: Sequence[int | Sequence[str]] = (0,)) -> Iterator[Upload]:
    """The upload (a path, bytes, an uploaded or stored file, a binary file object) read in
    the sandbox. `sheets`: for each sheet wanted, its index among the worksheets or the names
    it may have (the first one present is taken). A CSV file is one sheet, named `filename`."""
    size = _size(source)
    if size > max_bytes:
        raise WorkbookFileError(_("文件大小为 %(size)s MB，超过 %(limit)s MB 的上限。请删除无关的工作表、图片，"
                                  "或拆分后分批导入。") % {"size": _mb(size), "limit": _mb(max_bytes)}, "too_large")
    is_csv = filename.lower().endswith(".csv")
    with _as_path(source) as path:
        request = {
            "path": path, "format": "csv" if is_csv else "xlsx", "name": filename,
            "sheets": [0] if is_csv else [s if isinstance(s, int) else list(s) for s in sheets],
            "max_bytes": max_bytes, "max_expansion": MAX_EXPANSION, "memory_bytes": memory_limit(),
            "csv_field_chars": csv_field_limit(), "scan_chunk": SCAN_CHUNK,
        }
        with sandbox.run("upload_reader", request, memory_bytes=memory_limit(), cpu_seconds=cpu_limit(),
                         error_type=CellError) as run:
            items = iter(run)
            try:
                head = next(items)
            except StopIteration:
                raise WorkbookFileError(_messages("crash", {}), "crash") from None
            except sandbox.SandboxFailure as failure:
                raise _refusal(failure) from None
            stream = _Stream(items, len(head["sheets"]))
            book = Upload(head["book"], [
                None if meta is None else UploadSheet(meta["name"], meta["last_row"], stream.rows(index))
                for index, meta in enumerate(head["sheets"])])
            yield book


def _size(source) -> int:
    if isinstance(source, bytes | bytearray):
        return len(source)
    if isinstance(source, str | os.PathLike):
        return os.path.getsize(source)
    size = getattr(source, "size", None)
    if size is None:
        position = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(position)
    return size


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def normalise(value):
    """NFKC for text (full-width "０６３５－８２１１２３４" becomes "0635-8211234"); other values as they are."""
    if value.__class__ is str and not value.isascii():
        return unicodedata.normalize("NFKC", value)
    return value


# ---- Long codes Excel turned into numbers ------------------------------------------------------------


def text_stored_as_number(value) -> bool:
    """A USCC or ID number that came as a number cell: Excel keeps 15 significant digits, so
    an 18-character code typed as a number has already lost its last digits."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def text_column_message(label: str) -> str:
    return _("“%(label)s”列的单元格是数字格式：Excel 只保留15位有效数字，末尾几位已经丢失。"
             "请把该列设置为“文本”格式，重新填写后再上传。") % {"label": label}


# ---- Imports of the portal's own templates (the worker roster, the patient list) ---------------


@dataclass
class ImportResult:
    """What a template import found and did: every problem of every row (dicts with row, column,
    value, problem, expected; nothing written when there is one) or the rows it wrote."""

    errors: list[dict]
    created: int = 0
    updated: int = 0
    rows: int = 0


def cell_text(value) -> str:
    """A cell as the user typed it: 12.0 → "12", an empty cell → "", surrounding spaces dropped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def read_template_rows(source, *, filename: str, max_bytes: int, sheet: str, headers: list[str],
                       max_rows: int | None = None, too_many: str = "") -> Iterator[tuple[int, list]]:
    """(row number as Excel shows it, values padded to the template's width) of the data rows
    below the template's header row (its first cell is the first header; a trailing * marks a
    required column), from the sheet named `sheet` or else the first one. A header that differs
    from the template's, no header, or a data row past `max_rows` (`too_many` says so) is a
    WorkbookFileError."""
    with read_upload(source, filename=filename, max_bytes=max_bytes, sheets=[(sheet,), 0]) as book:
        found = book.sheets[0] or book.sheets[1]
        if found is None:
            raise WorkbookFileError(_("工作簿中没有工作表。"))
        header_found = False
        for number, values in found.rows:
            cells = [cell_text(v) if not isinstance(v, CellError) else "" for v in values]
            if not header_found:
                if cells and cells[0].rstrip("*") == headers[0]:
                    if [c.rstrip("*") for c in cells[:len(headers)]] != headers:
                        raise WorkbookFileError(_("表头与模板不一致，请使用下载的模板（列顺序不能改动）。"))
                    header_found = True
                continue
            if any(cells):
                if max_rows is not None and number > max_rows + 2:
                    raise WorkbookFileError(too_many)
                yield number, list(values) + [""] * (len(headers) - len(values))
        if not header_found:
            raise WorkbookFileError(_("没有找到表头行（第一列为“%(header)s”），请使用下载的模板。") % {
                "header": headers[0]})
