"""One table of bad values, fed to every way in: the HTML form, the Excel import, the REST API and
the tablet's answer sync. Each must refuse the value with the same Chinese message (portal.values)
and store nothing.

Where a fact does not exist at an entry point it is not fed there: the tablet sync has free text
(the answer's note, limit 4000) and numbers (a number answer), but no dates and no record totals.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from inspections.models import AnswerType, ChecklistItem
from ledger import imports
from ledger.demo import demo_uscc
from ledger.models import Employer, EmployerRecord, ImportStatus
from portal.models import Region
from portal.values import COUNT_MAX
from tests.inspections.factories import make_world
from tests.ledger.factories import make_employer
from tests.ledger.test_import import COUNTY, build_workbook, make_row, upload

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)

# (case, kind, value, the message every entry point gives)
TABLE = [
    ("control character", "text", "鑫达\u0003水泥厂", "不能含有控制字符（U+0003）等不可见字符，请删除后重新填写"),
    ("DEL character", "text", "鑫达\u007f水泥厂", "不能含有控制字符（U+007F）等不可见字符，请删除后重新填写"),
    ("over the length limit", "long_text", None, "超过%(max)s字（实际%(n)s字）"),
    ("a date after today", "date", TOMORROW, f"日期不能晚于今天（{timezone.localdate().isoformat()}）"),
    ("a date before 1950", "date", datetime.date(1949, 12, 31), "日期不能早于1950-01-01"),
    ("the year 287", "date", datetime.date(287, 3, 23), "日期不能早于1950-01-01"),
    ("a negative count", "count", -4, "不能为负数"),
    ("a count beyond the database integer", "count", COUNT_MAX + 1, f"数值过大（最大{COUNT_MAX}）"),
    ("exposed workers above the total", "exposed_over_total", 60, "接尘人数不能大于职工总人数（60 > 50）"),
]

# Which field carries each kind at each entry point, and the length limit of the text field.
EMPLOYER_TEXT = ("name", 200)
NOTE_LIMIT = 4000


def _long(limit: int) -> str:
    return "厂" * (limit + 1)


def _expected(message: str, limit: int) -> str:
    return message % {"max": limit, "n": limit + 1} if "%(max)s" in message else message


# ---- The four entry points ----------------------------------------------------------------------------


@pytest.fixture
def world(clerk, open_submission):
    employer = make_employer(county=COUNTY, name="东昌府区鑫达水泥有限公司")
    # The open period's record of the employer (created with the submission for employers that existed).
    record = EmployerRecord.objects.create(
        employer=employer, period=open_submission.period, province_id=employer.province_id,
        city_id=employer.city_id, county_id=employer.county_id, total_workers=50, exposed_workers=20)
    return {"clerk": clerk, "employer": employer, "record": record, "period": open_submission.period}


def record_body(record, **changes) -> dict:
    """The record form's POST, as the browser sends it: every fact, the version, the dust formset."""
    body = {"version": record.version, "dust-TOTAL_FORMS": 0, "dust-INITIAL_FORMS": 0}
    for field in ("total_workers", "exposed_workers", "points_over_limit", "exam_due", "exam_done",
                  "surveillance_files", "managers_due", "managers_trained", "workers_training_due", "workers_trained",
                  "contract_workers", "insured_workers", "new_projects", "three_simultaneities_projects",
                  "pneumoconiosis_cases"):
        body[field] = getattr(record, field)
    body.update({"hazard_declared": "on", "declared_on": "2020-03-15", "test_lab": ""})
    body.update(changes)
    return body


def employer_body(employer, **changes) -> dict:
    body = {
        "uscc": employer.uscc, "name": employer.name, "county": employer.county_id,
        "workplace_address": employer.workplace_address, "industry": employer.industry.code, "size": employer.size,
        "ownership": employer.ownership, "legal_representative": employer.legal_representative,
        "status": employer.status, "version": employer.version,
    }
    body.update(changes)
    return body


