"""Generators of hostile and awkward uploads, one per class of bad input (issue 10). Each takes
a well-formed workbook (bytes) or builds one, and returns the file as it reaches the portal.

They rewrite the package's XML directly, as other software (or an attacker) would write it:
openpyxl cannot produce these files."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

SHEET = "xl/worksheets/sheet1.xml"


def rewrite(content: bytes, change: Callable[[str, bytes], bytes], extra: dict[str, bytes] | None = None) -> bytes:
    """The package with every part passed through `change(name, data)`, plus `extra` parts."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def huge_declared_dimension(content: bytes) -> bytes:
    """The sheet's <dimension> claims the whole grid (A1:XFD1048576); the cells are as they were."""
    def change(name, data):
        if name != SHEET:
            return data
        return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', data)
    return rewrite(content, change)


def sparse_far_cell(content: bytes, value: str = " ") -> bytes:
    """One more cell, holding `value` (a space typed far away), at the sheet's last column and
    row: a 3 KB file whose data spans 17 billion cells."""
    cell = f'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c></row>'

    def change(name, data):
        return data.replace(b"</sheetData>", cell.encode() + b"</sheetData>") if name == SHEET else data
    return rewrite(content, change)


def huge_shared_strings_count(content: bytes, count: str = "18446744073709551615") -> bytes:
    """A sharedStrings table declaring `count` strings (2^64-1) while it holds one; cell A1 uses it."""
    def change(name, data):
        if name == SHEET:
            return re.sub(rb'<c r="A1"( [^>]*)?>.*?</c>', b'<c r="A1" t="s"><v>0</v></c>', data, count=1, flags=re.S)
        if name == "[Content_Types].xml" and b"sharedStrings" not in data:
            return data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        if name == "xl/_rels/workbook.xml.rels" and b"sharedStrings" not in data:
            return data.replace(b"</Relationships>", b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats'
                                b'.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                b"</Relationships>")
        return data
    source = zipfile.ZipFile(io.BytesIO(content))
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
           f'main" count="{count}" uniqueCount="{count}"><si><t>标题</t></si></sst>').encode()
    parts = {} if "xl/sharedStrings.xml" in source.namelist() else {"xl/sharedStrings.xml": sst}

    def change_all(name, data):
        if name == "xl/sharedStrings.xml":
            return re.sub(rb'count="\d+" uniqueCount="\d+"', f'count="{count}" uniqueCount="{count}"'.encode(), data)
        return change(name, data)
    return rewrite(content, change_all, parts)


def many_rows(content: bytes, rows: int, column: str = "AZ") -> bytes:
    """`rows` more rows below the data, each one number in `column` (beyond the ledger's
    columns): a file that costs seconds of CPU to read."""
    cells = "".join(f'<row r="{r}"><c r="{column}{r}"><v>{r}</v></c></row>' for r in range(1000, 1000 + rows))

    def change(name, data):
        return data.replace(b"</sheetData>", cells.encode() + b"</sheetData>") if name == SHEET else data
    return rewrite(content, change)


def zip_bomb(content: bytes, inflated_bytes: int) -> bytes:
    """An extra part of `inflated_bytes` zeros: a small file that inflates past the limit."""
    return rewrite(content, lambda name, data: data, {"xl/media/padding.bin": b"\0" * inflated_bytes})


def encrypted(content: bytes, password: str = "secret") -> bytes:
    """The workbook as Excel saves it with "Encrypt with password" (an OLE2 container)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(content)).encrypt(password, out)
    return out.getvalue()


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (０６３５－８２１１２３４)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def merged_over_rows(content: bytes, ranges: list[str]) -> bytes:
    """The sheet with these ranges merged (B5:B7): only the first cell of each keeps a value, as
    Excel leaves it."""
    def change(name, data):
        if name != SHEET:
            return data
        for ref in ranges:
            first, last = ref.split(":")
            column = re.match(r"[A-Z]+", first).group()
            start, end = int(first[len(column):]), int(last[len(column):])
            for row in range(start + 1, end + 1):
                data = re.sub(rf'<c r="{column}{row}"( [^>]*)?(/>|>.*?</c>)'.encode(), b"", data, count=1, flags=re.S)
        merges = "".join(f'<mergeCell ref="{ref}"/>' for ref in ranges)
        block = f'<mergeCells count="{len(ranges)}">{merges}</mergeCells>'.encode()
        if b"<mergeCells" in data:
            return re.sub(rb"<mergeCells[^>]*>", lambda m: m.group() + merges.encode(), data, count=1)
        return data.replace(b"</sheetData>", b"</sheetData>" + block, 1)
    return rewrite(content, change)


def number_typed_cell(content: bytes, reference: str, number: str) -> bytes:
    """Cell `reference` holding a number, as Excel stores a USCC or ID typed into a General cell
    (9.13715E+17: the last digits are gone)."""
    def change(name, data):
        if name != SHEET:
            return data
        data, replaced = re.subn(rf'<c r="{reference}"( [^>]*)?(/>|>.*?</c>)'.encode(),
                                 f'<c r="{reference}" t="n"><v>{number}</v></c>'.encode(), data, count=1, flags=re.S)
        assert replaced == 1, reference
        return data
    return rewrite(content, change)


def csv_with_long_field(header: str, chars: int) -> bytes:
    """A CSV whose second data row has one field of `chars` characters (an unbalanced quote
    that swallowed the rest of the file reads the same)."""
    return (f"{header}\n甲厂,91370000000000001X,1,2020-06-30\n乙厂,\"{'长' * chars}\",1,2020-06-30\n").encode()
