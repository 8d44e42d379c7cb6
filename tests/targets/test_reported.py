"""Figures the ledger does not hold: reported with evidence, submitted, approved from above, and
shown on the dashboard beside the ledger's with the same colours."""


import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import Region, Role
from targets import services
from targets.indicators import CATALOGUE_BY_CODE, Source
from targets.models import ReportedFigure
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def period(period_2020h1):
    return period_2020h1


def evidence():
    return SimpleUploadedFile("培训签到表.pdf", b"%PDF-1.4 list", content_type="application/pdf")


def test_the_registry_says_where_each_figure_comes_from():
    assert CATALOGUE_BY_CODE["declaration"].source == Source.LEDGER
    assert CATALOGUE_BY_CODE["enforcement_training"].source == Source.REPORTED
    assert CATALOGUE_BY_CODE["declaration"].source_label == "用人单位台帐汇总"


def test_a_county_reports_the_city_approves_and_the_dashboard_counts_it(client, period):
    county = Region.objects.get(code="500153")
    clerk, reviewer = make_user("500153", role=Role.CLERK), make_user("50", role=Role.REVIEWER)
    figure = services.reported_figure_save(actor=clerk, period=period, region=county,
                                           indicator="enforcement_training", numerator=18, denominator=20,
                                           evidence=evidence())
    services.reported_figure_submit(actor=clerk, figure=figure)
    with pytest.raises(ValidationError):  # locked once submitted
        services.reported_figure_save(actor=clerk, period=period, region=county, indicator="enforcement_training",
                                      numerator=20, denominator=20)
    with pytest.raises(PermissionDenied):  # not from the same level
        services.reported_figure_review(actor=make_user("500153", role=Role.REVIEWER), figure=figure, approve=True)
    services.reported_figure_review(actor=reviewer, figure=figure, approve=True)
    client.force_login(make_user("50", role=Role.VIEWER))
    body = client.get(reverse("targets:dashboard"), {"region": "500153", "period": "2020H1"}).content.decode()
    assert "职业健康监管执法人员培训率" in body and "90.0%" in body
    assert "还差 2 人" in body  # Rongchang: 100% by end-2019


def test_an_unapproved_figure_does_not_count(period):
    from targets.selectors import reported_figures

    clerk = make_user("500153", role=Role.CLERK)
    figure = services.reported_figure_save(actor=clerk, period=period, region=Region.objects.get(code="500153"),
                                           indicator="exam_institution", numerator=1, evidence=evidence())
    services.reported_figure_submit(actor=clerk, figure=figure)
    assert all("exam_institution" not in figures for figures in reported_figures(Region.objects.get(code="50"),
                                                                                  period).values())
    services.reported_figure_review(actor=make_user("50", role=Role.REVIEWER), figure=figure, approve=False,
                                    reason="缺验收材料")
    assert ReportedFigure.objects.get().status == "returned"


@pytest.mark.parametrize("indicator, region, numerator, denominator, message", [
    ("enforcement_training", "500153", 21, 20, "不能大于分母"),
    ("enforcement_training", "500153", 5, None, "请填写分母"),
    ("diagnosis_institution", "500153", 1, None, "市"),  # a city answers it
    ("exam_institution", "500153", 2, None, "是"),
    ("declaration", "500153", 1, 1, "不由责任部门报送"),
])
def test_bad_reported_figures_are_refused(period, indicator, region, numerator, denominator, message):
    with pytest.raises(ValidationError, match=message):
        services.reported_figure_save(actor=make_user("50", role=Role.CLERK), period=period,
                                      region=Region.objects.get(code=region), indicator=indicator,
                                      numerator=numerator, denominator=denominator, evidence=evidence())
    assert not ReportedFigure.objects.exists()


def test_evidence_is_required(period):
    with pytest.raises(ValidationError, match="佐证材料"):
        services.reported_figure_save(actor=make_user("500153", role=Role.CLERK), period=period,
                                      region=Region.objects.get(code="500153"), indicator="exam_institution",
                                      numerator=1)


def test_yes_no_figures_sum_to_a_share_of_regions(period):
    from targets.selectors import reported_figures

    reviewer = make_user("21", role=Role.REVIEWER)
    for code, answer in (("2101", 1), ("2102", 0)):
        figure = services.reported_figure_save(actor=make_user(code, role=Role.CLERK), period=period,
                                               region=Region.objects.get(code=code),
                                               indicator="diagnosis_institution", numerator=answer,
                                               evidence=evidence())
        services.reported_figure_submit(actor=make_user(code, role=Role.CLERK), figure=figure)
        services.reported_figure_review(actor=reviewer, figure=figure, approve=True)
    figures = reported_figures(Region.objects.get(code="21"), period)
    assert figures["21"]["diagnosis_institution"] == [1, 2]
    assert figures["2101"]["diagnosis_institution"] == [1, 1]


def test_the_page_enters_a_figure_with_its_evidence(client, period):
    client.force_login(make_user("500153", role=Role.CLERK))
    response = client.post(reverse("targets:reported"), {
        "period": "2020H1", "region": Region.objects.get(code="500153").pk, "indicator": "exam_institution",
        "numerator": "1", "evidence": evidence()})
    assert response.status_code == 302
    figure = ReportedFigure.objects.get()
    assert figure.denominator == 1 and figure.evidence.name.endswith(".pdf")
    body = client.get(reverse("targets:reported"), {"period": "2020H1"}).content.decode()
    assert "县区职业健康检查机构确定率" in body and "报送" in body
    assert client.get(reverse("targets:reported-evidence", args=[figure.pk])).status_code == 200
    client.force_login(make_user("3715", role=Role.VIEWER))
    assert client.get(reverse("targets:reported-evidence", args=[figure.pk])).status_code == 404
