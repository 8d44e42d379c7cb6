"""Reading an uploaded workbook or CSV file: the code that runs INSIDE the sandbox child
(`portal.sandbox`), never in a web or Celery worker's own process.

It imports no Django and nothing of the project (the child is started with `python -I` on this
file's directory), touches no database and holds no secrets. `main(request)` is a generator:
it yields the workbook's description, then the rows of each sheet asked for, in batches. A
problem with the file is raised as `Refusal(code, **params)`; the parent turns the code into a
Chinese message. Whatever else happens here (a panic in the Rust reader, an allocation that
fails at the address-space limit, a CPU-time limit) ends only this process.

What is checked before a byte of a sheet is parsed: the package is a zip with a workbook in it
(an old .xls, an encrypted workbook or another file renamed .xlsx are named as such), the sum
of its parts' declared sizes is bounded, the shared-strings table's declared counts fit its
size, and each sheet's XML is scanned once (C-speed regular expressions over 1 MB chunks) for
its real extent, its merged ranges and its error cells. A sheet whose real extent fits the
dense budget is read by calamine (Rust, several times faster than openpyxl); one whose extent
(or declared dimension) is far larger than its cells - a stray space at XFD1048576 - is
streamed cell by cell, so it costs what its real cells cost.

Rows come back as (row number, values from column A): blank rows are skipped, and a value
merged over several rows is repeated in the rows below it that hold other data.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import xml.etree.ElementTree as ET
import zipfile

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BATCH_ROWS = 500
SCAN_CHUNK = 1 << 20
# calamine holds a sheet as a dense rectangle of cells of this many bytes each (and more for text).
DENSE_CELL_BYTES = 32
# Every <si> of the shared-strings table takes at least this many bytes of XML; every reference
# to one in a sheet (<c r="A1" t="s"><v>0</v></c>) at least this many.
MIN_SHARED_STRING_BYTES = 5
MIN_CELL_BYTES = 8
# Rows a merged range may fill in all (a merge over a million rows is no clerk's intent).
MAX_MERGED_FILL_ROWS = 1_000_000

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


class Refusal(Exception):
    """The file cannot be read; `code` names why, `params` fill the message."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


# ---- Package checks -------------------------------------------------------------------------------


def _check_package(path: str, max_bytes: int, max_expansion: int) -> zipfile.ZipFile:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE2_MAGIC):
        if _ole_encrypted(path):
            raise Refusal("encrypted")
        raise Refusal("old_xls")
    if not head.startswith(b"PK"):
        raise Refusal("not_xlsx")
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise Refusal("damaged_zip") from None
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise Refusal("not_workbook_package")
    if sum(info.file_size for info in infos) > max_expansion * max_bytes:
        raise Refusal("expands_too_much")
    return archive


def _ole_encrypted(path: str) -> bool:
    """An OLE2 container holding an encrypted workbook (Excel's "encrypt with password"
    wraps the xlsx in one), or an .xls with a password."""
    try:
        import msoffcrypto

        with open(path, "rb") as fh:
            return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
    except Exception:  # noqa: BLE001 - not a file msoffcrypto knows: say what its streams say
        with open(path, "rb") as fh:
            return "EncryptedPackage".encode("utf-16-le") in fh.read()


def _xml(archive: zipfile.ZipFile, name: str, limit: int = 16 << 20) -> ET.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        raise Refusal("declared_too_large", part=name)
    try:
        return ET.fromstring(archive.read(name))
    except ET.ParseError:
        raise Refusal("damaged_xml", part=name) from None


def _resolve(target: str) -> str:
    target = target.lstrip("/")
    return target if target.startswith("xl/") else "xl/" + target


def _worksheets(archive: zipfile.ZipFile) -> tuple[list[tuple[str, str]], bool]:
    """[(sheet name, part)] of the workbook's worksheets in order (chart sheets left out), and
    whether dates count from 1904."""
    workbook = _xml(archive, "xl/workbook.xml")
    rels = _xml(archive, "xl/_rels/workbook.xml.rels")
    targets = {}
    if rels is not None:
        for rel in rels.iter(f"{{{PKG_REL_NS}}}Relationship"):
            targets[rel.get("Id")] = (_resolve(rel.get("Target", "")), rel.get("Type", ""))
    sheets = []
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        part, kind = targets.get(sheet.get(f"{{{REL_NS}}}id"), ("", ""))
        if kind.endswith("/worksheet"):
            sheets.append((sheet.get("name", ""), part))
    properties = workbook.find(f"{{{MAIN_NS}}}workbookPr")
    date1904 = properties is not None and properties.get("date1904") in ("1", "true")
    return sheets, date1904


