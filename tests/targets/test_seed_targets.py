"""Every loaded target read against the plans as they are written (a table transcribed from the
seed documents), the corrections of issue 13, and inheritance from the national plan down."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from portal.models import Region, Role
from targets import selectors, services
from targets.models import Campaign, CampaignPhase, Target
from tests.factories import make_user

pytestmark = pytest.mark.django_db

SEEDS = Path(settings.BASE_DIR) / "fixtures" / "sources" / "plans"  # copies of the seed documents 001-003
SEED_FILES = {"辽卫发〔2019〕68号": "001_14650547f8a7af3c.txt", "荣卫发〔2019〕407号": "002_ae407ac9ce655604.txt",
              "": "003_54e4e290ab79e062.txt"}
LEDGER_8 = ["declaration", "testing", "warning_signs", "health_exam", "surveillance_files", "training_principal",
            "training_managers", "training_workers"]
RONGCHANG_6 = ["declaration", "testing", "health_exam", "training_principal", "training_managers", "training_workers"]

# (document, region, indicators, value, due date, words of the document that set it)
SEED_TABLE = [
    ("国卫职健发〔2019〕46号", "100000", RONGCHANG_6, 95, "2020-12-31", None),
    ("国卫职健发〔2019〕46号", "100000", ["injury_insurance"], 80, "2020-12-31", None),
    ("国卫职健发〔2019〕46号", "100000", ["three_simultaneities", "supervision"], 95, "2020-12-31", None),
    ("辽卫发〔2019〕68号", "21", LEDGER_8, 80, "2019-12-31",
     "产生严重职业病危害的作业岗位警示标识设置率达到80%以上，接尘劳动者在岗期间职业健康检查率和职业健康监护档案建档率达到80%以上"),
    ("辽卫发〔2019〕68号", "21", ["injury_insurance"], 70, "2019-12-31", "劳动者依法参加工伤保险覆盖率达到70%以上"),
    ("辽卫发〔2019〕68号", "21", ["supervision"], 60, "2019-12-31", "重点行业领域监督检查覆盖率达到60%以上"),
    ("辽卫发〔2019〕68号", "21", ["enforcement_training"], 100, "2019-12-31", "职业健康监管执法人员培训率达到100%"),
    ("辽卫发〔2019〕68号", "21", LEDGER_8, 95, "2020-12-31",
     "产生严重职业病危害的作业岗位警示标识设置率达到95%以上，接尘劳动者在岗期间职业健康检查率和职业健康监护档案建档率达到95%以上"),
    ("辽卫发〔2019〕68号", "21", ["injury_insurance"], 80, "2020-12-31",
     "到2020年底前，重点行业用人单位劳动者工伤保险覆盖率达到80%以上"),
    ("辽卫发〔2019〕68号", "21", ["supervision"], 95, "2020-10-31",
     "到2020年10月底前，煤矿、非煤矿山、冶金、建材等重点行业监督检查覆盖率达到95%以上"),
    ("辽卫发〔2019〕68号", "21", ["three_simultaneities"], 95, "2020-10-31", "2020年10月底前实现行动目标"),
    ("辽卫发〔2019〕68号", "21", ["diagnosis_institution"], 100, "2020-10-31",
     "到2020年10月底前，每个地市至少确定1家医疗卫生机构承担职业病诊断"),
    ("辽卫发〔2019〕68号", "21", ["exam_institution"], 100, "2020-10-31", "县区至少确定1家医疗卫生机构承担职业健康检查"),
    ("荣卫发〔2019〕407号", "500153", RONGCHANG_6, 80, "2019-12-31",
     "粉尘危害定期检测率达到80%以上，接尘劳动者在岗期间职业健康检查率达到80%以上"),
    ("荣卫发〔2019〕407号", "500153", ["injury_insurance"], 70, "2019-12-31", "工伤保险覆盖率达到70%以上"),
    ("荣卫发〔2019〕407号", "500153", ["supervision"], 60, "2019-12-31", "监督检查覆盖率达到60%以上"),
    ("荣卫发〔2019〕407号", "500153", ["three_simultaneities"], 95, "2019-12-31",
     "“三同时”实施率达到95%以上。2.煤矿"),
    ("荣卫发〔2019〕407号", "500153", ["enforcement_training"], 100, "2019-12-31", "到2019年底，培训率达到100%"),
    ("荣卫发〔2019〕407号", "500153", RONGCHANG_6, 95, "2020-09-30",
     "粉尘浓度定期检测率达到95%以上,接尘劳动者在岗期间职业健康检查率达到95%以上"),
    ("荣卫发〔2019〕407号", "500153", ["injury_insurance"], 80, "2020-09-30",
     "到2020年9月底前，重点行业用人单位劳动者工伤保险覆盖率达到80%以上"),
    ("荣卫发〔2019〕407号", "500153", ["three_simultaneities", "supervision"], 95, "2020-09-30",
     "“三同时”实施率达到95%以上；监督检查覆盖率达到95%以上"),
    ("荣卫发〔2019〕407号", "500153", ["exam_institution"], 100, "2020-09-30", "我区至少确定1家医疗卫生机构承担职业健康检查"),
    ("荣卫发〔2019〕407号", "500153", ["rehab_stations"], 1, "2020-09-30", "至少完成1个康复站建设"),
    ("荣卫发〔2019〕407号", "500153", ["rehab_archive"], 100, "2020-09-30", "尘肺病患者肺康复建档率为100%"),
    ("", "410122", ["declaration", "testing", "health_exam", "training_principal", "training_managers"], 95,
     "2025-12-31", "重点行业用人单位职业病危害项目申报率达到95%以上"),
    ("", "410122", ["dose_monitoring"], 100, "2025-12-31", "医疗卫生机构放射工作人员个人剂量监测率达到100%"),
    ("", "410122", ["injury_insurance"], 85, "2025-12-31", "工伤保险覆盖率达到85%以上"),
]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_loaded_target_is_in_the_table_and_every_row_of_the_table_is_loaded():
    expected = {(doc, region, indicator, Decimal(value), datetime.date.fromisoformat(due))
                for doc, region, indicators, value, due, _words in SEED_TABLE for indicator in indicators}
    loaded = {(t.campaign.document_number, t.region.code, t.indicator, t.value, t.due_on)
              for t in Target.objects.select_related("campaign", "region")}
    assert loaded == expected


@pytest.mark.parametrize("doc, region, indicators, value, due, words",
                         [row for row in SEED_TABLE if row[-1]], ids=lambda v: v if isinstance(v, str) else None)
def test_the_words_are_the_documents_and_each_target_carries_them(doc, region, indicators, value, due, words):
    assert squeeze(words) in squeeze((SEEDS / SEED_FILES[doc]).read_text(encoding="utf-8"))
    for target in Target.objects.filter(campaign__document_number=doc, region__code=region, indicator__in=indicators,
                                        due_on=due):
        assert squeeze(words) in squeeze(target.wording) or squeeze(target.wording) in squeeze(
            (SEEDS / SEED_FILES[doc]).read_text(encoding="utf-8"))


def test_liaoning_corrections():
    plan = Campaign.objects.get(document_number="辽卫发〔2019〕68号")
    assert plan.issued_on == datetime.date(2019, 12, 4) and "11部门" in plan.authority
    assert (plan.first_year, plan.last_year) == (2019, 2020)
    three = Target.objects.filter(campaign=plan, indicator="three_simultaneities")
    assert [(t.due_on, t.value) for t in three] == [(datetime.date(2020, 10, 31), Decimal("95.00"))]  # no 2019 rate
    supervision = Target.objects.filter(campaign=plan, indicator="supervision").order_by("due_on")
    assert [t.due_on for t in supervision] == [datetime.date(2019, 12, 31), datetime.date(2020, 10, 31)]


def test_rongchang_corrections():
    plan = Campaign.objects.get(document_number="荣卫发〔2019〕407号")
    assert plan.issued_on == datetime.date(2019, 5, 10)
    targets = Target.objects.filter(campaign=plan)
    assert not targets.filter(indicator__in=["warning_signs", "surveillance_files"]).exists()
    assert sorted(targets.filter(indicator="three_simultaneities").values_list("due_on", "value")) == [
        (datetime.date(2019, 12, 31), Decimal("95.00")), (datetime.date(2020, 9, 30), Decimal("95.00"))]
    assert targets.get(indicator="enforcement_training").due_on == datetime.date(2019, 12, 31)
    phases = list(CampaignPhase.objects.filter(campaign=plan).values_list("name", "starts_on", "ends_on"))
    assert phases == [("动员部署阶段", datetime.date(2019, 10, 1), datetime.date(2019, 10, 31)),
                      ("工作实施阶段", datetime.date(2019, 11, 1), datetime.date(2020, 9, 30)),
                      ("总结考评阶段", datetime.date(2020, 10, 1), datetime.date(2020, 12, 31))]


def test_no_plan_carries_a_date_its_document_does_not_give():
    national = Campaign.objects.get(document_number="国卫职健发〔2019〕46号")
    zhongmou = Campaign.objects.get(region__code="410122")
    assert national.issued_on is None and zhongmou.issued_on is None  # a month, and a draft
    assert not hasattr(national, "starts_on")


def test_reloading_a_corrected_fixture_removes_what_it_no_longer_sets():
    plan = Campaign.objects.get(document_number="荣卫发〔2019〕407号")
    Target.objects.create(campaign=plan, region=plan.region, indicator="warning_signs",
                          due_on=datetime.date(2019, 12, 31), value=80)
    from django.core.management import call_command
    call_command("load_reference", verbosity=0)
    assert not Target.objects.filter(campaign=plan, indicator="warning_signs").exists()


def test_shandong_inherits_the_national_plan_through_four_levels():
    """全国 → 山东省 → 聊城市 → 东昌府区 → a township: Shandong sets no rates of its own."""
    targets = list(Target.objects.select_related("region"))
    for code in ("37", "3715", "371502", Region.objects.filter(parent__code="371502").first().code):
        effective = selectors.effective_targets(targets, Region.objects.get(code=code), datetime.date(2020, 12, 31))
        assert effective["declaration"].value == Decimal("95") and effective["declaration"].region_name == "全国"
        assert effective["injury_insurance"].value == Decimal("80")


def test_four_levels_each_stricter_and_the_strictest_wins():
    national_admin = make_user("100000", role=Role.ADMIN)
    shandong = Campaign.objects.create(region=Region.objects.get(code="37"), name="山东省方案", authority="山东省卫生健康委",
                                       first_year=2019, last_year=2020)
    liaocheng = Campaign.objects.create(region=Region.objects.get(code="3715"), name="聊城市方案",
                                        authority="聊城市卫生健康委", first_year=2019, last_year=2020)
    dongchangfu = Campaign.objects.create(region=Region.objects.get(code="371502"), name="东昌府区方案",
                                          authority="东昌府区卫生健康局", first_year=2019, last_year=2020)
    for campaign, value in ((shandong, "96"), (liaocheng, "97"), (dongchangfu, "98")):
        services.target_set(actor=national_admin, campaign=campaign, region=campaign.region,
                            indicator="declaration", due_on=datetime.date(2020, 12, 31), value=Decimal(value))
    targets = list(Target.objects.select_related("region"))
    as_of = datetime.date(2020, 12, 31)
    assert [selectors.effective_targets(targets, Region.objects.get(code=c), as_of)["declaration"].region_name
            for c in ("100000", "37", "3715", "371502")] == ["全国", "山东省", "聊城市", "东昌府区"]
    # A fifth level below may not go looser than the county.
    with pytest.raises(ValidationError, match="98%"):
        services.target_set(actor=national_admin, campaign=dongchangfu,
                            region=Region.objects.filter(parent__code="371502").first(),
                            indicator="declaration", due_on=datetime.date(2020, 12, 31), value=Decimal("97"))


def test_a_looser_child_is_refused_and_the_percentage_reads_90_percent():
    liaoning = Campaign.objects.get(document_number="辽卫发〔2019〕68号")
    Target.objects.filter(campaign=liaoning, indicator="supervision", due_on="2020-10-31").update(value=Decimal("90.00"))
    shenyang = Campaign.objects.create(region=Region.objects.get(code="2101"), name="沈阳市方案", authority="沈阳市",
                                       first_year=2019, last_year=2020)
    with pytest.raises(ValidationError) as exc:
        services.target_set(actor=make_user("2101", role=Role.ADMIN), campaign=shenyang,
                            region=shenyang.region, indicator="supervision", due_on=datetime.date(2020, 11, 30),
                            value=Decimal("85.50"))
    message = exc.value.message_dict["value"][0]
    assert "90%" in message and "85.5%" in message and "E+" not in message


@pytest.mark.parametrize("due_on, message", [(None, "请填写完成时限"), (datetime.date(2021, 3, 31), "2019—2020")])
def test_a_target_without_a_date_or_outside_the_plan_years_is_refused(due_on, message):
    liaoning = Campaign.objects.get(document_number="辽卫发〔2019〕68号")
    with pytest.raises(ValidationError, match=message):
        services.target_set(actor=make_user("21", role=Role.ADMIN), campaign=liaoning,
                            region=Region.objects.get(code="2101"), indicator="declaration", due_on=due_on,
                            value=Decimal("99"))
    assert not Target.objects.filter(region__code="2101").exists()


def test_a_plan_is_edited_only_by_its_own_region_and_above():
    liaoning = Campaign.objects.get(document_number="辽卫发〔2019〕68号")
    for outsider in (make_user("37", role=Role.ADMIN), make_user("2101", role=Role.ADMIN)):
        with pytest.raises(PermissionDenied):
            services.campaign_update(actor=outsider, campaign=liaoning, name="改", authority="改",
                                     document_number="", first_year=2019, last_year=2020)
        with pytest.raises(PermissionDenied):
            services.target_set(actor=outsider, campaign=liaoning, region=Region.objects.get(code="2101"),
                                indicator="declaration", due_on=datetime.date(2020, 6, 30), value=Decimal("99"))
    liaoning.refresh_from_db()
    assert liaoning.name == "辽宁省尘肺病防治攻坚行动实施方案"
    services.campaign_update(actor=make_user("21", role=Role.ADMIN), campaign=liaoning, name=liaoning.name,
                             authority=liaoning.authority, document_number=liaoning.document_number,
                             first_year=2019, last_year=2020, issued_on=liaoning.issued_on)


def test_a_count_target_takes_a_whole_number():
    rongchang = Campaign.objects.get(document_number="荣卫发〔2019〕407号")
    with pytest.raises(ValidationError, match="整数"):
        services.target_set(actor=make_user("500153", role=Role.ADMIN), campaign=rongchang, region=rongchang.region,
                            indicator="rehab_stations", due_on=datetime.date(2020, 6, 30), value=Decimal("1.5"))
