import datetime

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from patients import services
from patients.models import FollowUp, Patient, PatientMove, ReliefAction
from portal.models import Department, Region, Role
from tests.factories import make_user
from tests.patients.conftest import COUNTY, SIBLING, new_id, patient_data

pytestmark = pytest.mark.django_db


def field_errors(exc_info) -> dict:
    return exc_info.value.message_dict


def test_a_clerk_files_a_patient_with_category_derived_and_follow_up_scheduled(clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    assert patient.county.code == COUNTY and patient.city.code == "3715" and patient.province.code == "37"
    assert patient.relief_category == "b"  # occupational, uninsured, employer exists
    assert patient.birth_date == datetime.date(1960, 5, 1) and patient.sex == "M"
    assert patient.next_followup_due == datetime.date(2016, 3, 1)


@pytest.mark.parametrize(("overrides", "category"), [
    ({"injury_insured": True}, "a"),
    ({}, "b"),
    ({"employer_gone": True}, "c"),
    ({"diagnosis_kind": "unproven", "disease": ""}, "d"),
    ({"diagnosis_kind": "unproven", "disease": "", "injury_insured": True}, "d"),
])
def test_relief_category_follows_the_seed_rules(clerk, overrides, category):
    assert services.patient_create(actor=clerk, data=patient_data(**overrides)).relief_category == category


def test_closing_the_ledger_employer_moves_its_patients_to_category_c(clerk):
    from ledger import services as ledger_services

    employer = _employer(clerk)
    patient = services.patient_create(actor=clerk, data=patient_data(employer_uscc=employer.uscc, employer_name=""))
    assert patient.employer_id == employer.pk and patient.relief_category == "b"
    ledger_services.employer_update(actor=clerk, employer=employer, data={"status": "closed"}, expected_version=None)
    patient.refresh_from_db()
    assert patient.relief_category == "c"


def _employer(clerk):
    from stdnum.cn import uscc

    from ledger import services as ledger_services
    from ledger.models import Industry

    body = "91371502MA3C8XY00"
    return ledger_services.employer_create(actor=clerk, data={
        "uscc": body + uscc.calc_check_digit(body), "name": "东昌府石料厂", "county": Region.objects.get(code=COUNTY),
        "workplace_address": "某村", "industry": Industry.objects.filter(level=4, code__startswith="10").first(),
        "size": "small", "ownership": "private", "legal_representative": "张三", "status": "operating"})


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"id_number": "37150219600501123"}, "id_number", "居民身份证号应为18位"),
    ({"id_number": "371502196005011239"}, "id_number", "校验位错误"),
    ({"diagnosed_on": datetime.date(1950, 1, 1)}, "diagnosed_on", "不能早于出生日期"),
    ({"diagnosed_on": datetime.date(2999, 1, 1)}, "diagnosed_on", "不能晚于今天"),
    ({"stage": None}, "stage", "请填写期别"),
    ({"disease": ""}, "disease", "请选择病种"),
    ({"status": "died", "died_on": None}, "died_on", "请填写死亡日期"),
    ({"employer_name": ""}, "employer_name", "请填写接尘用人单位名称"),
    ({"sex": "F"}, "sex", "性别与身份证号不一致"),
])
def test_bad_input_is_refused_in_chinese_and_nothing_is_written(clerk, overrides, field, message):
    with pytest.raises(ValidationError) as exc:
        services.patient_create(actor=clerk, data=patient_data(**overrides))
    assert any(message in m for m in field_errors(exc)[field])
    assert not Patient.objects.exists()


def test_a_duplicate_id_names_the_holding_county_to_whoever_may_see_it(clerk):
    first = services.patient_create(actor=clerk, data=patient_data())
    city_clerk = make_user("3715")
    with pytest.raises(ValidationError) as exc:
        services.patient_create(actor=city_clerk, data=patient_data(SIBLING, id_number=first.id_number))
    assert "已在东昌府区建档" in field_errors(exc)["id_number"][0]


def test_a_duplicate_id_held_elsewhere_does_not_reveal_where(clerk, sibling_clerk):
    first = services.patient_create(actor=clerk, data=patient_data())
    with pytest.raises(ValidationError) as exc:
        services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, id_number=first.id_number))
    message = field_errors(exc)["id_number"][0]
    assert "已在其他地区建档" in message and "东昌府" not in message
    assert Patient.objects.count() == 1