def form_messages(client, url: str, body: dict, field: str) -> list[str]:
    response = client.post(url, body)
    assert response.status_code == 200, "the form was accepted"
    return list(response.context["form"].errors.get(field, []))


def via_form(w, client, kind: str, value) -> list[str]:
    if kind in ("text", "long_text"):
        url = reverse("ledger:employer-edit", args=[w["employer"].pk])
        return form_messages(client, url, employer_body(w["employer"], name=value), "name")
    url = reverse("ledger:record-edit", args=[w["record"].pk])
    if kind == "date":
        return form_messages(client, url, record_body(w["record"], declared_on=value.isoformat()), "declared_on")
    if kind == "count":
        return form_messages(client, url, record_body(w["record"], pneumoconiosis_cases=value), "pneumoconiosis_cases")
    return form_messages(client, url, record_body(w["record"], exposed_workers=value), "exposed_workers")


def via_import(w, kind: str, value) -> list[str]:
    row = make_row(1, uscc=w["employer"].uscc, name=w["employer"].name, total_workers=50, exposed_workers=20,
                   exposures="矽尘:12；水泥粉尘:8")
    column = {"text": "name", "long_text": "name", "date": "declared_on", "count": "pneumoconiosis_cases",
              "exposed_over_total": "exposed_workers"}[kind]
    if kind == "text":
        # Excel keeps a control character as an escape (_x0003_), which the reader decodes.
        value = "".join(f"_x{ord(c):04X}_" if ord(c) < 0x20 else c for c in value)
    if isinstance(value, datetime.date) and value.year < 1900:
        value = value.isoformat()  # Excel has no dates before 1900: typed as text ("0287-03-23")
    row[column] = value
    job = imports.LEDGER.create(actor=w["clerk"], county=Region.objects.get(code=COUNTY), period=w["period"],
                                    upload=upload(build_workbook([row])))
    job = imports.LEDGER.validate(actor=w["clerk"], job=job)
    assert job.status == ImportStatus.INVALID
    from ledger import columns as cols

    header = cols.BY_KEY[column].header
    return [e["problem"] for e in job.errors if e["column"] == header]


def via_api(w, client, kind: str, value) -> list[str]:
    if kind in ("text", "long_text"):
        employer = w["employer"]
        response = client.patch(f"/api/ledger/employers/{employer.pk}/", {"name": value, "version": employer.version},
                                 format="json")
        field = "name"
    else:
        record = w["record"]
        field = {"date": "declared_on", "count": "pneumoconiosis_cases", "exposed_over_total": "exposed_workers"}[kind]
        body = {field: value.isoformat() if isinstance(value, datetime.date) else value, "version": record.version}
        response = client.patch(f"/api/ledger/records/{record.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    return response.json()[field]


def via_tablet(kind: str, value) -> list[str]:
    world = make_world()
    assignment = world.unannounced
    version = assignment.checklist_version
    if kind in ("text", "long_text"):
        item = ChecklistItem.objects.filter(section__version=version, answer_type=AnswerType.YES_NO_NA).first()
        change = {"value": "yes", "note": value}
    else:
        item = ChecklistItem.objects.filter(section__version=version,
                                            answer_type__in=[AnswerType.NUMBER, AnswerType.RATE]).first()
        change = {"value": value, "note": ""}
    client = APIClient()
    client.force_login(world.member)
    response = client.post(f"/api/inspections/assignments/{assignment.pk}/sync/", {"answers": [{
        "client_uuid": str(uuid.uuid4()), "checklist_version": version.pk, "base_version": 0, "item": item.pk,
        **change}]}, format="json")
    assert response.status_code == 400, response.content
    assert not assignment.inspection.answers.exists()
    return [r["detail"] for r in response.json()["results"]]


ENTRY_POINTS = ["form", "import", "api", "tablet"]
TABLET_KINDS = {"text", "long_text", "count"}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("case", "kind", "value", "message"), TABLE, ids=[row[0] for row in TABLE])
def test_the_same_bad_value_is_refused_with_the_same_message_at_every_entry_point(
        world, clerk, entry, case, kind, value, message):
    if entry == "tablet" and kind not in TABLET_KINDS:
        pytest.skip("the tablet sync carries no dates and no record totals")
    if entry == "tablet" and value == COUNT_MAX + 1:
        pytest.skip("a number answer is a measurement, not a count of the database's integer")
    limit = NOTE_LIMIT if entry == "tablet" else EMPLOYER_TEXT[1]
    if kind == "long_text":
        value = _long(limit)
    expected = _expected(message, limit)
    client = APIClient()
    client.force_login(clerk)
    before = (Employer.objects.values_list("name", "version").get(pk=world["employer"].pk),
              EmployerRecord.objects.values_list("version", flat=True).get(pk=world["record"].pk))
    if entry == "form":
        messages = via_form(world, client, kind, value)
    elif entry == "import":
        messages = via_import(world, kind, value)
    elif entry == "api":
        messages = via_api(world, client, kind, value)
    else:
        messages = via_tablet(kind, value)
    assert any(expected in m for m in messages), messages
    after = (Employer.objects.values_list("name", "version").get(pk=world["employer"].pk),
             EmployerRecord.objects.values_list("version", flat=True).get(pk=world["record"].pk))
    assert after == before, "nothing is written"


