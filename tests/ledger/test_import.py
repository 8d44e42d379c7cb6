"""Importing the official ledger workbook: every bad input gets a clear Chinese message and
nothing is written; good files upsert by USCC, twice is harmless, and the writes are audited.

The helpers at the top (rows, workbooks built with openpyxl) are shared by the other Excel
test modules."""

import datetime
import io
import re
import zipfile

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import columns as cols
from ledger import imports, services
from ledger.demo import demo_uscc
from ledger.models import (
    CountySubmission,
    Employer,
    EmployerRecord,
    ImportJob,
    ImportStatus,
    RecordDustExposure,
    SubmissionStatus,
)
from portal.models import Region, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

COUNTY = "371502"  # 东昌府区


# ---- Shared helpers -------------------------------------------------------------------------------


def make_row(serial: int = 1, **overrides) -> dict:
    """One employer's row, by column key, as a person would type it into the template."""
    row = {
        "serial": serial, "region_code": COUNTY, "township": "古楼街道",
        "name": f"东昌府区鑫达水泥有限公司（{serial}）", "uscc": demo_uscc(COUNTY, 500 + serial),
        "registration_number": None, "registered_address": f"东昌府区工业园区{serial}号",
        "workplace_address": f"东昌府区工业园区{serial}号", "industry": "3011", "industry_name": "水泥制造",
        "key_group": "建材", "size": "小型", "ownership": "私营", "business_scope": "水泥制造；水泥制品销售",
        "legal_representative": "张三", "legal_representative_phone": "0635-8888888", "health_manager": "李四",
        "health_manager_phone": "13800000000", "status": "正常", "in_governance_scope": "是",
        "total_workers": 50, "exposed_workers": 20, "exposures": "矽尘:12；水泥粉尘:8", "hazard_declared": "是",
        "declared_on": "2020-03-15", "last_test_date": datetime.datetime(2020, 4, 1), "test_lab": "聊城市疾病预防控制中心",
        "points_over_limit": 0, "warning_signs": "是", "serious_hazard_posts": 4, "posts_with_warning_signs": 3,
        "exam_due": 20, "exam_done": 18, "surveillance_files": 18,
        "principal_trained": "是", "managers_due": 2, "managers_trained": 2, "workers_training_due": 20,
        "workers_trained": 20, "contract_workers": 50, "insured_workers": 45, "new_projects": 1,
        "three_simultaneities_projects": 1, "pneumoconiosis_cases": 0, "last_inspection_date": "2020-05-20",
    }
    row.update(overrides)
    return row


def build_workbook(rows: list[dict], *, headers: list[str] | None = None, sheet: str = cols.SHEET_NAME,
                   title_rows: bool = True) -> bytes:
    """A workbook laid out like the template, built with plain openpyxl."""
    headers = list(cols.HEADERS) if headers is None else headers
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title_rows:
        ws.append([cols.title_for("东昌府区")])
        ws.append([cols.note_line()])
        ws.append([c.group for c in cols.COLUMNS])
    ws.append(headers)
    by_header = {cols.normalise_header(c.header): c.key for c in cols.COLUMNS}
    keys = [by_header.get(cols.normalise_header(h)) for h in headers]
    for row in rows:
        ws.append([row.get(k) if k else "多余" for k in keys])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "东昌府区台帐.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def validate(actor, period, content: bytes, *, county: str = COUNTY, name: str = "东昌府区台帐.xlsx") -> ImportJob:
    job = imports.LEDGER.create(actor=actor, county=Region.objects.get(code=county), period=period,
                                    upload=upload(content, name))
    return imports.LEDGER.validate(actor=actor, job=job)


def run_import(actor, period, rows: list[dict], **kwargs) -> ImportJob:
    job = validate(actor, period, build_workbook(rows), **kwargs)
    assert job.status == ImportStatus.VALIDATED, job.errors
    return imports.LEDGER.commit(actor=actor, job=job)


def problems(job: ImportJob, column: str | None = None) -> list[str]:
    return [e["problem"] for e in job.errors if column is None or e["column"] == column]


def assert_nothing_written() -> None:
    assert not Employer.objects.exists()
    assert not EmployerRecord.objects.exists()
    assert not RecordDustExposure.objects.exists()


@pytest.fixture
def county():
    return Region.objects.get(code=COUNTY)


# ---- Happy paths ---------------------------------------------------------------------------------------