def test_another_countys_patient_cannot_be_edited(clerk, sibling_clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    with pytest.raises(PermissionDenied):
        services.patient_update(actor=sibling_clerk, patient=patient, data={"phone": "13900000000"})
    patient.refresh_from_db()
    assert patient.phone == "13800001111"


def test_a_move_keeps_history_and_hands_the_file_to_the_new_county(clerk, sibling_clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    services.followup_record(actor=clerk, patient=patient, data={
        "followed_on": datetime.date(2020, 1, 2), "way": "home", "health_status": "stable"})
    sibling = Region.objects.get(code=SIBLING)
    services.patient_move(actor=clerk, patient=patient, county=sibling, township=None, village="新村", address="",
                          moved_on=datetime.date(2021, 1, 1), reason="随子女居住")
    patient.refresh_from_db()
    assert patient.county == sibling and patient.city.code == "3715"
    move = PatientMove.objects.get(patient=patient)
    assert move.from_county.code == COUNTY and move.to_county == sibling
    assert FollowUp.objects.get(patient=patient).county == sibling
    services.patient_update(actor=sibling_clerk, patient=patient, data={"phone": "13900000000"})
    with pytest.raises(PermissionDenied):
        services.patient_update(actor=clerk, patient=patient, data={"phone": "13911111111"})


def test_editing_the_county_is_refused_in_favour_of_a_move(clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    with pytest.raises(ValidationError) as exc:
        services.patient_update(actor=clerk, patient=patient, data={"county": Region.objects.get(code=SIBLING)})
    assert "迁移" in field_errors(exc)["county"][0]


# ---- Follow-ups ------------------------------------------------------------------------------


def test_a_followup_moves_the_next_due_date_by_the_cycle(clerk, settings):
    settings.PNEUMO_FOLLOWUP_CYCLE_STAGE3_MONTHS = 6
    patient = services.patient_create(actor=clerk, data=patient_data(stage=3))
    assert patient.next_followup_due == datetime.date(2015, 9, 1)
    services.followup_record(actor=clerk, patient=patient, data={
        "followed_on": datetime.date(2020, 8, 31), "way": "phone", "health_status": "worse", "rehab_received": True})
    patient.refresh_from_db()
    assert patient.last_followup_on == datetime.date(2020, 8, 31)
    assert patient.next_followup_due == datetime.date(2021, 2, 28)
    assert patient.rehab_filed_on == datetime.date(2020, 8, 31)


@pytest.mark.parametrize(("day", "message"), [
    (datetime.date(2014, 12, 31), "不能早于诊断日期"),
    (datetime.date(2019, 6, 2), "不能晚于患者死亡日期"),
])
def test_a_followup_before_diagnosis_or_after_death_is_refused(clerk, day, message):
    patient = services.patient_create(actor=clerk, data=patient_data(
        status="died", died_on=datetime.date(2019, 6, 1), death_cause="呼吸衰竭"))
    with pytest.raises(ValidationError) as exc:
        services.followup_record(actor=clerk, patient=patient, data={
            "followed_on": day, "way": "home", "health_status": "stable"})
    assert message in field_errors(exc)["followed_on"][0]
    assert not FollowUp.objects.exists()


def test_a_followup_in_another_county_is_refused(clerk, sibling_clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    with pytest.raises(PermissionDenied):
        services.followup_record(actor=sibling_clerk, patient=patient, data={
            "followed_on": timezone.localdate(), "way": "home", "health_status": "stable"})


# ---- Relief by department ---------------------------------------------------------------------


def test_civil_affairs_records_basic_living_support_for_category_c(clerk, civil_affairs):
    patient = services.patient_create(actor=clerk, data=patient_data(employer_gone=True))
    action = services.relief_record(actor=civil_affairs, patient=patient, department=Department.CIVIL_AFFAIRS,
                                    data={"kind": "basic_living", "acted_on": datetime.date(2020, 5, 1)})
    assert action.county.code == COUNTY and action.recorded_by == civil_affairs


def test_a_department_writing_outside_its_category_is_refused(clerk, civil_affairs):
    insured = services.patient_create(actor=clerk, data=patient_data(injury_insured=True))
    with pytest.raises(PermissionDenied) as exc:
        services.relief_record(actor=civil_affairs, patient=insured, department=Department.CIVIL_AFFAIRS,
                               data={"kind": "basic_living", "acted_on": datetime.date(2020, 5, 1)})
    assert "不在本部门负责的救治救助类别内" in str(exc.value)
    assert not ReliefAction.objects.exists()


def test_a_department_cannot_record_another_departments_measure(clerk, civil_affairs):
    patient = services.patient_create(actor=clerk, data=patient_data(employer_gone=True))
    with pytest.raises(ValidationError) as exc:
        services.relief_record(actor=civil_affairs, patient=patient, department=Department.CIVIL_AFFAIRS,
                               data={"kind": "medical_aid", "acted_on": datetime.date(2020, 5, 1)})
    assert "本部门不能登记该项措施" in field_errors(exc)["kind"][0]


@pytest.mark.parametrize("membership", [(SIBLING, Department.CIVIL_AFFAIRS, Role.CLERK),
                                        (COUNTY, Department.CIVIL_AFFAIRS, Role.VIEWER)],
                         ids=["a clerk of another county", "a relief viewer of the patient's county"])
def test_only_a_clerk_of_the_patients_county_records_relief(clerk, membership):
    patient = services.patient_create(actor=clerk, data=patient_data(employer_gone=True))
    with pytest.raises(PermissionDenied):
        services.relief_record(actor=make_user(membership), patient=patient, department=Department.CIVIL_AFFAIRS,
                               data={"kind": "basic_living", "acted_on": datetime.date(2020, 5, 1)})


def test_new_id_helper_makes_distinct_valid_numbers():
    from ledger.validation import clean_id_number

    numbers = {new_id() for _ in range(20)}
    assert all(clean_id_number(n) == n for n in numbers)


def test_the_same_create_sent_twice_answers_with_the_first_file(clerk):
    """A double click or a resend after a timeout: the first request filed the patient, so the
    second must not tell the clerk the ID number is already filed."""
    data = patient_data()
    first = services.patient_create(actor=clerk, data=dict(data))
    assert services.patient_create(actor=clerk, data=dict(data)).pk == first.pk
    assert Patient.objects.count() == 1
    events = apps.get_model("patients", "PatientEvent").objects
    assert events.filter(pgh_obj_id=first.pk).count() == 1  # written once


def test_a_create_whose_twin_committed_after_its_repeat_check_answers_with_the_twin(clerk, monkeypatch):
    """The twin commits after this create found no repeat but before it cleans the data."""
    data = patient_data()
    twin = services.patient_create(actor=clerk, data=dict(data))
    looked = []
    real = getattr(services, "_repeated_create", lambda actor, sent: None)

    def committed_just_after_the_first_look(actor, sent):
        looked.append(sent)
        return None if len(looked) == 1 else real(actor, sent)

    monkeypatch.setattr(services, "_repeated_create", committed_just_after_the_first_look, raising=False)
    assert services.patient_create(actor=clerk, data=dict(data)).pk == twin.pk
    assert Patient.objects.count() == 1


def test_a_create_that_loses_the_insert_race_answers_with_the_winner(clerk, monkeypatch):
    """Both creates passed the duplicate check before either committed; the unique ID number
    refused the second insert. Before, that IntegrityError was a server error."""
    data = patient_data()
    twin = services.patient_create(actor=clerk, data=dict(data))
    looks, checks = [], []
    real_repeat = getattr(services, "_repeated_create", lambda actor, sent: None)
    real_clean = services.clean_patient_data

    def committed_after_the_first_look(actor, sent):
        looks.append(sent)
        return None if len(looks) == 1 else real_repeat(actor, sent)

    def checked_before_the_twin_committed(actor, sent, **kwargs):
        checks.append(sent)
        if len(checks) > 1:
            return real_clean(actor, sent, **kwargs)
        cleaned = real_clean(actor, {**sent, "id_number": new_id()}, **kwargs)  # the twin not yet there
        return {**cleaned, "id_number": twin.id_number}

    monkeypatch.setattr(services, "_repeated_create", committed_after_the_first_look, raising=False)
    monkeypatch.setattr(services, "clean_patient_data", checked_before_the_twin_committed)
    assert services.patient_create(actor=clerk, data=dict(data)).pk == twin.pk
    assert Patient.objects.count() == 1


def test_an_identical_create_from_another_county_is_still_refused_as_a_duplicate(clerk, sibling_clerk):
    data = patient_data()
    services.patient_create(actor=clerk, data=dict(data))
    with pytest.raises(ValidationError) as exc:
        services.patient_create(actor=sibling_clerk, data=dict(data))
    assert "已在其他地区建档" in field_errors(exc)["id_number"][0]
    assert Patient.objects.count() == 1
