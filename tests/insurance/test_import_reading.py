"""Reading the agency's export with calamine (portal.xlsx): numbers come back as floats, empty
cells as "", formula errors as CellError; what is not a readable xlsx package is refused
before calamine reads it; uploads above the limit are refused by the form and the service."""

import datetime
import io
import re
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from insurance import services
from insurance.excel import Table, read_tables
from insurance.models import CoverageImport, CoverageImportJob, InsuranceCoverage
from ledger.demo import demo_uscc
from portal.xlsx import CellError
from tests.insurance.conftest import ID_A, ID_B, add_worker
from tests.insurance.test_services import rejected, unit, xlsx

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def import_file(actor, region, period, data, name="社保导出.xlsx"):
    return services.coverage_import(actor=actor, region=region, period=period, files=[(name, data)],
                                     original_name=name)


# ---- Values as calamine gives them ---------------------------------------------------------------------------


def test_calamine_gives_floats_and_empty_strings():
    data = xlsx([("甲厂", "91370000000000001X", 12, datetime.date(2020, 6, 30)), (None,), ("乙厂", None, 3, None)])
    with read_tables(data, "a.xlsx", max_bytes=MB) as [table]:
        assert table.header == ["单位名称", "统一社会信用代码", "参保人数", "截至日期"]
        rows = list(table.rows)
    # Rows come numbered as the sheet shows them; the blank row 3 is left out.
    assert rows[0] == [2, ["甲厂", "91370000000000001X", 12.0, datetime.date(2020, 6, 30)]]
    assert type(rows[0][1][2]) is float
    assert rows[1:] == [[4, ["乙厂", "", 3.0, ""]]]
    assert (table.last_row, table.rows_estimate) == (4, 3)


def test_numbers_where_text_is_expected_read_as_typed():
    assert services._text(12.0) == "12"
    assert services._text(1.5) == "1.5"
    assert services._text(datetime.date(2020, 6, 30)) == "2020-06-30"
    assert services._text("  甲厂 ") == "甲厂"
    assert services._as_int(61.0) == 61 and services._as_int(1.5) is None and services._as_int(True) is None


def test_an_import_reads_float_counts_dates_and_a_name_typed_as_a_number(ledger, hrss_clerk, period_2020h1, county):
    stranger = demo_uscc("371502", 990001)
    # openpyxl writes ints; calamine reads them back as 61.0 and 2024.0.
    record = import_file(hrss_clerk, county, period_2020h1, xlsx([
        unit(ledger["cement"], 61, as_of=datetime.datetime(2020, 6, 30, 0, 0)),
        (2024, stranger, 3, "2020/06/30"),
    ]))
    coverage = InsuranceCoverage.objects.get(employer=ledger["cement"])
    assert (coverage.insured_workers, coverage.as_of) == (61, datetime.date(2020, 6, 30))
    # The name stays the text the user typed, not "2024.0".
    assert record.unmatched == [{"row": 3, "name": "2024", "uscc": stranger, "insured_workers": 3}]


def test_an_id_number_typed_as_a_number_is_reported_masked(ledger, hrss_clerk, period_2020h1, county):
    """Excel keeps 15 significant digits: an 18-digit number typed into a number cell is no
    longer the number. It is reported, masked, and never shown as 1.1e+17."""
    errors = rejected(hrss_clerk, county, period_2020h1,
                      xlsx([unit(ledger["cement"], 10)], persons=[("赵一", int(ID_B), ledger["cement"].uscc)]))
    [error] = errors
    assert (error["sheet"], error["row"], error["column"]) == ("参保人员", 2, "居民身份证号")
    assert re.fullmatch(r"110105\*{8}\d{4}", error["value"]), error["value"]
    assert "e+" not in error["value"]


def test_a_workbook_with_persons_marks_rostered_workers(ledger, hrss_clerk, period_2020h1, county):
    add_worker(ledger["cement"], "赵一", ID_A)
    add_worker(ledger["cement"], "钱二", ID_B)
    record = import_file(hrss_clerk, county, period_2020h1,
                         xlsx([unit(ledger["cement"], 61)], persons=[("赵一", ID_A, ledger["cement"].uscc)]))
    assert (record.persons_total, record.workers_insured, record.workers_uninsured) == (1, 1, 1)


# ---- Formula errors ---------------------------------------------------------------------------------------


