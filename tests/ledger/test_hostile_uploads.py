"""Uploads that used to take a process down or confuse the clerk (issue 10), each built by a
generator in tests/upload_generators.py and sent through the ledger import: the file is parsed
in the sandbox, so the process running the test (the web or Celery worker) lives on; a file
that cannot be read ends the job "refused" with a Chinese reason and nothing written; what the
clerk clearly meant (full-width characters, merged cells, a far-away stray space) imports."""

import pytest
from django.urls import reverse

from ledger import columns as cols
from ledger import imports
from ledger.models import Employer, ImportStatus
from portal import sandbox, xlsx
from portal.importing import max_import_bytes
from tests import upload_generators as gen
from tests.ledger.test_import import (
    assert_nothing_written,
    build_workbook,
    make_row,
    problems,
    upload,
    validate,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

KEY_COLUMN = {c.key: i for i, c in enumerate(cols.COLUMNS)}


def letter(key: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(KEY_COLUMN[key] + 1)


def refused(job, fragment: str) -> None:
    assert job.status == ImportStatus.REFUSED, (job.status, job.errors)
    assert fragment in job.errors[0]["problem"], job.errors
    assert job.finished_at is not None
    assert_nothing_written()


# ---- Sizes declared in the file --------------------------------------------------------------------------


def test_a_huge_declared_dimension_is_not_believed(clerk, period_2020h1, open_submission):
    content = gen.huge_declared_dimension(build_workbook([make_row(1), make_row(2)]))
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert job.rows_total == 2


def test_a_huge_shared_strings_count_is_refused_before_reading(clerk, period_2020h1, open_submission):
    """2^64-1 strings declared: the Rust reader panicked (a BaseException) reserving them."""
    content = gen.huge_shared_strings_count(build_workbook([make_row(1)]))
    assert len(content) < 20_000
    refused(validate(clerk, period_2020h1, content), "共享字符串数量（18446744073709551615）与实际内容不符")


def test_a_shared_strings_count_in_the_billions_is_refused(clerk, period_2020h1, open_submission):
    content = gen.huge_shared_strings_count(build_workbook([make_row(1)]), count="4000000000")
    refused(validate(clerk, period_2020h1, content), "共享字符串数量")


def test_a_space_typed_far_away_costs_one_cell(clerk, period_2020h1, open_submission, settings):
    """A 3 KB file with a space at XFD1048576 took the web worker to 1.7 GB (or aborted it): it
    now imports, read cell by cell, within a memory limit far below the declared area's."""
    settings.PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES = 256 * 1024 * 1024
    content = gen.sparse_far_cell(build_workbook([make_row(1), make_row(2)]))
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert job.rows_total == 2
    job = imports.LEDGER.commit(actor=clerk, job=job)
    assert job.status == ImportStatus.DONE and Employer.objects.count() == 2


def test_a_value_typed_far_away_is_read_where_it_is(clerk, period_2020h1, open_submission, settings):
    settings.PNEUMO_UPLOAD_SANDBOX_MEMORY_BYTES = 256 * 1024 * 1024
    content = gen.sparse_far_cell(build_workbook([make_row(1)]), value="多余")
    with xlsx.read_upload(content, filename="a.xlsx", max_bytes=1 << 20, sheets=[(cols.SHEET_NAME,)]) as book:
        rows = list(book.sheets[0].rows)
    assert rows[-1][0] == 1048576 and rows[-1][1][16383] == "多余" and len(rows[-1][1]) == 16384
    assert rows[-2][0] == cols.DATA_START_ROW and rows[-2][1][KEY_COLUMN["name"]] == make_row(1)["name"]


def test_a_zip_that_inflates_past_the_limit_is_refused(clerk, period_2020h1, open_submission, settings):
    settings.PNEUMO_IMPORT_MAX_BYTES = 200_000
    content = gen.zip_bomb(build_workbook([make_row(1)]), inflated_bytes=xlsx.MAX_EXPANSION * 200_000 + 1)
    assert len(content) < 200_000
    refused(validate(clerk, period_2020h1, content), "解压后的内容过大")


# ---- What the child process does when a reader dies, and its limits -----------------------------------


def test_a_reader_that_aborts_is_a_refusal_and_the_caller_lives(tmp_path):
    """calamine asked to allocate the dense area of a far-away cell aborts the child (Rust's
    allocation failure at the address-space limit): the parent gets a typed failure."""
    path = tmp_path / "far.xlsx"
    path.write_bytes(gen.sparse_far_cell(build_workbook([make_row(1)])))
    request = {"path": str(path), "format": "xlsx", "sheets": [[cols.SHEET_NAME]], "max_bytes": 1 << 20,
               "max_expansion": 30, "memory_bytes": 1 << 62, "csv_field_chars": 1000}  # no sheet is "too sparse"
    with sandbox.run("upload_reader", request, memory_bytes=512 << 20, cpu_seconds=60) as run:
        with pytest.raises(sandbox.SandboxFailure) as failure:
            list(run)
    assert failure.value.code == "memory"
    assert "声明的表格范围过大" in xlsx.failure_message(failure.value)


def test_the_cpu_limit_ends_a_slow_read_as_a_refusal(clerk, period_2020h1, open_submission, settings):
    settings.PNEUMO_UPLOAD_SANDBOX_CPU_SECONDS = 1
    content = gen.many_rows(build_workbook([make_row(1)]), 1_000_000)  # seconds of CPU to read
    assert len(content) < max_import_bytes()
    refused(validate(clerk, period_2020h1, content), "读取文件所需的时间超出了系统上限")


def test_a_refused_upload_through_the_page_ends_refused_and_stops_polling(client, clerk, period_2020h1,
                                                                          open_submission):
    from portal.models import Region

    client.force_login(clerk)
    content = gen.huge_shared_strings_count(build_workbook([make_row(1)]))
    response = client.post(reverse("ledger:import"), {"county": Region.objects.get(code="371502").pk,
                                                      "period": period_2020h1.pk, "file": upload(content)})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="refused"' in page and "every 1s" not in page
    assert "文件无法读取，已拒绝导入" in page and "共享字符串数量" in page


# ---- Named refusals ----------------------------------------------------------------------------------------


def test_an_encrypted_workbook_is_named_as_such(clerk, period_2020h1, open_submission):
    refused(validate(clerk, period_2020h1, gen.encrypted(build_workbook([make_row(1)]))),
            "文件已加密，请取消密码保护后再上传")


def test_a_uscc_stored_as_a_number_is_told_to_be_text(clerk, period_2020h1, open_submission):
    content = gen.number_typed_cell(build_workbook([make_row(1)]), f"{letter('uscc')}{cols.DATA_START_ROW}",
                                    "9.13715020000050E+17")
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.INVALID
    [problem] = problems(job, "统一社会信用代码")
    assert "数字格式" in problem and "设置为“文本”格式" in problem
    assert "校验码" not in problem


# ---- Forgiving where the intent is clear --------------------------------------------------------------------


def test_full_width_codes_phones_digits_and_dates_import(clerk, period_2020h1, open_submission):
    row = make_row(1)
    content = build_workbook([make_row(1, uscc=gen.full_width(row["uscc"]), region_code=gen.full_width("371502"),
                                       legal_representative_phone="（0635）8211234",
                                       health_manager_phone=gen.full_width("13800000000"),
                                       industry=gen.full_width("3011"), total_workers=gen.full_width("50"),
                                       declared_on=gen.full_width("2020-03-15"))])
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.VALIDATED, job.errors
    imports.LEDGER.commit(actor=clerk, job=job)
    employer = Employer.objects.get()
    assert employer.uscc == row["uscc"]
    assert employer.legal_representative_phone == "(0635)8211234"
    assert employer.name == row["name"]  # free text kept as typed (full-width brackets stay)
    record = employer.records.get()
    assert record.total_workers == 50 and str(record.declared_on) == "2020-03-15"


def test_a_township_merged_over_rows_counts_for_each_row(clerk, period_2020h1, open_submission):
    first = cols.DATA_START_ROW
    content = gen.merged_over_rows(
        build_workbook([make_row(1, township="柳园街道"), make_row(2, township=None), make_row(3, township=None)]),
        [f"{letter('township')}{first}:{letter('township')}{first + 2}"])
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.VALIDATED, job.errors
    imports.LEDGER.commit(actor=clerk, job=job)
    assert set(Employer.objects.values_list("township__name", flat=True)) == {"柳园街道"}
    assert Employer.objects.count() == 3