def test_a_clean_file_is_previewed_then_committed(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1), make_row(2, township="柳园街道")]))
    assert job.status == ImportStatus.VALIDATED and job.errors == []
    assert (job.rows_total, job.rows_created, job.rows_updated) == (2, 2, 0)
    assert [p["action"] for p in job.preview] == ["create", "create"]
    assert job.preview[0]["township"] == "古楼街道" and job.preview[0]["dusts"] == "矽尘:12；水泥粉尘:8"
    assert_nothing_written()  # the dry run writes nothing

    job = imports.LEDGER.commit(actor=clerk, job=job)
    assert job.status == ImportStatus.DONE and (job.rows_created, job.rows_updated) == (2, 0)
    employer = Employer.objects.get(uscc=make_row(1)["uscc"])
    assert employer.county.code == COUNTY and employer.city.code == "3715" and employer.province.code == "37"
    assert employer.township.name == "古楼街道" and employer.key_group == "building_materials"
    assert (employer.size, employer.ownership, employer.status, employer.in_governance_scope) == (
        "small", "private", "operating", True)
    record = EmployerRecord.objects.get(employer=employer, period=period_2020h1)
    assert (record.total_workers, record.exposed_workers, record.exam_done, record.insured_workers) == (50, 20, 18, 45)
    assert record.declared_on == datetime.date(2020, 3, 15) and record.last_test_date == datetime.date(2020, 4, 1)
    assert record.hazard_declared and record.warning_signs and record.principal_trained
    assert (record.serious_hazard_posts, record.posts_with_warning_signs) == (4, 3)
    assert record.updated_by == clerk and record.township_id == employer.township_id
    assert sorted(record.exposures.values_list("dust_type__name", "exposed_workers")) == [("水泥粉尘", 8), ("矽尘", 12)]
    assert CountySubmission.objects.get(county=employer.county, period=period_2020h1).status == SubmissionStatus.DRAFT


def test_upsert_updates_an_existing_employer_by_uscc(clerk, period_2020h1, county):
    existing = make_employer(county=COUNTY, name="旧名称水泥厂", uscc=make_row(1)["uscc"])
    services.period_open_county(actor=clerk, period=period_2020h1, county=county)
    record = EmployerRecord.objects.get(employer=existing, period=period_2020h1)

    job = run_import(clerk, period_2020h1, [make_row(1, name="新名称水泥有限公司", exposures="电焊烟尘:3")])

    assert (job.rows_created, job.rows_updated) == (0, 1)
    assert Employer.objects.count() == 1
    existing.refresh_from_db()
    record.refresh_from_db()
    assert existing.name == "新名称水泥有限公司" and existing.version == 2
    assert record.total_workers == 50 and record.version == 2
    assert list(record.exposures.values_list("dust_type__name", "exposed_workers")) == [("电焊烟尘", 3)]


def test_importing_the_same_file_twice_changes_nothing(clerk, period_2020h1, open_submission):
    import pghistory.models

    rows = [make_row(1), make_row(2, registration_number=None)]
    run_import(clerk, period_2020h1, rows)
    snapshot = list(Employer.objects.order_by("id").values_list("id", "version", "updated_at"))
    records = list(EmployerRecord.objects.order_by("id").values_list("id", "version", "updated_at"))
    events = pghistory.models.Events.objects.count()

    job = run_import(clerk, period_2020h1, rows)

    assert (job.status, job.rows_created, job.rows_updated) == (ImportStatus.DONE, 0, 0)
    assert list(Employer.objects.order_by("id").values_list("id", "version", "updated_at")) == snapshot
    assert list(EmployerRecord.objects.order_by("id").values_list("id", "version", "updated_at")) == records
    assert pghistory.models.Events.objects.count() == events


def test_the_writes_are_audited_as_ledger_import(clerk, period_2020h1, open_submission):
    import pghistory.models

    job = run_import(clerk, period_2020h1, [make_row(1)])
    employer = Employer.objects.get()
    contexts = [e.pgh_context for e in pghistory.models.Events.objects.filter(
        pgh_model__in=["ledger.EmployerEvent", "ledger.EmployerRecordEvent"], pgh_label="insert")]
    assert len(contexts) == 2
    for context in contexts:
        assert context["action"] == "ledger_import" and context["user"] == clerk.pk
        assert context["file"] == "东昌府区台帐.xlsx" and context["import_job"] == job.pk
    assert pghistory.models.Events.objects.filter(pgh_model="ledger.EmployerEvent", pgh_obj_id=str(employer.pk)).exists()


