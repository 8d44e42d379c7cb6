import datetime
import io
import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from insurance import selectors, services
from insurance.excel import write_coverage_workbook
from insurance.models import CoverageSource, FollowUpAction, InsuranceCoverage, LedgerHandover, WorkerCoverage
from ledger.models import Employer
from tests.insurance.conftest import ID_A, ID_B, TODAY, add_worker, set_record
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db


def xlsx(rows, persons=None) -> bytes:
    buffer = io.BytesIO()
    write_coverage_workbook(buffer, rows, persons)
    return buffer.getvalue()


def unit(employer, insured, as_of=datetime.date(2020, 6, 30), name=None):
    return (name or employer.name, employer.uscc, insured, as_of)


# ---- 1. Hand-over ----------------------------------------------------------------------------------


def test_health_clerk_hands_over_and_hrss_of_county_city_province_read_it(
        ledger, health_clerk, hrss_clerk, hrss_city, hrss_province, hrss_other_county, period_2020h1, county):
    handover = services.ledger_handover(actor=health_clerk, period=period_2020h1, county=county)
    assert handover.shared_by == health_clerk and handover.city_id == county.parent_id
    for user in (hrss_clerk, hrss_city, hrss_province):
        assert list(selectors.handover_list(actor=user)) == [handover]
        assert selectors.handover_records(selectors.handover_get(actor=user, pk=handover.pk)).count() == 3
    assert list(selectors.handover_list(actor=hrss_other_county)) == []
    with pytest.raises(LedgerHandover.DoesNotExist):
        selectors.handover_get(actor=hrss_other_county, pk=handover.pk)


def test_hrss_cannot_hand_over_the_ledger(ledger, hrss_clerk, period_2020h1, county):
    with pytest.raises(PermissionDenied, match="不在您的管辖范围内"):
        services.ledger_handover(actor=hrss_clerk, period=period_2020h1, county=county)


def test_hand_over_needs_an_opened_ledger(health_clerk, period_2020h1, county):
    with pytest.raises(ValidationError, match="尚未开始"):
        services.ledger_handover(actor=health_clerk, period=period_2020h1, county=county)


def test_diff_since_the_last_hand_over(ledger, health_clerk, period_2020h1, period_2020h2, county):
    from ledger import services as ledger_services

    services.ledger_handover(actor=health_clerk, period=period_2020h1, county=county)
    first_diff = selectors.handover_diff(LedgerHandover.objects.get())
    assert first_diff.previous is None
    ledger["furniture"].status = "closed"
    ledger["furniture"].save()
    newcomer = make_employer(county="371502", name="新兴石料厂", industry="1011")
    ledger_services.period_open_county(actor=health_clerk, period=period_2020h2, county=county)
    set_record(ledger["cement"], period_2020h2, total_workers=120, insured_workers=60)
    second = services.ledger_handover(actor=health_clerk, period=period_2020h2, county=county)
    diff = selectors.handover_diff(second)
    assert diff.previous.period == period_2020h1
    assert [r["employer__name"] for r in diff.added] == [newcomer.name]
    assert [r["employer__name"] for r in diff.removed] == ["宏远家具厂"]
    assert [(r["employer__name"], r["old_total"], r["total_workers"]) for r in diff.changed] == [
        ("鑫达水泥有限公司", 100, 120)]


def test_roster_masked_unless_the_role_needs_identity(ledger, health_clerk, hrss_clerk, hrss_viewer, period_2020h1,
                                                      county):
    add_worker(ledger["cement"], "赵一", ID_A)
    handover = services.ledger_handover(actor=health_clerk, period=period_2020h1, county=county)
    _e, workers = selectors.handover_roster(actor=hrss_clerk, handover=handover, employer_pk=ledger["cement"].pk)
    assert workers[0]["id_number"] == ID_A
    _e, workers = selectors.handover_roster(actor=hrss_viewer, handover=handover, employer_pk=ledger["cement"].pk)
    assert workers[0]["id_number"] == "110105********002X"


# ---- 2. Coverage: manual entry ------------------------------------------------------------------------


