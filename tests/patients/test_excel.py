import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from patients import excel, imports
from patients.models import AccessKind, ImportStatus, Patient, PatientAccess, PatientImportJob
from patients.tasks import run_import
from portal.models import Region, Role
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import make_user
from tests.patients.conftest import COUNTY, SIBLING, new_id, patient_data

pytestmark = pytest.mark.django_db


def row(**overrides) -> dict:
    values = {"name": "赵大山", "id_number": new_id(), "employer_name": "某石料厂", "diagnosis_kind": "职业性尘肺病",
              "disease": "矽肺", "stage": "贰期", "diagnosed_on": datetime.date(2016, 4, 1), "employer_gone": "是"}
    values.update(overrides)
    return values


def workbook(rows: list[dict]) -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.title = excel.SHEET
    ws.append(["尘肺病患者名单"])
    ws.append([c.header + ("*" if c.required else "") for c in excel.COLUMNS])
    for values in rows:
        ws.append([values.get(c.key, "") for c in excel.COLUMNS])
    stream = io.BytesIO()
    wb.save(stream)
    return SimpleUploadedFile("名单.xlsx", stream.getvalue())


def county():
    return Region.objects.get(code=COUNTY)


def test_a_clean_file_creates_the_files_with_their_category(clerk):
    job = imports.job_create(actor=clerk, county=county(), upload=workbook([row(), row(name="钱二", stage="1",
                                                                                  employer_gone="否")]))
    assert job.status == ImportStatus.DONE and job.rows_created == 2
    assert sorted(Patient.objects.values_list("relief_category", flat=True)) == ["b", "c"]
    assert not job.file  # the upload (ID numbers) is gone once the job ends


def test_one_bad_row_writes_nothing_and_every_problem_is_reported_by_cell(clerk):
    rows = [row(), row(id_number="371502196005011239"), row(stage=""),
            row(diagnosed_on=datetime.date(1930, 1, 1)), row(name="重复", id_number="X")]
    rows[4]["id_number"] = rows[0]["id_number"]
    job = imports.job_create(actor=clerk, county=county(), upload=workbook(rows))
    assert job.status == ImportStatus.INVALID and Patient.objects.count() == 0
    problems = {(e["row"], e["column"]): e["problem"] for e in job.errors}
    assert "校验位错误" in problems[(4, "居民身份证号")]
    assert "必填项为空" in problems[(5, "期别")]
    assert "不能早于出生日期" in problems[(6, "诊断日期")]
    assert "与第 3 行的身份证号重复" in problems[(7, "居民身份证号")]


def test_a_patient_held_by_another_county_is_refused_without_naming_it(clerk, sibling_clerk):
    from patients import services

    theirs = services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING))
    job = imports.job_create(actor=clerk, county=county(), upload=workbook([row(id_number=theirs.id_number)]))
    assert job.status == ImportStatus.INVALID
    assert "已在其他地区建档" in job.errors[0]["problem"] and "阳谷" not in job.errors[0]["problem"]
    assert Patient.objects.get(pk=theirs.pk).county.code == SIBLING


def test_importing_into_another_county_is_refused(sibling_clerk):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.job_create(actor=sibling_clerk, county=county(), upload=workbook([row()]))
    assert not Patient.objects.exists() and not PatientImportJob.objects.exists()


def test_a_large_file_goes_to_the_worker_path(clerk, settings, django_capture_on_commit_callbacks):
    settings.PNEUMO_IMPORT_INLINE_MAX_BYTES = 0
    with django_capture_on_commit_callbacks() as callbacks:
        job = imports.job_create(actor=clerk, county=county(), upload=workbook([row()]))
    assert job.status == ImportStatus.PENDING and len(callbacks) == 1
    run_import(job.pk)  # what the worker runs
    run_import(job.pk)  # a redelivery does nothing more
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Patient.objects.count() == 1


def test_a_file_that_is_not_a_workbook_fails_with_a_reason(clerk):
    job = imports.job_create(actor=clerk, county=county(), upload=SimpleUploadedFile("x.xlsx", b"not a workbook"))
    assert job.status == ImportStatus.FAILED and "不是 Excel 工作簿" in job.message


def test_exports_mask_ids_unless_the_role_needs_them_and_log_unmasked_ones(client, clerk):
    from patients import services

    patient = services.patient_create(actor=clerk, data=patient_data())
    viewer = make_user("3715", role=Role.VIEWER)
    client.force_login(viewer)
    sheet = load_workbook(io.BytesIO(b"".join(client.get(reverse("patients:excel-export")).streaming_content)))
    values = [c.value for r in sheet[excel.SHEET].iter_rows() for c in r]
    assert patient.id_number not in values and services.mask_id(patient.id_number) in values
    client.force_login(clerk)
    sheet = load_workbook(io.BytesIO(b"".join(client.get(reverse("patients:excel-export")).streaming_content)))
    assert patient.id_number in [c.value for r in sheet[excel.SHEET].iter_rows() for c in r]
    assert PatientAccess.objects.filter(user=clerk, kind=AccessKind.EXPORT, patient=patient).exists()


def test_the_upload_page_reports_errors(client, clerk):
    client.force_login(clerk)
    response = client.post(reverse("patients:import"), {"county": county().pk,
                                                        "file": workbook([row(stage="")])}, follow=True)
    body = response.content.decode()
    assert "校验未通过" in body and "必填项为空" in body


def test_each_patient_import_counts_once_in_the_outcome_metric(client, clerk):
    from tests.metrics import delta, import_outcomes

    before = import_outcomes(client)
    imports.job_create(actor=clerk, county=county(), upload=workbook([row()]))
    imports.job_create(actor=clerk, county=county(), upload=workbook([row(id_number="123")]))
    imports.job_create(actor=clerk, county=county(), upload=SimpleUploadedFile("x.xlsx", b"not a workbook"))
    assert delta(before, import_outcomes(client)) == {
        ("patients", "done"): 1, ("patients", "invalid"): 1, ("patients", "failed"): 1}


@pytest.mark.django_db(transaction=True)
def test_a_large_patient_export_is_written_by_the_worker_masked_as_inline_and_only_for_its_requester(
        worker_media, reference_data, client, clerk, sibling_clerk, settings):
    from patients import services

    patients = [services.patient_create(actor=clerk, data=patient_data()) for _ in range(2)]
    url = reverse("patients:excel-export")
    viewer = make_user("3715", role=Role.VIEWER)
    for user, masked in ((viewer, True), (clerk, False)):
        client.force_login(user)
        settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 2000
        inline = inline_workbook(client, url)
        PatientAccess.objects.filter(kind=AccessKind.EXPORT).delete()
        settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
        background, token = export_in_background(client, url)
        assert sheet_values(background) == sheet_values(inline)
        values = {c.value for r in background[excel.SHEET].iter_rows() for c in r}
        for patient in patients:
            assert (patient.id_number in values) is not masked
            assert (services.mask_id(patient.id_number) in values) is masked
        # The worker logs an unmasked export per patient, as the request does.
        logged = set(PatientAccess.objects.filter(user=user, kind=AccessKind.EXPORT).values_list("patient", flat=True))
        assert logged == (set() if masked else {p.pk for p in patients})
    assert_only_the_requester_may_fetch(client, token, [make_user(COUNTY, role=Role.VIEWER), sibling_clerk])
