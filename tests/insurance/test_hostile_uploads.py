"""The coverage import against the bad-input classes of issue 10 (generators in
tests/upload_generators.py): the agency's export is parsed in the sandbox like the ledger; an
unreadable file is refused with its reason (the background job ends "refused"), an oversized
CSV field names its row instead of a 500, full-width codes import, and an ID number or USCC
that Excel stored as a number is told to be text."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from insurance import services
from insurance.models import CoverageImportJob, CoverageImportStatus, InsuranceCoverage
from insurance.services import coverage_import_enqueue
from tests import upload_generators as gen
from tests.insurance.conftest import ID_A, add_worker
from tests.insurance.test_services import rejected, unit, xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

HEADER = "单位名称,统一社会信用代码,参保人数,截至日期"


def refusal(actor, region, period, data, name="f.xlsx") -> str:
    with pytest.raises(services.ImportRejected) as exc:
        services.coverage_import(actor=actor, region=region, period=period, files=[(name, data)])
    assert exc.value.refused
    assert not InsuranceCoverage.objects.exists()
    [error] = exc.value.errors
    return error.problem


def test_an_oversized_csv_field_names_its_row(ledger, hrss_clerk, period_2020h1, county, settings):
    settings.PNEUMO_UPLOAD_CSV_FIELD_MAX_CHARS = 10_000
    problem = refusal(hrss_clerk, county, period_2020h1, gen.csv_with_long_field(HEADER, 140_000), "社保.csv")
    assert "CSV 文件第 3 行有一个字段超过 10000 个字符" in problem


def test_an_oversized_csv_field_in_the_page_is_a_message_not_a_500(client, ledger, hrss_clerk, period_2020h1,
                                                                   county):
    client.force_login(hrss_clerk)
    upload = SimpleUploadedFile("社保.csv", gen.csv_with_long_field(HEADER, 20_000))  # small: read in the request
    response = client.post(reverse("insurance:import"), {"region": county.pk, "period": period_2020h1.pk,
                                                        "file": upload})
    assert response.status_code == 200
    assert "第 3 行有一个字段超过" in response.content.decode()


def test_a_background_job_with_a_bad_file_ends_refused(ledger, hrss_clerk, period_2020h1, county):
    content = gen.huge_shared_strings_count(xlsx([unit(ledger["cement"], 61)]))
    job = coverage_import_enqueue(actor=hrss_clerk, region=county, period=period_2020h1,
                                  upload=SimpleUploadedFile("社保.xlsx", content))
    job = services.coverage_import_run(job_id=job.pk)
    assert job.status == CoverageImportStatus.REFUSED and not job.file
    assert "共享字符串数量" in job.errors[0]["problem"]
    assert CoverageImportJob.objects.get().finished_at is not None


@pytest.mark.parametrize("build, fragment", [
    (lambda content: gen.encrypted(content), "文件已加密，请取消密码保护后再上传"),
    (lambda content: gen.huge_shared_strings_count(content), "共享字符串数量"),
    (lambda content: gen.zip_bomb(content, 30 * 200_000 + 1), "解压后的内容过大"),
])
def test_unreadable_workbooks_are_refused_with_their_reason(ledger, hrss_clerk, period_2020h1, county, build,
                                                            fragment, settings):
    settings.PNEUMO_COVERAGE_IMPORT_MAX_BYTES = 200_000
    assert fragment in refusal(hrss_clerk, county, period_2020h1, build(xlsx([unit(ledger["cement"], 61)])))


def test_a_far_away_stray_cell_does_not_stop_the_import(ledger, hrss_clerk, period_2020h1, county, settings):
    settings.PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES = 256 * 1024 * 1024
    content = gen.sparse_far_cell(gen.huge_declared_dimension(xlsx([unit(ledger["cement"], 61)])))
    record = services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1,
                                      files=[("f.xlsx", content)])
    assert record.rows_matched == 1 and InsuranceCoverage.objects.get().insured_workers == 61


def test_full_width_codes_and_counts_import(ledger, hrss_clerk, period_2020h1, county):
    cement = ledger["cement"]
    content = xlsx([(cement.name, gen.full_width(cement.uscc), gen.full_width("61"), gen.full_width("2020-06-30"))])
    services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1, files=[("f.xlsx", content)])
    assert InsuranceCoverage.objects.get().insured_workers == 61


def test_a_uscc_or_id_number_stored_as_a_number_is_told_to_be_text(ledger, hrss_clerk, period_2020h1, county):
    add_worker(ledger["cement"], "赵一", ID_A)
    content = xlsx([unit(ledger["cement"], 61), ("恒泰煤业有限公司", 9.13715e17, 1, "2020-06-30")],
                   persons=[("赵一", 1.10105194912310e17, ledger["cement"].uscc)])
    errors = rejected(hrss_clerk, county, period_2020h1, content)
    by_column = {e["column"]: e for e in errors}
    assert "数字格式" in by_column["统一社会信用代码"]["problem"]
    assert "设置为“文本”格式" in by_column["居民身份证号"]["problem"]
    assert "校验" not in by_column["居民身份证号"]["problem"]


def test_a_merged_unit_name_repeats_over_its_rows(ledger, hrss_clerk, period_2020h1, county):
    """The per-person sheet with the employer's USCC merged over its workers' rows."""
    cement = ledger["cement"]
    add_worker(cement, "赵一", ID_A)
    content = xlsx([unit(cement, 61)], persons=[("赵一", ID_A, cement.uscc), ("钱二", "110105194912310038", None)])

    def merge(name, data):
        if name != "xl/worksheets/sheet2.xml":
            return data
        return data.replace(b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="C2:C3"/></mergeCells>')
    record = services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1,
                                      files=[("f.xlsx", gen.rewrite(content, merge))])
    assert record.persons_total == 2 and record.workers_insured == 1