def _check_shared_strings(archive: zipfile.ZipFile, sheet_bytes: int) -> None:
    """The table's declared counts against what its size can hold (readers reserve memory for
    the declared count: 2^64-1 makes them panic or abort)."""
    try:
        info = archive.getinfo("xl/sharedStrings.xml")
    except KeyError:
        return
    with archive.open(info) as stream:
        head = stream.read(4096)
    match = re.search(rb"<(?:\w+:)?sst\b([^>]*)>", head)
    if not match:
        return
    for attribute, bound in ((b"uniqueCount", info.file_size // MIN_SHARED_STRING_BYTES + 16),
                             (b"count", sheet_bytes // MIN_CELL_BYTES + 16)):
        found = re.search(rb"\b" + attribute + rb'="\s*([^"]*)"', match.group(1))
        if not found:
            continue
        text = found.group(1).strip()
        if not text.isdigit() or int(text) > bound:
            raise Refusal("declared_counts", attribute=attribute.decode(), declared=text.decode(errors="replace")[:40])


# ---- One pass over a sheet's XML before reading it --------------------------------------------------

# Patterns that start with a literal, which the regular-expression engine searches for quickly.
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_ANY_ROW_NUMBER = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')  # rows with a namespace prefix
_WIDE_COLUMN = re.compile(rb' r="([A-Z]{2,})\d')  # cells beyond column Z (A-Z need not be looked at)
_ANY_COLUMN = re.compile(rb'\br="([A-Z]{2,})\d')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_ERROR_MARKER = b't="e"'


def column_index(letters: bytes | str) -> int:
    """0-based index of a column's letters (A → 0)."""
    number = 0
    for char in letters.decode() if isinstance(letters, bytes) else letters:
        number = number * 26 + ord(char) - 64
    return number - 1


class Scan:
    def __init__(self):
        self.max_row = 0
        self.max_column = 0  # 1-based
        self.declared_area = 0
        self.merges: list[tuple[int, int, int]] = []  # first row, column (0-based), last row
        self.has_errors = False
        self.size = 0
        self.first_chunk = True


def _scan(archive: zipfile.ZipFile, part: str, chunk_size: int = SCAN_CHUNK) -> Scan:
    scan = Scan()
    scan.size = archive.getinfo(part).file_size
    columns: set[bytes] = set()
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(chunk_size):
            # A tag cut by the chunk boundary is read whole with the next chunk.
            cut = chunk.rfind(b"<")
            if cut < 0:
                tail += chunk
                continue
            data, tail = tail + chunk[:cut], chunk[cut:]
            _scan_chunk(scan, data, columns)
        _scan_chunk(scan, tail, columns)
    wide = max((column_index(c) + 1 for c in columns), default=0)
    scan.max_column = max(wide, 26 if scan.max_row else 0)
    return scan


def _scan_chunk(scan: Scan, data: bytes, columns: set[bytes]) -> None:
    if not data:
        return
    prefixed = b":row" in data or b":c " in data  # a namespace prefix on the sheet's elements (rare)
    rows = (_ANY_ROW_NUMBER if prefixed else _ROW_NUMBER).findall(data)
    if rows:
        scan.max_row = max(scan.max_row, max(map(int, rows)))
    columns.update((_ANY_COLUMN if prefixed else _WIDE_COLUMN).findall(data))
    if not scan.has_errors and _ERROR_MARKER in data:
        scan.has_errors = True
    if scan.first_chunk:  # the <dimension> comes before <sheetData>
        if b"sheetData" in data:
            scan.first_chunk = False
        if dimension := _DIMENSION.search(data):
            scan.first_chunk = False
            last_column, last_row = dimension.group(3) or dimension.group(1), dimension.group(4) or dimension.group(2)
            if last_column and last_row:
                scan.declared_area = (column_index(last_column) + 1) * int(last_row)
    if b"mergeCell" in data:
        for first_col, first_row, _last_col, last_row in _MERGE.findall(data):
            first, last = int(first_row), int(last_row)
            if last > first:
                scan.merges.append((first, column_index(first_col), last))
    if not scan.max_row and b"<c" in data:
        scan.max_row = 1


_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*?\bt="e"[^>]*?)(?<!/)>(.*?)</(?:\w+:)?c>', re.S)
_CELL_REFERENCE = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")


def _error_cells(archive: zipfile.ZipFile, part: str) -> dict[int, dict[int, str]]:
    """{row: {column: "#DIV/0!"}} of the cells holding an Excel error value (calamine reads
    them as empty); they travel to the parent as {"$e": "#DIV/0!"} and become CellError."""
    found: dict[int, dict[int, str]] = {}
    for match in _ERROR_CELL.finditer(archive.read(part)):
        reference, value = _CELL_REFERENCE.search(match.group(1)), _CELL_VALUE.search(match.group(2))
        if reference:
            found.setdefault(int(reference.group(2)), {})[column_index(reference.group(1))] = (
                value.group(1).decode(errors="replace") if value else "#VALUE!")
    return found


# ---- Dense sheets: calamine ------------------------------------------------------------------------


def _calamine_rows(workbook, name: str, errors: dict[int, dict[int, str]]):
    sheet = workbook.get_sheet_by_name(name)
    if sheet.start is None:
        return
    first_column = sheet.start[1]
    indent = [""] * first_column
    # The iterator yields blank rows above the first non-empty one (rows count from 1) but
    # starts each row at the first non-empty column: rows are indented back to column A.
    for number, values in enumerate(sheet.iter_rows(), start=1):
        if first_column:
            values = indent + values
        if number in errors:
            for column, value in errors[number].items():
                if column < len(values):
                    values[column] = {"$e": value}
        yield number, values


# ---- Sparse sheets: streamed cell by cell --------------------------------------------------------------

_BUILTIN_DATE_FORMATS = {14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57}
_DATE_TOKENS = re.compile(r"[dmyhs]", re.I)
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell formats (the `s` attribute) that show a number as a date or time."""
    styles = _xml(archive, "xl/styles.xml")
    if styles is None:
        return set()
    custom = {}
    for fmt in styles.iter(f"{{{MAIN_NS}}}numFmt"):
        try:
            custom[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
        except ValueError:
            continue
    dates = set()
    xfs = styles.find(f"{{{MAIN_NS}}}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else ()):
        try:
            fmt_id = int(xf.get("numFmtId", "0"))
        except ValueError:
            continue
        code = custom.get(fmt_id)
        if fmt_id in _BUILTIN_DATE_FORMATS or (code and _DATE_TOKENS.search(_FORMAT_NOISE.sub("", code))):
            dates.add(index)
    return dates


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    try:
        stream = archive.open("xl/sharedStrings.xml")
    except KeyError:
        return []
    strings = []
    si, t, rph = f"{{{MAIN_NS}}}si", f"{{{MAIN_NS}}}t", f"{{{MAIN_NS}}}rPh"
    with stream:
        for _event, element in ET.iterparse(stream, events=("end",)):
            if element.tag == si:
                phonetic = {id(x) for r in element.iter(rph) for x in r.iter(t)}
                strings.append("".join(x.text or "" for x in element.iter(t) if id(x) not in phonetic))
                element.clear()
    return strings


def _from_serial(serial: float, date1904: bool):
    if date1904:
        base = datetime.datetime(1904, 1, 1)
    else:
        base = datetime.datetime(1899, 12, 30) if serial >= 61 else datetime.datetime(1899, 12, 31)
    moment = base + datetime.timedelta(days=serial)
    if serial < 1:
        return moment.time()
    if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
        return moment.date()
    return moment


def _streamed_rows(archive: zipfile.ZipFile, part: str, date1904: bool):
    strings = _shared_strings(archive)
    dates = _date_styles(archive)
    row_tag, c_tag, v_tag = f"{{{MAIN_NS}}}row", f"{{{MAIN_NS}}}c", f"{{{MAIN_NS}}}v"
    is_tag, t_tag = f"{{{MAIN_NS}}}is", f"{{{MAIN_NS}}}t"
    number = 0
    with archive.open(part) as stream:
        for _event, element in ET.iterparse(stream, events=("end",)):
            if element.tag != row_tag:
                continue
            reference = element.get("r")
            number = int(reference) if reference and reference.isdigit() else number + 1
            cells: dict[int, object] = {}
            position = -1
            for cell in element.iter(c_tag):
                ref = cell.get("r")
                position = column_index(re.match(r"[A-Z]+", ref).group()) if ref else position + 1
                kind = cell.get("t", "n")
                raw = cell.findtext(v_tag)
                if kind == "inlineStr":
                    box = cell.find(is_tag)
                    value = "".join(x.text or "" for x in box.iter(t_tag)) if box is not None else ""
                elif raw is None:
                    continue
                elif kind == "s":
                    try:
                        value = strings[int(raw)]
                    except (ValueError, IndexError):
                        raise Refusal("damaged_xml", part=part) from None
                elif kind in ("str", "d"):
                    value = raw
                elif kind == "b":
                    value = raw.strip() in ("1", "true")
                elif kind == "e":
                    value = {"$e": raw}
                else:
                    try:
                        value = float(raw)
                    except ValueError:
                        raise Refusal("damaged_xml", part=part) from None
                    style = cell.get("s")
                    if style and style.isdigit() and int(style) in dates:
                        try:
                            value = _from_serial(value, date1904)
                        except (OverflowError, ValueError):
                            pass
                if value != "":
                    cells[position] = value
            element.clear()
            if cells:
                values = [""] * (max(cells) + 1)
                for position, value in cells.items():
                    values[position] = value
                yield number, values


# ---- Rows as the consumer gets them ----------------------------------------------------------------------


def _blank(value) -> bool:
    return value is None or (value.__class__ is str and not value.strip())


def _finish_rows(rows, merges: list[tuple[int, int, int]]):
    """Merged values repeated below, blank rows left out."""
    starts: dict[int, list[tuple[int, int]]] = {}
    filled = 0
    for first, column, last in merges:
        filled += last - first
        starts.setdefault(first, []).append((column, last))
    if filled > MAX_MERGED_FILL_ROWS:
        raise Refusal("merged_too_large")
    active: list[tuple[int, int, object]] = []  # column, last row, value
    for number, values in rows:
        if active:
            active = [a for a in active if a[1] >= number]
            if active and not all(_blank(v) for v in values):
                for column, _last, value in active:
                    if column >= len(values):
                        values.extend([""] * (column + 1 - len(values)))
                    if _blank(values[column]):
                        values[column] = value
        for column, last in starts.get(number, ()):
            if column < len(values) and not _blank(values[column]):
                active.append((column, last, values[column]))
        if not all(_blank(v) for v in values):
            yield number, values


# ---- Entry points -------------------------------------------------------------------------------------


def _pick(sheets: list[tuple[str, str]], wanted) -> tuple[str, str] | None:
    if isinstance(wanted, int):
        return sheets[wanted] if wanted < len(sheets) else None
    names = dict(sheets)
    for name in wanted:
        if name in names:
            return name, names[name]
    return None


def read_xlsx(request: dict):
    path = request["path"]
    archive = _check_package(path, request["max_bytes"], request["max_expansion"])
    sheets, date1904 = _worksheets(archive)
    chosen = [_pick(sheets, wanted) for wanted in request["sheets"]]
    # A sheet asked for twice (by its name, then as the first one) is read once.
    chosen = [None if pick in chosen[:index] else pick for index, pick in enumerate(chosen)]
    scans = {}
    for pick in chosen:
        if pick is not None and pick[1] not in scans:
            if pick[1] not in archive.namelist():
                raise Refusal("damaged_sheet", sheet=pick[0])
            scans[pick[1]] = _scan(archive, pick[1], request.get("scan_chunk") or SCAN_CHUNK)
    _check_shared_strings(archive, sum(s.size for s in scans.values()))
    yield {"book": [name for name, _part in sheets],
           "sheets": [None if p is None else {"name": p[0], "last_row": scans[p[1]].max_row} for p in chosen]}
    dense_cells = request["memory_bytes"] // 4 // DENSE_CELL_BYTES
    workbook = None
    for index, pick in enumerate(chosen):
        if pick is None:
            continue
        name, part = pick
        scan = scans[part]
        errors = _error_cells(archive, part) if scan.has_errors else {}
        area = scan.max_row * scan.max_column
        if area <= dense_cells and scan.declared_area <= dense_cells:
            if workbook is None:
                from python_calamine import CalamineWorkbook

                try:
                    workbook = CalamineWorkbook.from_path(path)
                except Exception:  # noqa: BLE001 - calamine raises several types for a damaged package
                    raise Refusal("damaged_workbook") from None
            rows = _calamine_rows(workbook, name, errors)
        else:
            rows = _streamed_rows(archive, part, date1904)
        batch = []
        try:
            for item in _finish_rows(rows, scan.merges):
                batch.append(item)
                if len(batch) >= BATCH_ROWS:
                    yield {"sheet": index, "rows": batch}
                    batch = []
        except (Refusal, MemoryError):
            raise
        except (ValueError, KeyError, ET.ParseError, zipfile.BadZipFile, EOFError) as exc:
            raise Refusal("damaged_sheet", sheet=name) from exc
        except Exception as exc:
            if "calamine" in type(exc).__module__:  # its CalamineError, XmlError, ZipError…
                raise Refusal("damaged_sheet", sheet=name) from exc
            raise
        if batch:
            yield {"sheet": index, "rows": batch}


def read_csv(request: dict):
    with open(request["path"], "rb") as fh:
        data = fh.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Refusal("csv_encoding")
    del data
    limit = request["csv_field_chars"]
    csv.field_size_limit(limit)
    lines = text.count("\n") + (not text.endswith("\n"))
    yield {"book": [request.get("name", "")], "sheets": [{"name": request.get("name", ""), "last_row": lines}]}
    reader = csv.reader(io.StringIO(text))
    batch = []
    number = 0
    while True:
        number += 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise Refusal("csv_field_too_large", row=number, limit=limit) from None
            raise Refusal("csv_damaged", row=number) from None
        if not all(_blank(v) for v in values):
            batch.append((number, values))
        if len(batch) >= BATCH_ROWS:
            yield {"sheet": 0, "rows": batch}
            batch = []
    if batch:
        yield {"sheet": 0, "rows": batch}


def main(request: dict):
    if request["format"] == "csv":
        return read_csv(request)
    return read_xlsx(request)