def test_an_employer_form_reports_a_wrong_check_digit_together_with_missing_required_fields(clerk):
    client = APIClient()
    client.force_login(clerk)
    wrong = demo_uscc(COUNTY, 1)[:-1] + ("0" if demo_uscc(COUNTY, 1)[-1] != "0" else "1")
    response = client.post(reverse("ledger:employer-create"), {"uscc": wrong, "name": ""})
    errors = response.context["form"].errors
    assert "name" in errors and "workplace_address" in errors
    assert errors["uscc"] == ["统一社会信用代码校验位错误，请核对后重新填写"]


def test_text_over_its_limit_is_refused_naming_the_limit_and_the_browser_does_not_cut_it(world, clerk):
    client = APIClient()
    client.force_login(clerk)
    url = reverse("ledger:employer-edit", args=[world["employer"].pk])
    page = client.get(url).content.decode()
    assert 'maxlength="200"' not in page, "a maxlength attribute makes the browser cut a pasted text silently"
    messages = form_messages(client, url, employer_body(world["employer"], legal_representative="张" * 65),
                             "legal_representative")
    assert messages == ["超过64字（实际65字）"]


@pytest.mark.parametrize("field", ["declared_on", "last_test_date", "last_inspection_date"])
def test_the_facts_form_refuses_future_dates(world, clerk, field):
    client = APIClient()
    client.force_login(clerk)
    url = reverse("ledger:record-edit", args=[world["record"].pk])
    body = record_body(world["record"], **{field: "2031-05-01"})
    assert form_messages(client, url, body, field) == [f"日期不能晚于今天（{timezone.localdate().isoformat()}）"]
    assert EmployerRecord.objects.get(pk=world["record"].pk).version == world["record"].version


def test_a_worker_cannot_be_exposed_before_birth_at_any_entry_point(world, clerk):
    from ledger.models import DustType, Worker

    client = APIClient()
    client.force_login(clerk)
    id_number = "110101199003077731"  # born 1990-03-07
    dust = DustType.objects.first()
    api = client.post("/api/ledger/workers/", {
        "employer": world["employer"].pk, "name": "王五", "id_number": id_number, "post": "破碎工",
        "dust_type": dust.name, "exposure_start": "1980-01-01"}, format="json")
    message = "接尘开始日期不能早于身份证号中的出生日期（1990-03-07）"
    assert api.status_code == 400 and api.json().get("exposure_start") == [message], api.json()
    form = client.post(reverse("ledger:worker-create", args=[world["employer"].pk]), {
        "name": "王五", "id_number": id_number, "post": "破碎工", "dust_type": dust.pk,
        "exposure_start": "1980-01-01"})
    assert form.context["form"].errors["exposure_start"] == [message]
    assert not Worker.objects.exists()