def test_a_legacy_employer_is_matched_by_its_registration_number(clerk, period_2020h1, open_submission):
    legacy = make_employer(county=COUNTY, uscc=None, registration_number="371502000012345", name="老字号石材厂")
    job = run_import(clerk, period_2020h1, [make_row(1, uscc=None, registration_number="371502000012345",
                                                     name="老字号石材有限公司")])
    assert (job.rows_created, job.rows_updated) == (0, 1)
    legacy.refresh_from_db()
    assert legacy.name == "老字号石材有限公司" and legacy.uscc is None

    # The same employer later given its USCC keeps its identity.
    uscc = demo_uscc(COUNTY, 4242)
    run_import(clerk, period_2020h1, [make_row(1, uscc=uscc, registration_number="371502000012345",
                                               name="老字号石材有限公司")])
    legacy.refresh_from_db()
    assert legacy.uscc == uscc and Employer.objects.count() == 1


def test_values_typed_as_numbers_and_excel_dates_are_understood(clerk, period_2020h1, open_submission):
    job = run_import(clerk, period_2020h1, [make_row(
        1, region_code=371502, industry=610, legal_representative_phone=13912345678, declared_on=datetime.date(2020, 3, 1),
        exposures="矽尘：5、 煤尘:3", total_workers="50", exposed_workers=20.0, size="小")])
    employer = Employer.objects.get()
    record = employer.records.get()
    assert employer.industry.code == "0610" and employer.key_group == "coal"
    assert employer.legal_representative_phone == "13912345678" and employer.size == "small"
    assert record.declared_on == datetime.date(2020, 3, 1)
    assert sorted(record.exposures.values_list("dust_type__name", "exposed_workers")) == [("煤尘", 3), ("矽尘", 5)]
    assert job.status == ImportStatus.DONE


def test_lookups_take_a_constant_number_of_queries(clerk, period_2020h1, open_submission):
    def count(first, n):
        content = build_workbook([make_row(i) for i in range(first, first + n)])
        job = imports.LEDGER.create(actor=clerk, county=Region.objects.get(code=COUNTY), period=period_2020h1,
                                        upload=upload(content))
        with CaptureQueriesContext(connection) as queries:
            imports.LEDGER.validate(actor=clerk, job=job)
        assert job.status == ImportStatus.VALIDATED
        with CaptureQueriesContext(connection) as commit_queries:
            imports.LEDGER.commit(actor=clerk, job=job)
        progress = [q for q in queries.captured_queries if "rows_done" in q["sql"] and q["sql"].startswith("UPDATE")]
        return len(queries) - len(progress), len(commit_queries) - len(
            [q for q in commit_queries.captured_queries if "rows_done" in q["sql"] and q["sql"].startswith("UPDATE")])

    assert count(1, 3) == count(101, 40)


# ---- Bad input: identifiers ---------------------------------------------------------------------------------


def test_a_wrong_uscc_checksum_is_refused(clerk, period_2020h1, open_submission):
    good = make_row(1)["uscc"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, uscc=bad), make_row(2)]))
    assert job.status == ImportStatus.INVALID
    [err] = job.errors
    assert err["row"] == 5 and err["column"] == "统一社会信用代码" and err["value"] == bad
    assert "校验位错误" in err["problem"] and "18位统一社会信用代码" in err["expected"]
    with pytest.raises(ValidationError, match="校验未通过"):  # an invalid job cannot be committed
        imports.LEDGER.commit(actor=clerk, job=job)
    assert_nothing_written()


def test_a_uscc_twice_in_the_file_is_refused(clerk, period_2020h1, open_submission):
    uscc = make_row(1)["uscc"]
    job = validate(clerk, period_2020h1, build_workbook([make_row(1), make_row(2), make_row(3, uscc=uscc)]))
    [err] = job.errors
    assert err["row"] == 7 and err["column"] == "统一社会信用代码"
    assert "与第5行的统一社会信用代码重复" in err["problem"]
    assert_nothing_written()


def test_a_uscc_registered_in_another_county_is_refused(clerk, period_2020h1, open_submission):
    other = make_employer(county="371521", name="阳谷某石材厂")
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, uscc=other.uscc)]))
    [err] = job.errors
    assert err["column"] == "统一社会信用代码"
    # Held outside the clerk's scope: said to be registered elsewhere, without naming where or whom.
    assert "已在其他地区登记" in err["problem"] and "不能由东昌府区导入" in err["problem"]
    assert "阳谷" not in err["problem"]
    assert Employer.objects.count() == 1 and not EmployerRecord.objects.exists()


