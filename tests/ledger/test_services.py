import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ledger import services
from ledger.models import DustType, Employer, EmployerRecord, Industry, SubmissionStatus
from ledger.validation import mask_id_number
from portal.models import Region, Role
from tests.factories import make_user
from tests.ledger.factories import make_employer, make_record

pytestmark = pytest.mark.django_db

VALID_USCC = "91370102000000019K"


def employer_data(**overrides):
    data = {
        "uscc": "", "registration_number": "", "name": "东昌府区鑫达水泥有限公司",
        "county": Region.objects.get(code="371502"), "township": None, "registered_address": "",
        "workplace_address": "东昌府区工业园区1号", "industry": Industry.objects.get(code="3011"), "size": "small",
        "ownership": "private", "business_scope": "水泥制造", "legal_representative": "张三",
        "legal_representative_phone": "0635-8888888", "health_manager": "", "health_manager_phone": "",
        "status": "operating", "in_governance_scope": True,
    }
    from ledger.demo import demo_uscc

    data["uscc"] = demo_uscc("371502", 77)
    data.update(overrides)
    return data


def test_create_sets_denormalized_regions_and_key_group(clerk):
    employer = services.employer_create(actor=clerk, data=employer_data())
    assert employer.city.code == "3715" and employer.province.code == "37"
    assert employer.key_group == "building_materials"


@pytest.mark.parametrize("uscc, message", [
    ("91370102000000019A", "校验位错误"),
    ("9137010200000001", "应为18位"),
    ("91370102OOOOOOO19K", "不允许的字符"),
])
def test_bad_uscc_is_refused_with_a_chinese_message(clerk, uscc, message):
    with pytest.raises(ValidationError) as exc:
        services.employer_create(actor=clerk, data=employer_data(uscc=uscc))
    assert message in exc.value.message_dict["uscc"][0]
    assert not Employer.objects.exists()


def test_duplicate_uscc_in_another_county_is_only_said_to_be_registered_elsewhere(clerk):
    other = make_employer(county="371521", name="阳谷某厂")
    with pytest.raises(ValidationError) as exc:
        services.employer_create(actor=clerk, data=employer_data(uscc=other.uscc))
    message = exc.value.message_dict["uscc"][0]
    assert "已在其他地区登记" in message and "阳谷" not in message


def test_duplicate_uscc_inside_the_scope_names_the_holder():
    city_clerk = make_user("3715")
    other = make_employer(county="371521", name="阳谷某厂")
    with pytest.raises(ValidationError) as exc:
        services.employer_create(actor=city_clerk, data=employer_data(uscc=other.uscc))
    assert "阳谷县" in exc.value.message_dict["uscc"][0]


def test_legacy_registration_number_is_accepted_and_flagged(clerk):
    employer = services.employer_create(actor=clerk, data=employer_data(uscc="", registration_number="371502000012345"))
    assert employer.has_legacy_identifier_only


def test_a_clerk_cannot_create_in_another_county(clerk):
    with pytest.raises(PermissionDenied):
        services.employer_create(actor=clerk, data=employer_data(county=Region.objects.get(code="371521")))


