"""The ledger's whole story in the browser: a clerk downloads the template, imports a file with
errors, reads the report, fixes it, imports, edits a record, submits; the city returns it with a
reason; the clerk fixes and resubmits; the city approves; the province accepts and sees it locked."""

import datetime

import openpyxl
import pytest
from playwright.sync_api import expect

from ledger.columns import DATA_START_ROW, HEADERS
from ledger.demo import demo_uscc
from ledger.models import Employer, EmployerRecord, ReportingPeriod
from portal.models import Role
from tests.e2e.conftest import login
from tests.e2e.steps import switch_user
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def ledger_row(name: str, uscc: str, **overrides) -> list:
    values = {
        "区划代码": "371502", "单位名称": name, "统一社会信用代码": uscc, "作业场所地址": "东昌府区工业园1号",
        "行业代码": "3011", "企业规模": "小型", "经济类型": "私营", "法定代表人": "张三", "经营状态": "正常",
        "是否纳入治理范围": "是", "职工总人数": 40, "接尘人数": 12, "粉尘种类及接尘人数": "矽尘:12",
        "是否申报": "否", "警示标识和告知卡": "是", "应检人数": 12, "实检人数": 10, "主要负责人培训": "是",
        "参加工伤保险人数": 30,
    }
    values.update(overrides)
    return [values.get(header) for header in HEADERS]


def fill_template(template_path, target_path, rows) -> None:
    workbook = openpyxl.load_workbook(template_path)
    sheet = workbook["台帐"]
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=DATA_START_ROW + offset, column=column, value=value)
    workbook.save(target_path)


def submit_dongchangfu_2020h1(page):
    """The county clerk submits 东昌府区's 2020H1 ledger, confirming the browser's dialog."""
    page.goto("/ledger/periods/?period=2020H1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("status-371502")).to_have_text("已报送")


def test_the_whole_ledger_story(page, tmp_path, reference_data):
    ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                   ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2030, 7, 15))
    make_user("371502", role=Role.CLERK, username="county_clerk")
    make_user("3715", role=Role.REVIEWER, username="city_reviewer")
    make_user("37", role=Role.REVIEWER, username="province_reviewer")

    login(page, "county_clerk", PASSWORD)
    page.get_by_role("link", name="填报与审核").first.click()
    page.get_by_test_id("open-period").click()
    expect(page.get_by_test_id("status-371502")).to_have_text("填报中")

    page.goto("/ledger/excel/import/")
    with page.expect_download() as download:
        page.get_by_test_id("template-download").click()
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)

    good_a, good_b = demo_uscc("371502", 501), demo_uscc("371502", 502)
    bad = tmp_path / "bad.xlsx"
    fill_template(template, bad, [
        ledger_row("东昌府鑫达水泥有限公司", good_a[:-1] + ("0" if good_a[-1] != "0" else "1")),
        ledger_row("东昌府恒泰石材厂", good_b, 接尘人数=50),
    ])
    page.get_by_test_id("import-file").set_input_files(str(bad))
    page.get_by_test_id("import-submit").click()
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("校验位错误")
    expect(errors).to_contain_text("接尘人数不能大于职工总人数")
    with page.expect_download() as report:
        page.get_by_test_id("import-error-report").click()
    report.value.save_as(tmp_path / "errors.xlsx")
    report_rows = list(openpyxl.load_workbook(tmp_path / "errors.xlsx").active.iter_rows(values_only=True))
    assert any("统一社会信用代码" in str(row) for row in report_rows)
    assert Employer.objects.count() == 0

    fixed = tmp_path / "fixed.xlsx"
    fill_template(template, fixed, [ledger_row("东昌府鑫达水泥有限公司", good_a),
                                     ledger_row("东昌府恒泰石材厂", good_b)])
    page.goto("/ledger/excel/import/")
    page.get_by_test_id("import-file").set_input_files(str(fixed))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-preview")).to_contain_text("东昌府恒泰石材厂")
    page.get_by_test_id("import-commit").click()
    expect(page.get_by_test_id("import-status")).to_contain_text("导入完成")
    assert Employer.objects.count() == 2

    page.goto("/ledger/")
    page.get_by_role("link", name="东昌府恒泰石材厂").click()
    page.get_by_test_id("tab-records").click()
    page.get_by_test_id("record-edit-2020H1").click()
    page.check("#id_hazard_declared")
    page.fill("#id_declared_on", "2020-04-01")
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("employer-name")).to_have_text("东昌府恒泰石材厂")

    submit_dongchangfu_2020h1(page)

    switch_user(page, "city_reviewer")
    page.goto("/ledger/periods/?period=2020H1")
    page.get_by_test_id("reason-371502").fill("恒泰石材厂实检人数需核实")
    page.get_by_test_id("return-371502").click()
    expect(page.get_by_test_id("review-status-371502")).to_have_text("已退回")

    switch_user(page, "county_clerk")
    page.goto("/ledger/periods/?period=2020H1")
    expect(page.get_by_test_id("return-reason")).to_contain_text("恒泰石材厂实检人数需核实")
    record = EmployerRecord.objects.get(employer__name="东昌府恒泰石材厂")
    page.goto(f"/ledger/records/{record.pk}/edit/")
    page.fill("#id_exam_done", "12")
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("employer-name")).to_be_visible()
    submit_dongchangfu_2020h1(page)

    switch_user(page, "city_reviewer")
    page.goto("/ledger/periods/?period=2020H1")
    page.get_by_test_id("approve-371502").click()
    expect(page.get_by_test_id("review-status-371502")).to_have_text("市级已审核")

    switch_user(page, "province_reviewer")
    page.goto("/ledger/periods/?period=2020H1")
    page.get_by_test_id("accept-371502").click()
    expect(page.get_by_test_id("review-status-371502")).to_have_text("省级已接收")
    page.goto(f"/ledger/employers/{record.employer_id}/")
    page.get_by_test_id("tab-records").click()
    expect(page.get_by_test_id("records-table")).to_contain_text("省级已接收")

    switch_user(page, "county_clerk")
    page.goto(f"/ledger/records/{record.pk}/edit/")
    expect(page.get_by_test_id("locked")).to_contain_text("数据已锁定")
    page.fill("#id_exam_done", "11")
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("数据已锁定")