def test_an_identifier_held_in_a_county_the_importer_sees_names_that_county_and_employer(period_2020h1,
                                                                                       open_submission):
    city_clerk = make_user("3715", role=Role.CLERK)  # sees 东昌府区 and 阳谷县
    other = make_employer(county="371521", name="阳谷某石材厂")
    legacy = make_employer(county="371521", uscc=None, registration_number="371521000012345", name="阳谷老石材厂")
    job = validate(city_clerk, period_2020h1, build_workbook([
        make_row(1, uscc=other.uscc), make_row(2, uscc=None, registration_number=legacy.registration_number)]))
    assert problems(job) == [
        f"统一社会信用代码 {other.uscc} 已登记在阳谷县的“阳谷某石材厂”，不能由东昌府区导入；如该单位已迁入本县，请联系阳谷县办理",
        "旧工商注册号 371521000012345 已登记在阳谷县的“阳谷老石材厂”，不能由东昌府区导入"]


def test_a_missing_identifier_is_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, uscc=None)]))
    assert problems(job, "统一社会信用代码") == ["请填写统一社会信用代码（尚未换领的单位填写15位旧工商注册号）"]


# ---- Bad input: regions and permission ----------------------------------------------------------------------


def test_rows_of_another_county_are_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([
        make_row(1, region_code="371521"),
        make_row(2, township="大布乡"),  # a township of 阳谷县
        make_row(3, township="不存在街道"),
    ]))
    assert job.status == ImportStatus.INVALID
    by_row = {e["row"]: e for e in job.errors}
    assert "371521 是“阳谷县”，不是本次导入的东昌府区" in by_row[5]["problem"]
    assert by_row[5]["column"] == "区划代码"
    assert "属于阳谷县，不属于本次导入的东昌府区" in by_row[6]["problem"]
    assert by_row[6]["column"] == "乡镇（街道）"
    assert "东昌府区没有名为“不存在街道”的乡镇（街道）" in by_row[7]["problem"]
    assert_nothing_written()


def test_a_clerk_cannot_import_into_another_county(clerk, period_2020h1):
    with pytest.raises(PermissionDenied, match="不在您的管辖范围内"):
        imports.LEDGER.create(actor=clerk, county=Region.objects.get(code="371521"), period=period_2020h1,
                                  upload=upload(build_workbook([make_row(1)])))
    assert not ImportJob.objects.exists()


def test_a_viewer_cannot_validate_or_commit(clerk, period_2020h1, open_submission):
    job = imports.LEDGER.create(actor=clerk, county=Region.objects.get(code=COUNTY), period=period_2020h1,
                                    upload=upload(build_workbook([make_row(1)])))
    viewer = make_user(COUNTY, role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        imports.LEDGER.validate(actor=viewer, job=job)
    imports.LEDGER.validate(actor=clerk, job=job)
    with pytest.raises(PermissionDenied):
        imports.LEDGER.commit(actor=viewer, job=job)
    assert_nothing_written()


# ---- Bad input: counts, codes, mandatory cells ------------------------------------------------------------------


def test_negative_counts_are_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, exam_due=-3, total_workers="-1")]))
    assert problems(job, "应检人数") == ["不能为负数"]
    assert problems(job, "职工总人数") == ["不能为负数"]
    assert all(e["expected"] for e in job.errors)
    assert_nothing_written()


def test_inconsistent_counts_are_refused_with_the_model_rules(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(
        1, exposed_workers=60, exposures="矽尘:61", exam_done=25, hazard_declared="是", declared_on=None,
        points_over_limit=2, last_test_date=None)]))
    found = {e["column"]: e["problem"] for e in job.errors}
    assert found["接尘人数"].startswith("接尘人数不能大于职工总人数（60 > 50）")
    assert found["实检人数"].startswith("实检人数不能大于应检人数")
    assert found["申报日期"] == "已申报的单位请填写申报日期"
    assert found["最近检测日期"] == "填写了超标点数的单位请填写最近检测日期"
    assert "矽尘的接尘人数61不能大于接尘人数60" in found["粉尘种类及接尘人数"]
    assert_nothing_written()


