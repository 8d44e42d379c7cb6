"""The downloadable official template: one column definition, the official title and header
rows, dropdowns for choices, and a 填表说明 sheet; a filled-in template imports cleanly."""

import io

import openpyxl
import pytest
from django.urls import reverse

from ledger import columns as cols
from ledger import excel
from ledger.models import RECORD_FIELDS, EmployerRecord, ImportStatus
from portal.models import Department, Role
from portal.workbook import XLSX_CONTENT_TYPE
from tests.factories import make_user
from tests.ledger.test_import import make_row, validate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def load(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


# ---- The column definition ---------------------------------------------------------------------


def test_one_column_definition_covers_every_ledger_field():
    keys = [c.key for c in cols.COLUMNS]
    assert len(keys) == len(set(keys)) and len(cols.HEADERS) == len(set(cols.HEADERS))
    assert [c.key for c in cols.RECORD_COLUMNS] == RECORD_FIELDS  # the official order of the facts
    assert cols.HEADERS[:4] == ["序号", "区划代码", "乡镇（街道）", "单位名称"]
    assert cols.HEADERS[cols.HEADERS.index("统一社会信用代码") + 1] == "旧工商注册号"


def test_period_headers_are_the_models_verbose_names():
    for column in cols.RECORD_COLUMNS:
        field = EmployerRecord._meta.get_field(column.key)
        assert column.header == cols.msgid(field.verbose_name)


def test_headers_stay_chinese_in_an_english_interface():
    from django.utils import translation

    with translation.override("en"):
        assert cols.msgid(EmployerRecord._meta.get_field("total_workers").verbose_name) == "职工总人数"
        assert cols.BY_KEY["size"].choice_labels() == ["大型", "中型", "小型", "微型"]


def test_every_column_says_what_it_expects():
    for column in cols.COLUMNS:
        assert str(column.expected), column.header
        assert column.width > 0
    assert cols.BY_KEY["status"].choice_labels() == ["正常", "停产整顿", "关闭"]
    assert cols.BY_KEY["hazard_declared"].choice_labels() == ["是", "否"]


# ---- The workbook --------------------------------------------------------------------------------


def test_the_template_has_the_official_layout(client):
    clerk = make_user("371502", role=Role.CLERK)
    client.force_login(clerk)
    wb = load(client.get(reverse("ledger:excel-template")))
    assert wb.sheetnames == ["台帐", "填表说明", "行业代码"]
    ws = wb["台帐"]
    assert ws["A1"].value == "东昌府区存在粉尘危害用人单位信息台帐"
    assert ws["A2"].value.startswith("填报期：") and "填报单位（盖章）：" in ws["A2"].value and "填报日期：" in ws["A2"].value
    assert [c.value for c in ws[cols.HEADER_ROW]] == cols.HEADERS
    merged = {str(r) for r in ws.merged_cells.ranges}
    last = openpyxl.utils.get_column_letter(len(cols.COLUMNS))
    assert f"A1:{last}1" in merged and f"A2:{last}2" in merged
    for group, first, end in cols.groups():
        assert ws.cell(cols.GROUP_ROW, first).value == group
        if end > first:
            letters = openpyxl.utils.get_column_letter(first), openpyxl.utils.get_column_letter(end)
            assert f"{letters[0]}3:{letters[1]}3" in merged
    assert ws.max_row == cols.HEADER_ROW  # no data rows
    assert ws.freeze_panes == f"E{cols.DATA_START_ROW}"
    assert ws.cell(cols.HEADER_ROW, cols.HEADERS.index("单位名称") + 1).font.color.rgb.endswith("C00000")


def test_the_template_has_dropdowns_for_choices_and_yes_no(client):
    client.force_login(make_user("371502", role=Role.CLERK))
    ws = load(client.get(reverse("ledger:excel-template")))["台帐"]
    by_column = {}
    for validation in ws.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            by_column[cell_range.min_col] = (validation.formula1, str(cell_range))
    def dropdown(header):
        return by_column[cols.HEADERS.index(header) + 1]
    assert dropdown("企业规模")[0] == '"大型,中型,小型,微型"'
    assert dropdown("经营状态")[0] == '"正常,停产整顿,关闭"'
    assert dropdown("是否申报")[0] == '"是,否"'
    assert dropdown("企业规模")[1].endswith(str(cols.DATA_START_ROW + excel.TEMPLATE_ROWS - 1))
    assert dropdown("乡镇（街道）")[0].startswith("'填表说明'!$B$")
    assert cols.HEADERS.index("单位名称") + 1 not in by_column


def test_the_instructions_sheet_lists_each_column(client):
    client.force_login(make_user("371502", role=Role.CLERK))
    wb = load(client.get(reverse("ledger:excel-template")))
    notes = [row for row in wb["填表说明"].iter_rows(values_only=True)]
    table = {row[0]: row for row in notes if row and row[0] in cols.BY_HEADER}
    assert set(table) == set(cols.HEADERS)
    assert table["单位名称"][2] == "必填" and table["注册地址"][2] == "选填"
    assert "GB/T 4754-2017" in table["行业代码"][3]
    dusts = {row[1] for row in notes if len(row) > 1 and not row[0] and row[1]}
    assert {"矽尘", "电焊烟尘", "古楼街道"} <= dusts
    codes = dict(wb["行业代码"].iter_rows(min_row=2, values_only=True))
    assert codes["3011"] == "水泥制造" and "C" not in codes


def test_a_user_with_several_counties_picks_one(client):
    city_viewer = make_user("3715", role=Role.VIEWER)
    client.force_login(city_viewer)
    assert load(client.get(reverse("ledger:excel-template")))["台帐"]["A1"].value == "____县（市、区）存在粉尘危害用人单位信息台帐"
    ws = load(client.get(reverse("ledger:excel-template") + "?county=371521"))["台帐"]
    assert ws["A1"].value == "阳谷县存在粉尘危害用人单位信息台帐"


def test_a_county_outside_the_scope_is_refused(client):
    client.force_login(make_user("371502", role=Role.CLERK))
    assert client.get(reverse("ledger:excel-template") + "?county=371521").status_code == 403


def test_the_template_needs_the_view_capability(client):
    assert client.get(reverse("ledger:excel-template")).status_code == 302  # to the login page
    nobody = make_user()
    client.force_login(nobody)
    assert client.get(reverse("ledger:excel-template")).status_code == 403
    hrss = make_user(("371502", Department.HRSS, Role.VIEWER))
    client.force_login(hrss)
    assert client.get(reverse("ledger:excel-template")).status_code == 200


def test_a_filled_in_template_imports_cleanly(client, clerk, period_2020h1, open_submission):
    client.force_login(clerk)
    wb = load(client.get(reverse("ledger:excel-template") + "?period=2020H1"))
    assert "2020年上半年" in wb["台帐"]["A2"].value
    ws = wb["台帐"]
    for serial in (1, 2):
        row = make_row(serial)
        for index, column in enumerate(cols.COLUMNS, start=1):
            ws.cell(cols.DATA_START_ROW + serial - 1, index, row[column.key])
    buffer = io.BytesIO()
    wb.save(buffer)
    job = validate(clerk, period_2020h1, buffer.getvalue())
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert job.rows_total == 2
