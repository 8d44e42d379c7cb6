import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from insurance import services
from insurance.models import InsuranceCoverage, LedgerHandover
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import signed_in
from tests.insurance.test_services import unit, xlsx

pytestmark = pytest.mark.django_db


def test_every_page_renders_for_hrss(client, ledger, health_clerk, hrss_clerk, period_2020h1, county):
    handover = services.ledger_handover(actor=health_clerk, period=period_2020h1, county=county)
    plan = services.plan_save(actor=hrss_clerk, region=county, title="东昌府区计划", start_year=2020,
                              targets=[(1, 50), (2, 60), (3, 70)])
    signed_in(client=client, user=hrss_clerk)
    for name, args in [("index", []), ("handover-detail", [handover.pk]),
                       ("handover-roster", [handover.pk, ledger["cement"].pk]), ("coverage", []), ("import", []),
                       ("reconciliation", []), ("work-list", []), ("follow-ups", [ledger["cement"].pk]),
                       ("plans", []), ("plan-detail", [plan.pk]), ("training", [])]:
        response = client.get(reverse(f"insurance:{name}", args=args))
        assert response.status_code == 200, name
    for tab in ("differences", "missing", "unmatched"):
        assert client.get(reverse("insurance:reconciliation"), {"tab": tab}).status_code == 200


def test_empty_states(client, hrss_clerk, period_2020h1):
    signed_in(client=client, user=hrss_clerk)
    assert "尚未向您移交台帐" in client.get(reverse("insurance:index")).content.decode()
    assert "没有存在未参保职工" in client.get(reverse("insurance:work-list")).content.decode()


def test_health_clerk_hands_over_through_the_page(client, ledger, health_clerk, period_2020h1, county):
    signed_in(client=client, user=health_clerk)
    response = client.post(reverse("insurance:handover-create"), {"county": county.pk, "period": period_2020h1.pk})
    assert response.status_code == 302 and LedgerHandover.objects.count() == 1


def test_health_user_cannot_post_coverage(client, ledger, health_clerk, period_2020h1):
    signed_in(client=client, user=health_clerk)
    response = client.post(reverse("insurance:coverage"), {
        "uscc": ledger["cement"].uscc, "period": period_2020h1.pk, "insured_workers": 5, "as_of": "2020-06-30"})
    assert response.status_code == 403 and "权限" in response.content.decode()
    assert not InsuranceCoverage.objects.exists()


def test_hrss_enters_coverage_and_imports_through_pages(client, ledger, hrss_clerk, period_2020h1, county):
    signed_in(client=client, user=hrss_clerk)
    response = client.post(reverse("insurance:coverage"), {
        "uscc": ledger["cement"].uscc, "period": period_2020h1.pk, "insured_workers": 70, "as_of": "2020-06-30"})
    assert response.status_code == 302
    assert InsuranceCoverage.objects.get().insured_workers == 70


def test_import_page_shows_the_row_report(client, ledger, hrss_clerk, period_2020h1, county):
    from django.core.files.uploadedfile import SimpleUploadedFile

    signed_in(client=client, user=hrss_clerk)
    upload = SimpleUploadedFile("社保.xlsx", xlsx([unit(ledger["cement"], 101)]))
    response = client.post(reverse("insurance:import"), {"region": county.pk, "period": period_2020h1.pk,
                                                        "file": upload})
    body = response.content.decode()
    assert "import-errors" in body and "参保人数大于该单位台帐职工总人数（100）" in body
    upload = SimpleUploadedFile("社保.xlsx", xlsx([unit(ledger["cement"], 99)]))
    response = client.post(reverse("insurance:import"), {"region": county.pk, "period": period_2020h1.pk,
                                                        "file": upload})
    assert "import-result" in response.content.decode()
    assert InsuranceCoverage.objects.get().insured_workers == 99


def test_work_list_export(client, ledger, hrss_clerk, period_2020h1):
    signed_in(client=client, user=hrss_clerk)
    response = client.get(reverse("insurance:work-list-export"), {"period": period_2020h1.code})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "单位名称" and rows[1][0] == "鑫达水泥有限公司" and rows[1][7] == 40


def test_follow_up_page_records_enrolment(client, ledger, hrss_clerk, period_2020h1):
    signed_in(client=client, user=hrss_clerk)
    url = reverse("insurance:follow-ups", args=[ledger["cement"].pk]) + f"?period={period_2020h1.code}"
    response = client.post(url, {"action": "enrolled", "acted_on": "2020-07-01", "enrolled": 10})
    assert response.status_code == 302
    assert InsuranceCoverage.objects.get().insured_workers == 70


def test_other_county_hrss_cannot_see_the_employer(client, ledger, hrss_other_county, period_2020h1):
    signed_in(client=client, user=hrss_other_county)
    response = client.get(reverse("insurance:follow-ups", args=[ledger["cement"].pk]))
    assert response.status_code == 404  # as an employer that does not exist (rule 21)
    assert client.get(reverse("insurance:follow-ups", args=[999999])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_large_work_list_export_is_written_by_the_worker_and_only_for_its_requester(
        celery_worker_process, reference_data, client, ledger, hrss_clerk, hrss_viewer, hrss_other_county,
        period_2020h1, settings):
    url = reverse("insurance:work-list-export") + f"?period={period_2020h1.code}"
    signed_in(client=client, user=hrss_clerk)
    inline = inline_workbook(client, url)
    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 0
    background, token = export_in_background(client, url)
    assert sheet_values(background) == sheet_values(inline)
    assert sheet_values(background)[0][1][0] == "鑫达水泥有限公司"
    assert_only_the_requester_may_fetch(client, token, [hrss_viewer, hrss_other_county])