def test_hrss_clerk_enters_coverage(ledger, hrss_clerk, period_2020h1):
    coverage = services.coverage_save(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                                      insured_workers=80, as_of=datetime.date(2020, 6, 30))
    assert coverage.source == CoverageSource.MANUAL and coverage.county_id == ledger["cement"].county_id
    services.coverage_save(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                           insured_workers=85, as_of=datetime.date(2020, 6, 30))
    assert InsuranceCoverage.objects.get().insured_workers == 85


def test_health_user_cannot_write_coverage(ledger, health_clerk, period_2020h1):
    with pytest.raises(PermissionDenied, match="不在您的管辖范围内"):
        services.coverage_save(actor=health_clerk, employer=ledger["cement"], period=period_2020h1,
                               insured_workers=80, as_of=datetime.date(2020, 6, 30))
    assert not InsuranceCoverage.objects.exists()


def test_hrss_user_outside_the_region_cannot_write(ledger, hrss_other_county, period_2020h1):
    with pytest.raises(PermissionDenied, match="东昌府区"):
        services.coverage_save(actor=hrss_other_county, employer=ledger["cement"], period=period_2020h1,
                               insured_workers=80, as_of=datetime.date(2020, 6, 30))


def test_manual_entry_refuses_more_insured_than_workers_and_future_dates(ledger, hrss_clerk, period_2020h1):
    with pytest.raises(ValidationError) as exc:
        services.coverage_save(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                               insured_workers=101, as_of=TODAY + datetime.timedelta(days=1))
    assert "职工总人数（100）" in exc.value.message_dict["insured_workers"][0]
    assert "不能晚于今天" in exc.value.message_dict["as_of"][0]


# ---- 2. Coverage: import ------------------------------------------------------------------------------


def test_import_matches_by_uscc_and_lists_unmatched_units(ledger, hrss_clerk, period_2020h1, county):
    stranger = "91371502MA3C4XQW4H"
    from ledger.validation import clean_uscc
    stranger = clean_uscc(stranger) if False else "91371502000000001" + __import__(
        "stdnum.cn.uscc", fromlist=["x"]).calc_check_digit("91371502000000001")
    data = xlsx([unit(ledger["cement"], 90), unit(ledger["coal"], 50), ("不在台帐的单位", stranger, 7, "2020-06-30")])
    record = services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1,
                                      files=[("社保导出.xlsx", data)], original_name="社保导出.xlsx")
    assert record.rows_total == 3 and record.rows_matched == 2
    assert record.unmatched == [{"row": 4, "name": "不在台帐的单位", "uscc": stranger, "insured_workers": 7}]
    assert dict(InsuranceCoverage.objects.values_list("employer__name", "insured_workers")) == {
        "鑫达水泥有限公司": 90, "恒泰煤业有限公司": 50}
    assert set(InsuranceCoverage.objects.values_list("source", flat=True)) == {CoverageSource.IMPORT}
    without = selectors.records_without_coverage(actor=hrss_clerk, period=period_2020h1)
    assert [r.employer.name for r in without] == ["宏远家具厂"]
    events = list(InsuranceCoverage.pgh_event_model.objects.order_by("pgh_id").values_list(
        "pgh_label", "insured_workers", "pgh_context__metadata__action", "pgh_context__metadata__user"))
    assert events == [("insert", 90, "coverage_import", hrss_clerk.pk), ("insert", 50, "coverage_import", hrss_clerk.pk)] \
        or sorted(events) == sorted([("insert", 90, "coverage_import", hrss_clerk.pk),
                                     ("insert", 50, "coverage_import", hrss_clerk.pk)])
    # Importing again updates in place (and the history records the update).
    data = xlsx([unit(ledger["cement"], 95)])
    services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1, files=[("b.xlsx", data)])
    assert InsuranceCoverage.objects.get(employer=ledger["cement"]).insured_workers == 95
    assert InsuranceCoverage.pgh_event_model.objects.filter(pgh_label="update").values_list(
        "insured_workers", flat=True).get() == 95


def test_import_from_csv_files_in_any_order(ledger, hrss_clerk, period_2020h1, county):
    add_worker(ledger["cement"], "赵一", ID_A)
    units = f"单位名称,统一社会信用代码,参保人数,截至日期\n{ledger['cement'].name},{ledger['cement'].uscc},61,2020/06/30\n"
    persons = f"姓名,居民身份证号,统一社会信用代码\n赵一,{ID_A},{ledger['cement'].uscc}\n"
    record = services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1, files=[
        ("人员.csv", persons.encode("gb18030")), ("单位.csv", units.encode())])
    assert record.workers_insured == 1
    assert InsuranceCoverage.objects.get().insured_workers == 61


