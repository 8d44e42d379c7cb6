import datetime
import io

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from patients import excel, imports
from patients.models import AccessKind, ImportStatus, Patient, PatientAccess, PatientImportJob
from portal.models import Region, Role
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import assert_a_redelivered_commit_runs_once, make_user, press_commit_twice
from tests.patients.conftest import COUNTY, SIBLING, new_id, patient_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


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


def validate(actor, upload, where=None) -> PatientImportJob:
    """Upload and dry-run a patient list, as the upload page does."""
    job = imports.PATIENTS.create(actor=actor, county=where or county(), upload=upload)
    return imports.PATIENTS.validate_start(actor=actor, job=job)


def imported(actor, upload) -> PatientImportJob:
    job = validate(actor, upload)
    assert job.status == ImportStatus.VALIDATED, job.errors
    return imports.PATIENTS.commit_start(actor=actor, job=job)




def test_a_clean_file_is_checked_first_and_written_only_once_confirmed(clerk):
    job = validate(clerk, workbook([row(), row(name="钱二", stage="1", employer_gone="否")]))
    assert job.status == ImportStatus.VALIDATED and (job.rows_total, job.rows_created, job.rows_updated) == (2, 2, 0)
    assert not Patient.objects.exists()  # the dry run writes nothing
    assert [p["name"] for p in job.preview] == ["赵大山", "钱二"] and "*" in job.preview[0]["id_number"]
    assert job.file  # kept for the commit
    job = imports.PATIENTS.commit_start(actor=clerk, job=job)
    assert job.status == ImportStatus.DONE and job.rows_created == 2
    assert sorted(Patient.objects.values_list("relief_category", flat=True)) == ["b", "c"]
    assert not job.file  # the upload (ID numbers) is gone once the job ends


def test_one_bad_row_writes_nothing_and_every_problem_is_reported_by_cell(clerk):
    rows = [row(), row(id_number="371502196005011239"), row(stage=""),
            row(diagnosed_on=datetime.date(1930, 1, 1)), row(name="重复", id_number="X")]
    rows[4]["id_number"] = rows[0]["id_number"]
    job = validate(clerk, workbook(rows))
    assert job.status == ImportStatus.INVALID and Patient.objects.count() == 0
    problems = {(e["row"], e["column"]): e["problem"] for e in job.errors}
    assert "校验位错误" in problems[(4, "居民身份证号")]
    assert "必填项为空" in problems[(5, "期别")]
    assert "不能早于出生日期" in problems[(6, "诊断日期")]
    assert "与第 3 行的身份证号重复" in problems[(7, "居民身份证号")]
    assert not job.file and job.finished_at  # an invalid patient list ends: its upload is deleted
    assert imports.PATIENTS.commit_start(actor=clerk, job=job).status == ImportStatus.INVALID  # confirm does nothing
    assert not Patient.objects.exists()


def test_a_patient_held_by_another_county_is_refused_without_naming_it(clerk, sibling_clerk):
    from patients import services

    theirs = services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING))
    job = validate(clerk, workbook([row(), row(id_number=theirs.id_number)]))
    assert job.status == ImportStatus.INVALID
    [problem] = job.errors
    assert problem["row"] == 4 and "已在其他地区建档" in problem["problem"] and "阳谷" not in problem["problem"]
    assert Patient.objects.get().pk == theirs.pk and Patient.objects.get(pk=theirs.pk).county.code == SIBLING


def test_a_number_filed_elsewhere_between_check_and_confirm_writes_nothing(clerk, sibling_clerk):
    """All or nothing at the commit: it checks again, and one row now wrong keeps every row out."""
    from patients import services

    rows = [row(), row(name="钱二"), row(name="孙三")]
    job = validate(clerk, workbook(rows))
    assert job.status == ImportStatus.VALIDATED
    services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, id_number=rows[2]["id_number"]))
    job = imports.PATIENTS.commit_start(actor=clerk, job=job)
    assert job.status == ImportStatus.INVALID and job.rows_created == 0
    assert [(e["row"], "已在其他地区建档" in e["problem"]) for e in job.errors] == [(5, True)]
    assert list(Patient.objects.values_list("county__code", flat=True)) == [SIBLING]
    assert not job.file