def test_a_viewer_cannot_create(clerk):
    viewer = make_user("371502", role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.employer_create(actor=viewer, data=employer_data())


def test_opening_a_period_carries_the_last_record_forward(clerk, period_2020h1, period_2020h2):
    employer = make_employer(county="371502")
    closed = make_employer(county="371502", status="closed")
    county = Region.objects.get(code="371502")
    services.period_open_county(actor=clerk, period=period_2020h1, county=county)
    record = EmployerRecord.objects.get(employer=employer, period=period_2020h1)
    silica = DustType.objects.get(name="矽尘")
    services.record_update(actor=clerk, record=record, expected_version=record.version,
                           data={"total_workers": 50, "exposed_workers": 20, "exam_due": 20, "exam_done": 18,
                                 "serious_hazard_posts": 3, "posts_with_warning_signs": 2},
                           exposures={silica: 20})
    services.period_open_county(actor=clerk, period=period_2020h2, county=county)
    carried = EmployerRecord.objects.get(employer=employer, period=period_2020h2)
    assert (carried.total_workers, carried.exposed_workers, carried.exam_done) == (50, 20, 18)
    assert (carried.serious_hazard_posts, carried.posts_with_warning_signs) == (3, 2)
    assert list(carried.exposures.values_list("dust_type__name", "exposed_workers")) == [("矽尘", 20)]
    assert not EmployerRecord.objects.filter(employer=closed).exists()


@pytest.mark.parametrize("data, field", [
    ({"total_workers": 10, "exposed_workers": 11}, "exposed_workers"),
    ({"total_workers": 10, "exposed_workers": 10, "exam_due": 10, "exam_done": 11}, "exam_done"),
    ({"total_workers": 10, "insured_workers": 12}, "insured_workers"),
    ({"new_projects": 1, "three_simultaneities_projects": 2}, "three_simultaneities_projects"),
    ({"hazard_declared": True}, "declared_on"),
    ({"serious_hazard_posts": 2, "posts_with_warning_signs": 3}, "posts_with_warning_signs"),
    ({"serious_hazard_posts": 2}, "posts_with_warning_signs"),  # one of the pair without the other
    ({"posts_with_warning_signs": 0}, "serious_hazard_posts"),
    ({"serious_hazard_posts": -1, "posts_with_warning_signs": 0}, "serious_hazard_posts"),
])
def test_inconsistent_counts_are_refused_and_nothing_is_written(clerk, open_submission, data, field):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    with pytest.raises(ValidationError) as exc:
        services.record_update(actor=clerk, record=record, data=data, expected_version=record.version)
    assert field in exc.value.message_dict
    record.refresh_from_db()
    assert record.version == 1 and record.total_workers == 0


def test_posts_once_given_cannot_be_cleared_back_to_the_employer_level_count(clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period, warning_signs=True)
    # A record kept before the posts existed saves without them (and keeps its yes/no answer).
    record = services.record_update(actor=clerk, record=record, data={"serious_hazard_posts": None,
                                    "posts_with_warning_signs": None, "total_workers": 5}, expected_version=1)
    record = services.record_update(actor=clerk, record=record, data={"serious_hazard_posts": 4,
                                    "posts_with_warning_signs": 4}, expected_version=2)
    with pytest.raises(ValidationError) as exc:
        services.record_update(actor=clerk, record=record, data={"serious_hazard_posts": None,
                               "posts_with_warning_signs": None}, expected_version=3)
    assert exc.value.message_dict["serious_hazard_posts"] == ["本记录已按岗位填报警示标识，岗位数不能清空"]
    record.refresh_from_db()
    assert (record.serious_hazard_posts, record.posts_with_warning_signs) == (4, 4)


def test_second_save_of_a_stale_version_gets_a_conflict(clerk, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    other_clerk = make_user("371502", role=Role.CLERK)
    services.record_update(actor=other_clerk, record=record, data={"total_workers": 30}, expected_version=1)
    with pytest.raises(services.ConflictError) as exc:
        services.record_update(actor=clerk, record=record, data={"total_workers": 40}, expected_version=1)
    assert [(c.field, c.yours, c.theirs) for c in exc.value.changes] == [("total_workers", 40, 30)]
    record.refresh_from_db()
    assert record.total_workers == 30


def test_the_approval_flow_and_the_lock(clerk, city_reviewer, province_reviewer, open_submission):
    employer = make_employer(county="371502")
    record = make_record(employer, open_submission.period)
    services.submission_submit(actor=clerk, submission=open_submission)
    with pytest.raises(ValidationError, match="已锁定"):
        services.record_update(actor=clerk, record=record, data={"total_workers": 5}, expected_version=1)
    with pytest.raises(ValidationError, match="退回原因"):
        services.submission_return(actor=city_reviewer, submission=open_submission, reason=" ")
    returned = services.submission_return(actor=city_reviewer, submission=open_submission, reason="接尘人数有误")
    assert returned.status == SubmissionStatus.RETURNED and returned.return_reason == "接尘人数有误"
    services.record_update(actor=clerk, record=record, data={"total_workers": 5}, expected_version=1)
    services.submission_submit(actor=clerk, submission=open_submission)
    with pytest.raises(PermissionDenied):
        services.submission_approve(actor=clerk, submission=open_submission)
    with pytest.raises(ValidationError):
        services.submission_accept(actor=province_reviewer, submission=open_submission)
    services.submission_approve(actor=city_reviewer, submission=open_submission)
    with pytest.raises(PermissionDenied):
        services.submission_accept(actor=city_reviewer, submission=open_submission)
    accepted = services.submission_accept(actor=province_reviewer, submission=open_submission)
    assert accepted.status == SubmissionStatus.ACCEPTED and accepted.is_locked


def test_a_county_reviewer_cannot_approve_their_own_county(clerk, open_submission):
    county_reviewer = make_user("371502", role=Role.REVIEWER)
    services.submission_submit(actor=clerk, submission=open_submission)
    with pytest.raises(PermissionDenied, match="市级"):
        services.submission_approve(actor=county_reviewer, submission=open_submission)


@pytest.mark.parametrize("id_number, message", [
    ("370102199001011235", "校验位错误"),
    ("37010219900101123", "应为18位"),
    ("370102199013011239", "出生日期"),
])
def test_worker_id_numbers_are_checked(clerk, id_number, message):
    employer = make_employer(county="371502")
    with pytest.raises(ValidationError) as exc:
        services.worker_save(actor=clerk, employer=employer, data={
            "name": "赵六", "id_number": id_number, "post": "破碎工", "dust_type": DustType.objects.get(name="矽尘")})
    assert message in exc.value.message_dict["id_number"][0]


def test_id_numbers_are_masked():
    assert mask_id_number("37010219900101123X") == "370102********123X"


def test_open_period_marks_the_county_dirty(clerk, open_submission):
    from targets.models import DirtyCounty

    assert DirtyCounty.objects.filter(county__code="371502", period=open_submission.period).exists()


def test_period_create_requires_a_provincial_admin(period_2020h1):
    with pytest.raises(PermissionDenied):
        services.period_create(actor=make_user("3715", role=Role.ADMIN), year=2021, half=1,
                               deadline=datetime.date(2021, 7, 15))
    period = services.period_create(actor=make_user("37", role=Role.ADMIN), year=2021, half=1,
                                    deadline=datetime.date(2021, 7, 15))
    assert period.code == "2021H1" and period.ends_on == datetime.date(2021, 6, 30)


def test_an_id_number_issued_under_a_newer_county_code_is_accepted():
    from stdnum.cn import ric

    from ledger.validation import clean_id_number

    body = "37150219600101123"  # 东昌府区 (371502, created 1997), holder born 1960
    number = body + ric.calc_check_digit(body + "0")
    assert clean_id_number(number) == number
