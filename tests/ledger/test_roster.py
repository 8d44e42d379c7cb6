"""The worker roster workbook: template, all-or-nothing import with per-cell errors, masked export."""

import io

import openpyxl
import pytest
from django.urls import reverse

from ledger import roster
from ledger.models import Worker
from portal.models import Region, Role
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import make_user
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

ID_A, ID_B = "370102198001011234", "37150219851212002X"


def valid(number: str) -> str:
    """A number with the right check character (the factory's validation computes it)."""
    from stdnum.cn import ric

    from ledger.validation import clean_id_number

    return clean_id_number(number[:17] + ric.calc_check_digit(number[:17] + "0"))


def workbook(rows) -> io.BytesIO:
    buffer = io.BytesIO()
    roster.write_roster(buffer, title="名册", rows=rows)
    buffer.seek(0)
    return buffer


def row(employer, id_number, name="张伟", post="破碎工", dust="矽尘", insured="是"):
    return [employer.uscc, employer.name, name, id_number, post, dust, "2015-03-01", insured, "2024-05-10", "未见异常"]


@pytest.fixture
def employers():
    return make_employer(county="371502", name="东昌府某石材厂"), make_employer(county="371521", name="阳谷某水泥厂")


def test_a_clean_file_is_imported_and_a_second_run_updates(employers):
    own, _other = employers
    clerk = make_user("371502")
    county = Region.objects.get(code="371502")
    result = roster.import_roster(actor=clerk, county=county, fileobj=workbook([row(own, valid(ID_A)),
                                                                                row(own, valid(ID_B), name="李强")]))
    assert (result.errors, result.created, result.updated) == ([], 2, 0)
    result = roster.import_roster(actor=clerk, county=county,
                                  fileobj=workbook([row(own, valid(ID_A), post="装卸工", insured="否")]))
    assert (result.created, result.updated) == (0, 1)
    worker = Worker.objects.get(employer=own, id_number=valid(ID_A))
    assert worker.post == "装卸工" and worker.insured is False and worker.version == 2


def test_a_duplicate_id_or_another_countys_employer_writes_nothing(employers):
    own, other = employers
    result = roster.import_roster(actor=make_user("371502"), county=Region.objects.get(code="371502"),
                                  fileobj=workbook([row(own, valid(ID_A)), row(own, valid(ID_A), name="重复"),
                                                    row(other, valid(ID_B)), row(own, "123", dust="面粉")]))
    problems = {(e["row"], e["column"]): e["problem"] for e in result.errors}
    assert problems[(4, "居民身份证号")] == "与第 3 行是同一单位的同一身份证号"
    assert "不属于东昌府区" in problems[(5, "统一社会信用代码")]
    assert (6, "居民身份证号") in problems and problems[(6, "粉尘种类")] == "不在粉尘种类目录中"
    assert Worker.objects.count() == 0


def test_the_export_masks_id_numbers_unless_the_role_needs_them(client, employers):
    own, _other = employers
    roster.import_roster(actor=make_user("371502"), county=Region.objects.get(code="371502"),
                         fileobj=workbook([row(own, valid(ID_A))]))

    def exported(user):
        client.force_login(user)
        response = client.get(reverse("ledger:roster-export"), {"county": "371502"})
        sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))[roster.SHEET]
        return [r for r in sheet.iter_rows(min_row=3, values_only=True)]

    [clerk_row] = exported(make_user("371502"))
    assert clerk_row[3] == valid(ID_A)
    [viewer_row] = exported(make_user("3715", role=Role.VIEWER))
    assert viewer_row[3] != valid(ID_A) and "*" in viewer_row[3]


def test_the_import_page_reports_per_cell_errors(client, employers):
    own, other = employers
    client.force_login(make_user("371502"))
    response = client.post(reverse("ledger:roster-import"), {
        "county": "371502", "file": _upload(workbook([row(other, valid(ID_A))]))})
    body = response.content.decode()
    assert "未写入任何数据" in body and "不属于东昌府区" in body
    response = client.post(reverse("ledger:roster-import"), {
        "county": "371521", "file": _upload(workbook([row(other, valid(ID_A))]))}, follow=True)
    assert "请选择您管辖范围内的县" in response.content.decode()
    assert Worker.objects.count() == 0


def _upload(buffer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("roster.xlsx", buffer.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.mark.django_db(transaction=True)
def test_a_large_roster_is_written_by_the_worker_masked_as_inline_and_only_for_its_requester(
        celery_worker_process, reference_data, client, employers, settings):
    own, _other = employers
    roster.import_roster(actor=make_user("371502"), county=Region.objects.get(code="371502"),
                         fileobj=workbook([row(own, valid(ID_A)), row(own, valid(ID_B), name="李强")]))
    url = reverse("ledger:roster-export") + "?county=371502"
    clerk, city_viewer = make_user("371502"), make_user("3715", role=Role.VIEWER)
    for user, masked in ((clerk, False), (city_viewer, True)):
        client.force_login(user)
        settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 2000
        inline = inline_workbook(client, url)
        settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
        background, token = export_in_background(client, url)
        assert sheet_values(background) == sheet_values(inline)
        ids = [r[3] for r in background[roster.SHEET].iter_rows(min_row=3, values_only=True)]
        assert len(ids) == 2 and all(("*" in i) is masked for i in ids)
    assert_only_the_requester_may_fetch(client, token, [make_user("3715", role=Role.CLERK),
                                                        make_user("371502", role=Role.VIEWER),
                                                        make_user("371521")])