def rejected(actor, region, period, data, name="f.xlsx"):
    with pytest.raises(services.ImportRejected) as exc:
        services.coverage_import(actor=actor, region=region, period=period, files=[(name, data)])
    assert not InsuranceCoverage.objects.exists()
    return [e.as_dict() for e in exc.value.errors]


def test_import_rejects_a_wrong_uscc_checksum(ledger, hrss_clerk, period_2020h1, county):
    bad = ledger["cement"].uscc[:-1] + ("0" if ledger["cement"].uscc[-1] != "0" else "1")
    errors = rejected(hrss_clerk, county, period_2020h1,
                      xlsx([unit(ledger["coal"], 50), ("鑫达水泥有限公司", bad, 10, "2020-06-30")]))
    assert errors == [{"sheet": "参保单位", "row": 3, "column": "统一社会信用代码", "value": bad,
                       "problem": "统一社会信用代码校验位错误，请核对后重新填写",
                       "expected": "18位统一社会信用代码（GB 32100-2015）"}]


def test_import_rejects_more_insured_than_total_workers(ledger, hrss_clerk, period_2020h1, county):
    errors = rejected(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 101)]))
    assert errors[0]["row"] == 2 and errors[0]["column"] == "参保人数" and "（100）" in errors[0]["problem"]


def test_import_rejects_a_future_as_of_date(ledger, hrss_clerk, period_2020h1, county):
    errors = rejected(hrss_clerk, county, period_2020h1,
                      xlsx([unit(ledger["cement"], 10, as_of=TODAY + datetime.timedelta(days=3))]))
    assert errors[0]["column"] == "截至日期" and errors[0]["problem"].startswith("日期不能晚于今天")


def test_import_rejects_duplicate_rows_for_one_employer(ledger, hrss_clerk, period_2020h1, county):
    errors = rejected(hrss_clerk, county, period_2020h1, xlsx([unit(ledger["cement"], 10), unit(ledger["cement"], 11)]))
    assert errors[0]["row"] == 3 and "与第 2 行重复" in errors[0]["problem"]


def test_import_rejects_unknown_columns(ledger, hrss_clerk, period_2020h1, county):
    data = "单位名称,统一社会信用代码,参保人数,截至日期,缴费基数\n".encode()
    errors = rejected(hrss_clerk, county, period_2020h1, data, name="a.csv")
    assert errors[0]["row"] == 1 and errors[0]["column"] == "缴费基数" and errors[0]["problem"] == "未知的列"


def test_import_rejects_invalid_id_numbers_without_revealing_them(ledger, hrss_clerk, period_2020h1, county, caplog):
    bad_id = ID_A[:-1] + "9"
    caplog.set_level(logging.DEBUG)
    errors = rejected(hrss_clerk, county, period_2020h1,
                      xlsx([unit(ledger["cement"], 10)], persons=[("赵一", bad_id, ledger["cement"].uscc)]))
    assert errors == [{"sheet": "参保人员", "row": 2, "column": "居民身份证号", "value": "110105********0029",
                       "problem": "居民身份证号校验位错误，请核对后重新填写", "expected": "18位居民身份证号（GB 11643）"}]
    assert bad_id not in caplog.text


def test_import_by_health_user_is_refused(ledger, health_clerk, period_2020h1, county):
    with pytest.raises(PermissionDenied):
        services.coverage_import(actor=health_clerk, region=county, period=period_2020h1,
                                 files=[("a.xlsx", xlsx([unit(ledger["cement"], 10)]))])


def test_import_refuses_units_of_another_region(ledger, hrss_other_county, hrss_city, period_2020h1, county):
    from portal.models import Region

    with pytest.raises(PermissionDenied):
        services.coverage_import(actor=hrss_other_county, region=county, period=period_2020h1,
                                 files=[("a.xlsx", xlsx([unit(ledger["cement"], 10)]))])
    yanggu = Region.objects.get(code="371521")
    errors = rejected(hrss_city, yanggu, period_2020h1, xlsx([unit(ledger["cement"], 10)]))
    assert "已在其他地区登记" in errors[0]["problem"] and "东昌府" not in errors[0]["problem"]


