"""Hostile and awkward patient lists, built by tests/upload_generators.py as for the ledger: the
shared runner reads them in the sandbox; a file that cannot be read ends the job "refused" with a
Chinese reason, nothing written and its upload (ID numbers) deleted; what the clerk clearly meant
(full-width digits, a far-away declared size) is checked as usual."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from patients import imports
from patients.models import ImportStatus, Patient
from portal import xlsx
from tests import upload_generators as gen
from tests.patients.test_excel import row, validate, workbook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def content(rows: list[dict]) -> bytes:
    return workbook(rows).read()


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("名单.xlsx", data)


def refused(job, fragment: str) -> None:
    assert job.status == ImportStatus.REFUSED, (job.status, job.errors)
    assert fragment in job.errors[0]["problem"], job.errors
    assert job.finished_at is not None and not job.file
    assert not Patient.objects.exists()


def test_a_huge_shared_strings_count_is_refused_before_reading(clerk):
    refused(validate(clerk, upload(gen.huge_shared_strings_count(content([row()])))), "共享字符串数量")


def test_a_zip_that_inflates_past_the_limit_is_refused(clerk, settings):
    settings.PNEUMO_IMPORT_MAX_BYTES = 200_000
    data = gen.zip_bomb(content([row()]), inflated_bytes=xlsx.MAX_EXPANSION * 200_000 + 1)
    assert len(data) < 200_000
    refused(validate(clerk, upload(data)), "解压后的内容过大")


def test_an_encrypted_workbook_is_named_as_such(clerk):
    refused(validate(clerk, upload(gen.encrypted(content([row()])))), "文件已加密，请取消密码保护后再上传")


def test_a_huge_declared_dimension_is_not_believed(clerk):
    job = validate(clerk, upload(gen.huge_declared_dimension(content([row(), row(name="钱二")]))))
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert job.rows_total == 2
    assert imports.PATIENTS.commit_start(actor=clerk, job=job).status == ImportStatus.DONE
    assert Patient.objects.count() == 2


def test_full_width_id_numbers_are_read_as_typed_meant(clerk):
    first = row()
    number = first["id_number"]
    job = validate(clerk, workbook([{**first, "id_number": gen.full_width(number)}]))
    assert job.status == ImportStatus.VALIDATED, job.errors
    imports.PATIENTS.commit_start(actor=clerk, job=job)
    assert Patient.objects.get().id_number == number


def test_an_id_number_typed_as_a_number_is_named_per_cell(clerk):
    data = gen.number_typed_cell(content([row()]), "B3", "3.71502196005011E+17")
    job = validate(clerk, upload(data))
    assert job.status == ImportStatus.INVALID
    [problem] = [e for e in job.errors if e["column"] == "居民身份证号"]
    assert problem["row"] == 3 and "文本" in problem["problem"]
    assert not Patient.objects.exists() and not job.file