def test_a_write_that_fails_half_way_keeps_nothing(clerk, sibling_clerk):
    """The writer refuses when a number was filed elsewhere after the commit's own check: the rows
    written before it are rolled back with it."""
    from patients import services
    from portal.importing import Refused

    rows = [row(), row(name="钱二")]
    job = validate(clerk, workbook(rows))
    outcome = imports.PATIENTS.check(job, use_cache=False)
    services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, id_number=rows[1]["id_number"]))
    with pytest.raises(Refused, match="已被其他县（市、区）建档"), transaction.atomic():
        imports.PATIENTS.write(clerk, job, outcome)
    assert list(Patient.objects.values_list("county__code", flat=True)) == [SIBLING]


def test_an_existing_file_of_the_county_is_updated(clerk, make_patient):
    mine = make_patient()
    job = imported(clerk, workbook([row(id_number=mine.id_number, name=mine.name, stage="叁期")]))
    assert (job.status, job.rows_created, job.rows_updated) == (ImportStatus.DONE, 0, 1)
    mine.refresh_from_db()
    assert mine.stage == 3


def test_importing_into_another_county_is_refused(sibling_clerk):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.PATIENTS.create(actor=sibling_clerk, county=county(), upload=workbook([row()]))
    assert not Patient.objects.exists() and not PatientImportJob.objects.exists()


def test_a_confirmed_import_is_not_run_again(clerk):
    """确认导入 pressed twice, a resubmitted page, a redelivered task: the first run answers."""
    job = validate(clerk, workbook([row()]))
    stale = PatientImportJob.objects.get(pk=job.pk)
    PatientImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING, started_at=timezone.now())
    assert imports.PATIENTS.commit(actor=clerk, job=stale).status == ImportStatus.IMPORTING
    assert imports.PATIENTS.commit_start(actor=clerk, job=stale).status == ImportStatus.IMPORTING
    assert not Patient.objects.exists()


def test_a_redelivered_commit_task_does_not_run_twice(clerk):
    job = validate(clerk, workbook([row()]))
    assert_a_redelivered_commit_runs_once(imports.PATIENTS, clerk, job, Patient.objects.count)


def test_pressing_confirm_twice_answers_the_second_with_the_first_result(client, clerk):
    job = validate(clerk, workbook([row(), row(name="钱二")]))
    client.force_login(clerk)
    answers = press_commit_twice(client, "patients", job)
    assert answers[0] == answers[1] == ["导入完成：新建 2 份，更新 0 份档案。"]
    job.refresh_from_db()
    assert (job.status, job.rows_created, job.rows_updated) == (ImportStatus.DONE, 2, 0)
    events = apps.get_model("patients", "PatientEvent").objects
    assert events.count() == 2  # written once
    assert set(events.values_list("pgh_context__metadata__action", flat=True)) == {"patient_import"}


def test_a_large_file_goes_to_the_worker_path(clerk, settings, django_capture_on_commit_callbacks):
    from patients import tasks

    settings.PNEUMO_IMPORT_INLINE_MAX_BYTES = 0
    settings.PNEUMO_IMPORT_INLINE_MAX_ROWS = 0
    with django_capture_on_commit_callbacks() as callbacks:
        job = validate(clerk, workbook([row()]))
    assert job.status == ImportStatus.PENDING and len(callbacks) == 1
    tasks.validate_import.run(job.pk, clerk.pk)  # what the worker runs
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and not Patient.objects.exists()
    with django_capture_on_commit_callbacks() as callbacks:
        job = imports.PATIENTS.commit_start(actor=clerk, job=job)
    assert job.status == ImportStatus.IMPORTING and len(callbacks) == 1
    tasks.commit_import.run(job.pk, clerk.pk)
    tasks.commit_import.run(job.pk, clerk.pk)  # a redelivery does nothing more
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Patient.objects.count() == 1 and not job.file