def with_error_cells(content: bytes, cells: dict[tuple[str, str], str]) -> bytes:
    """The workbook with the given cells ((sheet part, reference) → error) turned into broken
    formulas, as Excel saves them: <c t="e"><f>…</f><v>#DIV/0!</v></c>."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            for (part, reference), value in cells.items():
                if info.filename == part:
                    data, replaced = re.subn(rf'<c r="{reference}"[^>]*>.*?</c>'.encode(), (
                        f'<c r="{reference}" t="e"><f>1/0</f><v>{value}</v></c>').encode(), data)
                    assert replaced == 1, reference
            target.writestr(info, data)
    return buffer.getvalue()


def test_a_formula_error_is_reported_per_cell_not_taken_for_blank_or_text(ledger, hrss_clerk, period_2020h1, county):
    content = with_error_cells(
        xlsx([unit(ledger["cement"], 10), unit(ledger["coal"], 20)],
             persons=[("赵一", ID_A, ledger["cement"].uscc)]),
        {("xl/worksheets/sheet1.xml", "C2"): "#DIV/0!", ("xl/worksheets/sheet1.xml", "B3"): "#N/A",
         ("xl/worksheets/sheet2.xml", "B2"): "#REF!"})
    errors = rejected(hrss_clerk, county, period_2020h1, content)
    assert sorted((e["sheet"], e["row"], e["column"], e["value"], e["problem"]) for e in errors) == [
        ("参保人员", 2, "居民身份证号", "#REF!", "单元格是错误值 #REF!（公式出错），请改正公式或直接填写数值"),
        ("参保单位", 2, "参保人数", "#DIV/0!", "单元格是错误值 #DIV/0!（公式出错），请改正公式或直接填写数值"),
        ("参保单位", 3, "统一社会信用代码", "#N/A", "单元格是错误值 #N/A（公式出错），请改正公式或直接填写数值"),
    ]
    assert {e["expected"] for e in errors} == {"不小于0的整数", "18位统一社会信用代码（GB 32100-2015）",
                                               "18位居民身份证号（GB 11643）"}


def test_a_formula_error_in_a_name_is_not_a_name(ledger, hrss_clerk, period_2020h1, county):
    content = with_error_cells(xlsx([unit(ledger["cement"], 10)]), {("xl/worksheets/sheet1.xml", "A2"): "#NAME?"})
    [error] = rejected(hrss_clerk, county, period_2020h1, content)
    assert (error["column"], error["value"]) == ("单位名称", "#NAME?")
    assert "公式出错" in error["problem"]


def test_cell_errors_reach_the_parser_as_cell_errors():
    content = with_error_cells(xlsx([("甲厂", "91370000000000001X", 12, "2020-06-30")]),
                               {("xl/worksheets/sheet1.xml", "C2"): "#DIV/0!"})
    with read_tables(content, "a.xlsx", max_bytes=MB) as [table]:
        value = list(table.rows)[0][1][2]
    assert value.__class__ is CellError and value == "#DIV/0!"


# ---- Files that are not readable workbooks -------------------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    ("单位名称,统一社会信用代码,参保人数,截至日期\n某厂,91370102000000019K,1,2020-06-30\n".encode("gbk"),
     "内容与扩展名不符"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "旧版 Excel 97-2003"),
    (b"%PDF-1.7\n", "内容与扩展名不符"),
])
def test_a_non_xlsx_file_renamed_xlsx_is_refused(hrss_clerk, period_2020h1, county, content, message):
    [error] = rejected(hrss_clerk, county, period_2020h1, content)
    assert message in error["problem"]


def test_a_zip_that_is_not_a_workbook_is_refused(hrss_clerk, period_2020h1, county):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("word/document.xml", "<w:document/>")
        package.writestr("[Content_Types].xml", "<Types/>")
    [error] = rejected(hrss_clerk, county, period_2020h1, buffer.getvalue())
    assert "可能是 Word、WPS 或其他压缩文件改了扩展名" in error["problem"]


def test_a_damaged_workbook_is_refused(ledger, hrss_clerk, period_2020h1, county):
    content = xlsx([unit(ledger["cement"], 10)])
    [error] = rejected(hrss_clerk, county, period_2020h1, content[: len(content) // 2])
    assert "文件已损坏" in error["problem"]


def test_a_zip_bomb_is_refused_before_it_is_read(ledger, hrss_clerk, period_2020h1, county, settings):
    """A valid workbook carrying a member that inflates far beyond the upload limit: the
    package check refuses it (calamine alone would read the sheet and import it)."""
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = 100_000
    source = zipfile.ZipFile(io.BytesIO(xlsx([unit(ledger["cement"], 10)])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("xl/media/padding.bin", b"\0" * (31 * 100_000))
    content = buffer.getvalue()
    assert len(content) < 100_000
    [error] = rejected(hrss_clerk, county, period_2020h1, content)
    assert "文件解压后的内容过大" in error["problem"]


def test_an_empty_workbook_is_refused(hrss_clerk, period_2020h1, county):
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    [error] = rejected(hrss_clerk, county, period_2020h1, buffer.getvalue())
    assert "是空的，没有表头" in error["problem"]


# ---- The size limit -----------------------------------------------------------------------------------------


def test_the_service_refuses_a_file_above_the_limit(ledger, hrss_clerk, period_2020h1, county, settings):
    content = xlsx([unit(ledger["cement"], 10)])
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationError, match="MB 的上限"):
        import_file(hrss_clerk, county, period_2020h1, content)
    with pytest.raises(ValidationError, match="MB 的上限"):
        import_file(hrss_clerk, county, period_2020h1, io.BytesIO(content))
    assert not InsuranceCoverage.objects.exists() and not CoverageImport.objects.exists()
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = len(content)
    assert import_file(hrss_clerk, county, period_2020h1, content).rows_matched == 1


def test_the_form_refuses_a_file_above_the_limit_in_mb(client, ledger, hrss_clerk, period_2020h1, county, settings):
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = 1 * MB
    client.force_login(hrss_clerk)
    for field in ("file", "persons_file"):
        files = {"file": SimpleUploadedFile("社保.xlsx", xlsx([unit(ledger["cement"], 10)]))}
        files[field] = SimpleUploadedFile("大文件.csv" if field == "persons_file" else "大文件.xlsx",
                                          b"x" * (3 * MB // 2))
        response = client.post(reverse("insurance:import"),
                               {"region": county.pk, "period": period_2020h1.pk, **files})
        assert response.status_code == 200
        assert "文件大小为 1.5 MB，超过 1 MB 的上限" in response.content.decode(), field
    assert not InsuranceCoverage.objects.exists() and not CoverageImportJob.objects.exists()
    assert "文件不超过 1 MB" in client.get(reverse("insurance:import")).content.decode()
    # The form itself refuses it, before any service sees the file.
    from insurance.forms import ImportForm

    form = ImportForm({"region": county.pk, "period": period_2020h1.pk},
                      {"file": SimpleUploadedFile("大文件.xlsx", b"x" * (3 * MB // 2))}, actor=hrss_clerk)
    assert not form.is_valid()
    assert form.errors["file"] == ["文件大小为 1.5 MB，超过 1 MB 的上限。请删除无关的工作表、图片，或拆分后分批导入。"]


def test_the_limits_come_from_the_environment(monkeypatch):
    import importlib

    import portal.settings

    monkeypatch.setenv("PNEUMO_COVERAGE_IMPORT_MAX_BYTES", str(5 * MB))
    monkeypatch.setenv("PNEUMO_COVERAGE_INLINE_MAX_BYTES", "1000")
    reloaded = importlib.reload(portal.settings)
    assert (reloaded.PNEUMO_COVERAGE_IMPORT_MAX_BYTES, reloaded.PNEUMO_COVERAGE_INLINE_MAX_BYTES) == (5 * MB, 1000)
    monkeypatch.delenv("PNEUMO_COVERAGE_IMPORT_MAX_BYTES")
    monkeypatch.delenv("PNEUMO_COVERAGE_INLINE_MAX_BYTES")
    reloaded = importlib.reload(portal.settings)
    assert (reloaded.PNEUMO_COVERAGE_IMPORT_MAX_BYTES, reloaded.PNEUMO_COVERAGE_INLINE_MAX_BYTES) == (
        20 * MB, 256 * 1024)


def test_a_csv_table_estimates_its_rows():
    with read_tables("单位名称,统一社会信用代码,参保人数,截至日期\n甲,1,2,3\n乙,1,2,3\n".encode(), "a.csv",
                     max_bytes=MB) as [table]:
        assert isinstance(table, Table) and table.rows_estimate == 2 and len(list(table.rows)) == 2