def test_warning_sign_posts_follow_the_value_rules(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([
        make_row(1, serious_hazard_posts=4, posts_with_warning_signs=5),
        make_row(2, serious_hazard_posts=3, posts_with_warning_signs=None),
        make_row(3, serious_hazard_posts=-1, posts_with_warning_signs=2_147_483_648),
    ]))
    found = {(e["row"], e["column"]): e["problem"] for e in job.errors}
    assert found[(5, "设置警示标识的岗位数")] == "设置警示标识的岗位数不能大于产生严重职业病危害的作业岗位数（5 > 4）"
    assert found[(6, "设置警示标识的岗位数")] == "请同时填写严重职业病危害作业岗位数和设置警示标识的岗位数"
    assert found[(7, "严重职业病危害作业岗位数")] == "不能为负数"
    assert found[(7, "设置警示标识的岗位数")].startswith("数值过大")
    assert len(job.errors) == 4
    assert_nothing_written()


def test_a_row_without_posts_keeps_the_employer_level_answer(clerk, period_2020h1, open_submission):
    run_import(clerk, period_2020h1, [make_row(1, serious_hazard_posts=None, posts_with_warning_signs=None)])
    record = EmployerRecord.objects.get()
    assert record.warning_signs and (record.serious_hazard_posts, record.posts_with_warning_signs) == (None, None)


def test_a_bad_number_is_not_reported_twice(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, total_workers="五十")]))
    assert [(e["column"], e["problem"]) for e in job.errors] == [("职工总人数", "应为整数（只填数字，不要带单位或文字）")]


def test_an_unknown_industry_code_is_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, industry="9999"), make_row(2, industry="C")]))
    assert "行业代码“9999”不在 GB/T 4754-2017 国民经济行业分类中" in problems(job, "行业代码")[0]
    assert "“C”只是门类" in problems(job, "行业代码")[1]
    assert_nothing_written()


def test_an_unknown_dust_type_is_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, exposures="矽尘:5；火星尘:3"),
                                                         make_row(2, exposures="矽尘")]))
    messages = problems(job, "粉尘种类及接尘人数")
    assert "“火星尘”不是《职业病危害因素分类目录》中的粉尘名称" in messages[0]
    assert "缺少人数" in messages[1]
    assert_nothing_written()


def test_empty_mandatory_cells_are_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(
        1, name=None, workplace_address="  ", industry=None, size=None, legal_representative=None,
        in_governance_scope=None, total_workers=None, hazard_declared=None)]))
    columns = {e["column"] for e in job.errors if e["problem"] == "必填项未填写"}
    assert columns == {"单位名称", "作业场所地址", "行业代码", "企业规模", "法定代表人", "是否纳入治理范围", "职工总人数",
                       "是否申报"}
    assert all(e["row"] == 5 for e in job.errors)
    assert_nothing_written()


def test_bad_choices_dates_and_booleans_are_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(
        1, size="特大型", status="倒闭", warning_signs="有", declared_on="2020-02-30", last_inspection_date="下个月",
        legal_representative_phone="电话号码")]))
    found = {e["column"]: e["problem"] for e in job.errors}
    assert found["企业规模"] == "“特大型”不是可选的企业规模"
    assert found["经营状态"] == "“倒闭”不是可选的经营状态"
    assert found["警示标识和告知卡"] == "只能填“是”或“否”"
    assert found["申报日期"] == "不存在这个日期"
    assert found["最近监督检查日期"] == "日期格式不正确"
    assert "电话号码格式不正确" in found["法定代表人电话"]


def test_every_error_of_every_row_is_reported(clerk, period_2020h1, open_submission):
    rows = [make_row(i, total_workers=-i, industry="0000") for i in range(1, 31)]
    job = validate(clerk, period_2020h1, build_workbook(rows))
    assert len(job.errors) == 60
    assert {e["row"] for e in job.errors} == set(range(5, 35))


# ---- Bad input: the header row --------------------------------------------------------------------------------


def test_a_missing_column_is_named(clerk, period_2020h1, open_submission):
    headers = [h for h in cols.HEADERS if h != "检测机构"]
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)], headers=headers))
    assert job.status == ImportStatus.INVALID
    assert [e["problem"] for e in job.errors] == ["缺少“检测机构”列"]
    assert job.errors[0]["row"] == 4
    assert_nothing_written()


def test_an_extra_column_is_named(clerk, period_2020h1, open_submission):
    headers = [*cols.HEADERS[:5], "备注", *cols.HEADERS[5:]]
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)], headers=headers))
    assert [e["problem"] for e in job.errors] == ["第6列（F列）“备注”不是模板中的列：多出的列"]
    assert_nothing_written()