def test_a_file_that_is_not_a_workbook_is_refused_with_a_reason(clerk):
    job = validate(clerk, SimpleUploadedFile("x.xlsx", b"not a workbook"))
    assert job.status == ImportStatus.REFUSED and "不是 Excel 工作簿" in job.errors[0]["problem"]
    assert not job.file


def test_the_report_masks_id_numbers_for_whoever_may_not_see_them(client, clerk):
    bad = row(stage="")
    job = validate(clerk, workbook([bad, row(id_number="371502196005011239")]))
    viewer = make_user(COUNTY, role=Role.VIEWER)  # health viewer: no PATIENT_IDENTITY
    shown_to_viewer = imports.PATIENTS.report_errors(job, viewer)
    values = [e["value"] for e in shown_to_viewer if e["column"] == "居民身份证号"]
    assert values == [services_mask("371502196005011239")]
    assert "371502196005011239" not in str(shown_to_viewer)
    client.force_login(clerk)  # the clerk sees the values as typed, on the page and in the report
    assert "371502196005011239" in client.get(reverse("patients:import-job", args=[job.pk])).content.decode()
    report = load_workbook(io.BytesIO(b"".join(
        client.get(reverse("patients:import-errors", args=[job.pk])).streaming_content)))
    assert "371502196005011239" in [c.value for r in report.active.iter_rows() for c in r]


def services_mask(number: str) -> str:
    from patients import services

    return services.mask_id(number)


def test_a_job_of_another_county_is_not_found(client, clerk, sibling_clerk):
    job = validate(clerk, workbook([row()]))
    client.force_login(sibling_clerk)
    for name in ("import-job", "import-status", "import-errors"):
        assert client.get(reverse(f"patients:{name}", args=[job.pk])).status_code == 404
    assert client.post(reverse("patients:import-commit", args=[job.pk])).status_code == 404
    assert not Patient.objects.exists()


def test_the_export_answers_a_foreign_region_as_a_missing_one(client, clerk):
    client.force_login(clerk)
    foreign = client.get(reverse("patients:excel-export"), {"region": SIBLING})
    missing = client.get(reverse("patients:excel-export"), {"region": "999999"})
    assert foreign.status_code == missing.status_code == 403
    assert "该区划不在您的管辖范围内" in foreign.content.decode() and "该区划不在您的管辖范围内" in missing.content.decode()


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
    assert "校验未通过" in body and "必填项为空" in body and 'data-testid="import-error-report"' in body


def test_the_pages_take_a_clean_file_from_upload_to_confirm(client, clerk):
    client.force_login(clerk)
    response = client.post(reverse("patients:import"), {"county": county().pk,
                                                        "file": workbook([row(), row(name="钱二")])}, follow=True)
    body = response.content.decode()
    assert "校验通过：共 2 行，将新建 2 份档案、更新 0 份档案。" in body and 'data-testid="import-commit"' in body
    assert not Patient.objects.exists()
    job = PatientImportJob.objects.get()
    response = client.post(reverse("patients:import-commit", args=[job.pk]), follow=True)
    assert "导入完成：共 2 行，新建 2 份档案" in response.content.decode()
    assert Patient.objects.count() == 2


def test_the_upload_page_lists_the_recent_imports_with_a_link_to_each(client, clerk):
    client.force_login(clerk)
    assert "还没有导入记录。" in client.get(reverse("patients:import")).content.decode()
    job = validate(clerk, workbook([row()]))
    body = client.get(reverse("patients:import")).content.decode()
    assert "<title>" in body and "患者名单导入" in body
    assert f'href="{reverse("patients:import-job", args=[job.pk])}">名单.xlsx</a>' in body
    assert "还没有导入记录。" not in body and "填报期" not in body  # a patient list has no reporting period


def test_each_patient_import_counts_once_in_the_outcome_metric(client, clerk):
    from tests.metrics import delta, import_outcomes

    before = import_outcomes(client)
    imported(clerk, workbook([row()]))
    validate(clerk, workbook([row(id_number="123")]))
    validate(clerk, SimpleUploadedFile("x.xlsx", b"not a workbook"))
    assert delta(before, import_outcomes(client)) == {
        ("patients", "done"): 1, ("patients", "invalid"): 1, ("patients", "refused"): 1}


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