def test_person_list_marks_rostered_workers_without_logging_ids(ledger, hrss_clerk, period_2020h1, county, caplog):
    insured_worker = add_worker(ledger["cement"], "赵一", ID_A)
    uninsured_worker = add_worker(ledger["cement"], "钱二", ID_B)
    caplog.set_level(logging.DEBUG)
    data = xlsx([unit(ledger["cement"], 61)], persons=[("赵一", ID_A, ledger["cement"].uscc)])
    record = services.coverage_import(actor=hrss_clerk, region=county, period=period_2020h1, files=[("a.xlsx", data)])
    assert (record.workers_insured, record.workers_uninsured) == (1, 1)
    assert dict(WorkerCoverage.objects.values_list("worker_id", "insured")) == {
        insured_worker.pk: True, uninsured_worker.pk: False}
    assert ID_A not in caplog.text and ID_B not in caplog.text
    assert ID_A not in str(record.unmatched)


# ---- 3. Reconciliation -----------------------------------------------------------------------------------


def test_reconciliation_lists_differences_with_both_sources(ledger, hrss_clerk, hrss_province, period_2020h1):
    services.coverage_save(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1, insured_workers=70,
                           as_of=datetime.date(2020, 6, 30))
    services.coverage_save(actor=hrss_clerk, employer=ledger["coal"], period=period_2020h1, insured_workers=50,
                           as_of=datetime.date(2020, 6, 30))
    rows = list(selectors.reconciliation(actor=hrss_province, period=period_2020h1))
    assert [(r.employer.name, r.insured_workers, r.hrss, r.difference) for r in rows] == [
        ("鑫达水泥有限公司", 60, 70, 10)]


# ---- 4. Work list and follow-ups ---------------------------------------------------------------------------


def test_work_list_key_industries_sorted_by_uninsured(ledger, hrss_clerk, period_2020h1):
    other = make_employer(county="371502", name="金山石料厂", industry="1011")
    from ledger import services as ledger_services  # noqa: F401
    from ledger.models import EmployerRecord

    EmployerRecord.objects.create(employer=other, period=period_2020h1, province_id=other.province_id,
                                  city_id=other.city_id, county_id=other.county_id, total_workers=200,
                                  insured_workers=20)
    rows = selectors.work_list(actor=hrss_clerk, period=period_2020h1, filters=selectors.WorkListFilters())
    assert [(r.employer.name, r.uninsured) for r in rows] == [("金山石料厂", 180), ("鑫达水泥有限公司", 40)]
    services.coverage_save(actor=hrss_clerk, employer=other, period=period_2020h1, insured_workers=190,
                           as_of=datetime.date(2020, 6, 30))
    rows = selectors.work_list(actor=hrss_clerk, period=period_2020h1,
                               filters=selectors.WorkListFilters(key_group="non_coal_mining"))
    assert [(r.employer.name, r.uninsured, r.hrss) for r in rows] == [("金山石料厂", 10, 190)]


def test_enrolled_follow_up_raises_the_coverage_count(ledger, hrss_clerk, period_2020h1):
    services.follow_up_create(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                              action=FollowUpAction.CONTACTED, acted_on=datetime.date(2020, 7, 1))
    services.follow_up_create(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                              action=FollowUpAction.ENROLLED, acted_on=datetime.date(2020, 7, 5), enrolled=30)
    coverage = InsuranceCoverage.objects.get(employer=ledger["cement"])
    assert (coverage.insured_workers, coverage.source) == (90, CoverageSource.FOLLOW_UP)
    row = selectors.work_list(actor=hrss_clerk, period=period_2020h1, filters=selectors.WorkListFilters()).get()
    assert (row.uninsured, row.last_action) == (10, FollowUpAction.ENROLLED)
    with pytest.raises(ValidationError, match="大于职工总人数"):
        services.follow_up_create(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                                  action=FollowUpAction.ENROLLED, acted_on=datetime.date(2020, 7, 6), enrolled=11)