def test_reordered_columns_are_refused(clerk, period_2020h1, open_submission):
    headers = list(cols.HEADERS)
    headers[3], headers[4] = headers[4], headers[3]
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)], headers=headers))
    assert [e["problem"] for e in job.errors] == [
        "第4列（D列）应为“单位名称”，实际为“统一社会信用代码”：列的顺序与模板不一致",
        "第5列（E列）应为“统一社会信用代码”，实际为“单位名称”：列的顺序与模板不一致",
    ]
    assert_nothing_written()


def test_a_renamed_column_is_refused(clerk, period_2020h1, open_submission):
    headers = [("企业名称" if h == "单位名称" else h) for h in cols.HEADERS]
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)], headers=headers))
    [err] = job.errors
    assert err["column"] == "单位名称" and err["value"] == "企业名称"
    assert err["problem"] == "第4列（D列）的列名应为“单位名称”，实际为“企业名称”：列名被修改"
    assert_nothing_written()


def test_a_wrapped_header_and_missing_title_rows_are_still_understood(clerk, period_2020h1, open_submission):
    headers = [h.replace("职业健康管理人员", "职业健康\n管理人员") for h in cols.HEADERS]
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)], headers=headers, title_rows=False))
    assert job.status == ImportStatus.VALIDATED, job.errors


def test_row_numbers_and_columns_are_the_sheets_when_the_top_rows_are_empty(clerk, period_2020h1, open_submission):
    """The reader starts at A1 even when the first rows are blank (calamine would start at the
    first non-empty cell): the problem is reported at the row the user sees."""
    content = build_workbook([make_row(1), make_row(2, total_workers=-3)], title_rows=False)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb.active.insert_rows(1, amount=2)  # header now on row 3, data on rows 4 and 5
    buffer = io.BytesIO()
    wb.save(buffer)
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert [(e["row"], e["column"], e["problem"]) for e in job.errors] == [
        (5, cols.BY_KEY["total_workers"].header, "不能为负数")]


def test_a_sheet_moved_one_column_to_the_right_is_refused(clerk, period_2020h1, open_submission):
    content = build_workbook([make_row(1)])
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb.active.insert_cols(1)
    buffer = io.BytesIO()
    wb.save(buffer)
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert job.status == ImportStatus.INVALID
    assert "第1列（A列）没有列名：多出的空白列" in problems(job)


@pytest.mark.parametrize("scan_chunk", [1 << 20, 3, 5, 64])
def test_a_formula_error_is_reported_not_taken_for_a_blank(clerk, period_2020h1, open_submission, scan_chunk,
                                                          monkeypatch):
    """A broken formula (#DIV/0!, #N/A) in a count that may be left blank would otherwise read
    as 0. Small scan chunks put the marker across chunk boundaries."""
    from portal import xlsx

    monkeypatch.setattr(xlsx, "SCAN_CHUNK", scan_chunk)
    insured = cols.COLUMNS.index(cols.BY_KEY["insured_workers"])
    exposures = cols.COLUMNS.index(cols.BY_KEY["exposures"])
    content = build_workbook([make_row(1)])
    cells = {f"{openpyxl.utils.get_column_letter(insured + 1)}5": ("=1/0", "#DIV/0!"),
             f"{openpyxl.utils.get_column_letter(exposures + 1)}5": ("=VLOOKUP(1,A1:A2,2)", "#N/A")}
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                for reference, (formula, value) in cells.items():
                    data, replaced = re.subn(rf'<c r="{reference}"[^>]*>.*?</c>'.encode(), (
                        f'<c r="{reference}" t="e"><f>{formula[1:]}</f><v>{value}</v></c>').encode(), data)
                    assert replaced == 1
            target.writestr(info, data)
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert job.status == ImportStatus.INVALID
    assert sorted((e["row"], e["column"], e["value"], e["problem"]) for e in job.errors) == sorted([
        (5, cols.BY_KEY["insured_workers"].header, "#DIV/0!", "单元格是错误值 #DIV/0!（公式出错），请改正公式或直接填写数值"),
        (5, cols.BY_KEY["exposures"].header, "#N/A", "单元格是错误值 #N/A（公式出错），请改正公式或直接填写数值"),
    ])


def test_an_empty_sheet_is_refused(clerk, period_2020h1, open_submission):
    wb = openpyxl.Workbook()
    wb.active.title = cols.SHEET_NAME
    buffer = io.BytesIO()
    wb.save(buffer)
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert job.status == ImportStatus.REFUSED and "找不到列标题行" in job.errors[0]["problem"]


def test_a_sheet_without_a_header_row_is_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([], headers=["甲", "乙"]))
    assert "找不到列标题行" in job.errors[0]["problem"]


# ---- Bad input: the file itself -------------------------------------------------------------------------------


def test_a_wrong_sheet_is_refused(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)], sheet="Sheet1"))
    assert job.status == ImportStatus.REFUSED
    [err] = job.errors
    assert err["row"] is None
    assert "找不到名为“台帐”的工作表（文件中的工作表：Sheet1）" in err["problem"]
    assert_nothing_written()


def test_a_corrupt_file_is_refused(clerk, period_2020h1, open_submission):
    content = build_workbook([make_row(1)])
    job = validate(clerk, period_2020h1, content[: len(content) // 2])
    assert job.status == ImportStatus.REFUSED
    assert "文件已损坏" in job.errors[0]["problem"]
    assert_nothing_written()


def test_a_damaged_sheet_inside_a_valid_zip_is_refused(clerk, period_2020h1, open_submission):
    source = zipfile.ZipFile(io.BytesIO(build_workbook([make_row(1)])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(info, data)
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert job.status == ImportStatus.REFUSED
    assert "文件已损坏" in job.errors[0]["problem"]


@pytest.mark.parametrize("content, message", [
    ("单位名称,统一社会信用代码\n某厂,91370102000000019K\n".encode("gbk"), "内容与扩展名不符"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "旧版 Excel 97-2003"),
    (b"%PDF-1.7\n", "内容与扩展名不符"),
])
def test_a_non_xlsx_file_renamed_xlsx_is_refused(clerk, period_2020h1, open_submission, content, message):
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.REFUSED
    assert message in job.errors[0]["problem"]
    assert_nothing_written()


def test_a_zip_that_is_not_a_workbook_is_refused(clerk, period_2020h1, open_submission):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("word/document.xml", "<w:document/>")
        package.writestr("[Content_Types].xml", "<Types/>")
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert "可能是 Word、WPS 或其他压缩文件改了扩展名" in job.errors[0]["problem"]


def test_a_file_over_the_size_limit_is_refused(clerk, period_2020h1, open_submission, settings):
    content = build_workbook([make_row(i) for i in range(1, 30)])
    settings.PNEUMO_IMPORT_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationError, match="超过") as exc:
        imports.LEDGER.create(actor=clerk, county=Region.objects.get(code=COUNTY), period=period_2020h1,
                                  upload=upload(content))
    assert "MB 的上限" in str(exc.value)
    assert not ImportJob.objects.exists()


def test_a_stored_file_over_the_limit_is_refused_at_validation(clerk, period_2020h1, open_submission, settings):
    content = build_workbook([make_row(1)])
    job = imports.LEDGER.create(actor=clerk, county=Region.objects.get(code=COUNTY), period=period_2020h1,
                                    upload=upload(content))
    settings.PNEUMO_IMPORT_MAX_BYTES = 1000
    job = imports.LEDGER.validate(actor=clerk, job=job)
    assert job.status == ImportStatus.REFUSED and "超过" in job.errors[0]["problem"]


def test_the_size_limit_is_20_mb_unless_the_environment_says_otherwise(monkeypatch):
    import importlib

    import portal.settings

    monkeypatch.setenv("PNEUMO_IMPORT_MAX_BYTES", str(5 * 1024 * 1024))
    assert importlib.reload(portal.settings).PNEUMO_IMPORT_MAX_BYTES == 5 * 1024 * 1024
    monkeypatch.delenv("PNEUMO_IMPORT_MAX_BYTES")
    assert importlib.reload(portal.settings).PNEUMO_IMPORT_MAX_BYTES == 20 * 1024 * 1024


# ---- Bad input: the period -------------------------------------------------------------------------------------


def test_a_submitted_period_is_locked(clerk, period_2020h1, open_submission):
    services.submission_submit(actor=clerk, submission=open_submission)
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    assert job.status == ImportStatus.INVALID
    assert "已报送，数据已锁定" in job.errors[0]["problem"]
    assert_nothing_written()


def test_a_period_locked_between_check_and_commit_writes_nothing(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    assert job.status == ImportStatus.VALIDATED
    services.submission_submit(actor=clerk, submission=open_submission)
    job = imports.LEDGER.commit(actor=clerk, job=job)
    assert job.status == ImportStatus.INVALID and "已报送，数据已锁定" in job.errors[0]["problem"]
    assert_nothing_written()


def test_a_period_not_yet_opened_is_refused(clerk, period_2020h1):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    assert "请先开始本期填报" in job.errors[0]["problem"]
    assert_nothing_written()


def test_a_uscc_taken_by_another_county_after_the_check_writes_nothing(clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1), make_row(2)]))
    assert job.status == ImportStatus.VALIDATED
    make_employer(county="371521", uscc=make_row(2)["uscc"])
    job = imports.LEDGER.commit(actor=clerk, job=job)
    assert job.status == ImportStatus.INVALID and "已在其他地区登记" in job.errors[0]["problem"]
    assert "阳谷" not in job.errors[0]["problem"]
    assert Employer.objects.count() == 1 and not EmployerRecord.objects.exists()


# ---- Error report and pages -------------------------------------------------------------------------------------


def test_the_error_report_downloads_as_a_workbook(client, clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, total_workers=-5)]))
    client.force_login(clerk)
    response = client.get(reverse("ledger:import-errors", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列名", "填写内容", "问题", "应填写")
    assert rows[1] == (5, "职工总人数", "-5", "不能为负数", "必填，不小于0的整数")
    assert sheet["C2"].data_type == "s" and sheet["C2"].quotePrefix  # "-5" echoed as inert text


def test_upload_page_validates_a_small_file_in_the_request(client, clerk, period_2020h1, open_submission, county):
    client.force_login(clerk)
    page = client.get(reverse("ledger:import"))
    assert page.status_code == 200 and 'data-testid="import-form"' in page.content.decode()
    response = client.post(reverse("ledger:import"), {
        "county": county.pk, "period": period_2020h1.pk, "file": upload(build_workbook([make_row(1)]))})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("ledger:import-job", args=[job.pk])
    assert job.status == ImportStatus.VALIDATED and job.created_by == clerk and job.city.code == "3715"
    body = client.get(response["Location"]).content.decode()
    assert "确认导入" in body and 'data-testid="import-preview"' in body and "hx-trigger" not in body
    upload_page = client.get(reverse("ledger:import")).content.decode()  # the job among the recent ones
    assert f'href="{reverse("ledger:import-job", args=[job.pk])}">' in upload_page
    assert f"<td>{period_2020h1}</td>" in upload_page and "还没有导入记录。" not in upload_page

    response = client.post(reverse("ledger:import-commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Employer.objects.count() == 1
    assert "导入完成" in client.get(response["Location"]).content.decode()


def test_the_job_page_shows_errors_and_the_report_link(client, clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1, industry="9999")]))
    client.force_login(clerk)
    body = client.get(reverse("ledger:import-job", args=[job.pk])).content.decode()
    assert 'data-testid="import-errors"' in body and "不在 GB/T 4754-2017" in body
    assert reverse("ledger:import-errors", args=[job.pk]) in body and "确认导入" not in body


def test_a_pending_job_page_polls_with_a_progress_bar(client, clerk, period_2020h1, open_submission, county):
    job = imports.LEDGER.create(actor=clerk, county=county, period=period_2020h1,
                                    upload=upload(build_workbook([make_row(1)])))
    ImportJob.objects.filter(pk=job.pk).update(rows_total=200, rows_done=50)
    client.force_login(clerk)
    body = client.get(reverse("ledger:import-status", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in body and 'data-testid="import-progress"' in body and "25%" in body


def test_the_upload_form_refuses_an_xls_file_and_an_oversize_file(client, clerk, period_2020h1, county, settings):
    client.force_login(clerk)
    response = client.post(reverse("ledger:import"), {
        "county": county.pk, "period": period_2020h1.pk, "file": upload(b"\xd0\xcf\x11\xe0", name="台帐.xls")})
    assert "另存为 .xlsx" in response.content.decode()
    settings.PNEUMO_IMPORT_MAX_BYTES = 10
    response = client.post(reverse("ledger:import"), {
        "county": county.pk, "period": period_2020h1.pk, "file": upload(build_workbook([make_row(1)]))})
    assert "MB 的上限" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_import_pages_need_the_edit_capability(client, clerk, period_2020h1, open_submission):
    job = validate(clerk, period_2020h1, build_workbook([make_row(1)]))
    viewer = make_user(COUNTY, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("ledger:import")).status_code == 403
    assert client.get(reverse("ledger:import-job", args=[job.pk])).status_code == 403
    assert client.post(reverse("ledger:import-commit", args=[job.pk])).status_code == 403
    sibling = make_user("371521", role=Role.CLERK)
    client.force_login(sibling)
    assert client.get(reverse("ledger:import-job", args=[job.pk])).status_code == 404
    assert client.post(reverse("ledger:import-commit", args=[job.pk])).status_code == 404
    assert_nothing_written()