def test_follow_up_checks(ledger, hrss_clerk, health_clerk, period_2020h1):
    with pytest.raises(ValidationError) as exc:
        services.follow_up_create(actor=hrss_clerk, employer=ledger["cement"], period=period_2020h1,
                                  action=FollowUpAction.ENROLLED, acted_on=TODAY + datetime.timedelta(days=1))
    assert set(exc.value.message_dict) == {"acted_on", "enrolled"}
    with pytest.raises(PermissionDenied):
        services.follow_up_create(actor=health_clerk, employer=ledger["cement"], period=period_2020h1,
                                  action=FollowUpAction.CONTACTED, acted_on=datetime.date(2020, 7, 1))


def test_province_work_list_in_constant_queries(ledger, hrss_province, hrss_clerk, period_2020h1,
                                                django_assert_max_num_queries):
    from ledger.models import EmployerRecord

    for i in range(40):
        e = make_employer(county="371521" if i % 2 else "371502", name=f"石料厂{i}", industry="1011")
        EmployerRecord.objects.create(employer=e, period=period_2020h1, province_id=e.province_id, city_id=e.city_id,
                                      county_id=e.county_id, total_workers=10 + i, insured_workers=i % 5)
        services.follow_up_create(actor=hrss_province, employer=e, period=period_2020h1,
                                  action=FollowUpAction.CONTACTED, acted_on=datetime.date(2020, 7, 1))
    from django.core.paginator import Paginator

    with django_assert_max_num_queries(10):
        page = Paginator(selectors.work_list(actor=hrss_province, period=period_2020h1,
                                             filters=selectors.WorkListFilters()), 30).get_page(1)
        rows = [(r.employer.name, r.county.name, r.uninsured, r.last_action) for r in page]
    assert len(rows) == 30 and page.paginator.count == 41


# ---- 5. Plans and 6. training ------------------------------------------------------------------------------


def test_plan_progress_for_region_and_children(ledger, hrss_city, hrss_clerk, period_2020h1, county):
    from decimal import Decimal

    plan = services.plan_save(actor=hrss_city, region=county.parent, title="聊城市扩面三年计划", start_year=2020,
                              targets=[(100, Decimal("70")), (150, Decimal("80")), (200, Decimal("90"))])
    services.plan_save(actor=hrss_clerk, region=county, title="东昌府区扩面三年计划", start_year=2020,
                       targets=[(80, Decimal("75")), (100, Decimal("85")), (120, Decimal("95"))])
    rows = selectors.plan_progress(actor=hrss_city, plan=plan)
    city_2020 = next(r for r in rows if r.region == county.parent and r.year == 2020)
    assert (city_2020.insured, city_2020.total, city_2020.rate) == (110, 150, Decimal("73.3"))
    assert city_2020.met is True
    dcf_2020 = next(r for r in rows if r.region == county and r.year == 2020)
    assert (dcf_2020.target_rate, dcf_2020.met) == (Decimal("75.00"), False)
    dcf_2021 = next(r for r in rows if r.region == county and r.year == 2021)
    assert dcf_2021.rate is None and dcf_2021.met is None  # no period: no data, never 0%
    with pytest.raises(ValidationError):
        services.plan_save(actor=hrss_city, region=county.parent, title="x", start_year=2020,
                           targets=[(1, Decimal("101")), (1, Decimal("1")), (1, Decimal("1"))])
    with pytest.raises(PermissionDenied):
        services.plan_save(actor=hrss_clerk, region=county.parent, title="x", start_year=2021,
                           targets=[(1, Decimal("1"))] * 3)


def test_training_counts_per_region(ledger, hrss_clerk, hrss_city, county):
    services.training_create(actor=hrss_clerk, region=county, kind="training", title="工伤预防培训班",
                             held_on=datetime.date(2020, 9, 1), participants=45,
                             employers=[ledger["cement"], ledger["coal"]])
    services.training_create(actor=hrss_clerk, region=county, kind="publicity", title="尘肺病防治宣传周",
                             held_on=datetime.date(2020, 9, 8), participants=200, employers=[ledger["cement"]])
    summary = selectors.training_summary(actor=hrss_city)
    assert [(r["region__name"], r["events"], r["participants"], r["employers"]) for r in summary] == [
        ("东昌府区", 2, 245, 2)]
    other = make_employer(county="371521", name="外县单位")
    with pytest.raises(ValidationError, match="不在东昌府区"):
        services.training_create(actor=hrss_clerk, region=county, kind="training", title="x",
                                 held_on=datetime.date(2020, 9, 1), participants=1, employers=[other])
    assert Employer.objects.count() == 4
