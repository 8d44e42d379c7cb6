"""Property-based tests of the whole API from its own OpenAPI schema (Schemathesis 4.x, pinned).

Every operation of `/api/schema/` is called as three users — a county health clerk, a county HRSS
clerk and a city inspector — with requests generated from the schema (schema examples first, then
EXAMPLES_PER_OPERATION generated ones), over WSGI into the real Django stack on the real database,
with the session cookie and the CSRF header a browser would send. Each answer must pass
not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance. Half the generated cases aim an `{id}` at a row that exists (seeded
below), so updates, transitions and deletions really run. Afterwards, every row the run may have
written must still pass the value rules of `portal.values`: nothing invalid was stored.

Bounded for `make test`: derandomized, no shrinking, EXAMPLES_PER_OPERATION examples per operation
and role (the figures are printed at the end of the run).
"""

from __future__ import annotations

import datetime
import os
import secrets
import time
from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from inspections import services as inspection_services
from inspections.models import Answer, ChecklistKind, ChecklistVersion, Finding
from insurance import services as insurance_services
from insurance.models import FollowUp, InsuranceCoverage
from ledger import services as ledger_services
from ledger.models import CountySubmission, DustType, Employer, EmployerRecord, ReportingPeriod, Worker
from portal.models import Department, Region, Role
from portal.values import check_count, check_model_text, check_past_date, control_character
from tests.factories import make_user
from tests.inspections.factories import fill_all, load_checklists
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = int(os.environ.get("PNEUMO_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
COUNTY = "371502"  # 东昌府区 (聊城市), the county of the schema's examples


@pytest.fixture
def wsgi_app(settings):
    """Django's own WSGI handler; like Django's test client, requests must not close the test's
    connection (it holds the transaction every test rolls back)."""
    settings.ALLOWED_HOSTS = ["*"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def seed() -> dict:
    """An open county ledger (东昌府区) with employers, records and workers; HRSS coverage; a
    provincial plan with a 聊城市 team led by the city inspector, its assignments, answers and a
    finding: rows for every `{id}` to land on, and for the schema's examples to succeed."""
    load_checklists()
    today = timezone.localdate()
    county = Region.objects.get(code=COUNTY)
    health = make_user(COUNTY, username="dcf_health", display_name="东昌府区卫生健康录入员")
    hrss = make_user(COUNTY, department=Department.HRSS, username="dcf_hrss", display_name="东昌府区人社录入员")
    inspector = make_user(("3715", Department.HEALTH, Role.INSPECTOR), username="lc_inspector",
                          display_name="聊城市检查员")
    admin = make_user(("37", Department.HEALTH, Role.ADMIN), username="sd_admin", display_name="省卫健委管理员")
    employers = [make_employer(county=COUNTY, name=f"东昌府区测试单位{i}", in_governance_scope=True)
                 for i in range(4)]
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))
    submission = ledger_services.period_open_county(actor=health, period=period, county=county)
    for record in EmployerRecord.objects.filter(period=period):
        ledger_services.record_update(actor=health, record=record, expected_version=record.version,
                                      data={"total_workers": 40, "exposed_workers": 20, "insured_workers": 10})
    dust = DustType.objects.get(name="矽尘")
    worker = ledger_services.worker_save(actor=health, employer=employers[1], data={
        "name": "王五", "id_number": "110101199003077731", "post": "破碎工", "dust_type": dust,
        "exposure_start": datetime.date(2015, 3, 1), "insured": True, "last_exam_date": None, "last_exam_result": ""})
    insurance_services.coverage_save(actor=hrss, employer=employers[1], period=period, insured_workers=12,
                                     as_of=datetime.date(2020, 6, 1))
    plan = inspection_services.plan_create(
        actor=admin, region=Region.objects.get(code="37"), name="尘肺病防治攻坚行动督导检查",
        document_number="鲁尘防办发〔2020〕2号", window_start=today - datetime.timedelta(days=1),
        window_end=today + datetime.timedelta(days=10), report_deadline=today + datetime.timedelta(days=12))
    team = inspection_services.team_create(actor=admin, plan=plan, name="聊城组", leader=inspector,
                                           liaison=inspector, liaison_phone="13009001732")
    comprehensive = inspection_services.assignment_create(actor=admin, team=team, kind=ChecklistKind.COMPREHENSIVE,
                                                          region=county)
    unannounced = inspection_services.assignment_create(actor=admin, team=team, kind=ChecklistKind.UNANNOUNCED,
                                                        employer=employers[2])
    fill_all(comprehensive, inspector, value_for={"1.5": "no"})
    inspection_services.inspection_submit(actor=inspector, inspection=comprehensive.inspection)
    return {
        "users": {"county health clerk": health, "county HRSS clerk": hrss, "city inspector": inspector},
        # Real rows for the `{id}`/`{code}` of each path, by path prefix.
        "ids": {
            "/api/ledger/employers/": [e.pk for e in employers],
            "/api/ledger/records/": list(EmployerRecord.objects.values_list("pk", flat=True)),
            "/api/ledger/workers/": [worker.pk],
            "/api/ledger/submissions/": [submission.pk],
            "/api/ledger/periods/": [period.code],
            "/api/inspections/assignments/": [unannounced.pk, comprehensive.pk],
            "/api/inspections/findings/": list(Finding.objects.values_list("pk", flat=True)),
            "/api/inspections/plans/": [plan.pk],
            "/api/inspections/checklist-versions/": list(ChecklistVersion.objects.values_list("pk", flat=True)),
            "/api/regions/": list(Region.objects.filter(code__startswith="3715").values_list("pk", flat=True)[:5]),
        },
        # Body values that name a seeded row (the schema's examples use placeholders for them).
        "body": {"employer": employers[1].pk, "uscc": employers[1].uscc},
    }


def session_headers(user) -> tuple[dict, dict]:
    """The cookies and headers of a signed-in browser: session, CSRF cookie and X-CSRFToken."""
    client = Client()
    client.force_login(user)
    token = secrets.token_hex(16)  # a 32-character CSRF secret, sent unmasked in the header
    return ({"sessionid": client.cookies["sessionid"].value, "csrftoken": token},
            {"X-CSRFToken": token, "Referer": "http://localhost/"})


def real_id(ids: dict, path: str):
    for prefix, values in ids.items():
        if path.startswith(prefix) and values:
            return values
    return None


def invalid_rows() -> list[str]:
    """Every stored value the run could have written, checked against the value rules."""
    problems: list[str] = []

    def check(label, rule, *args, **kwargs):
        try:
            rule(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a ValidationError names the problem
            problems.append(f"{label}: {exc}")

    from ledger.models import RECORD_FIELDS
    from ledger.services import EMPLOYER_TEXT_FIELDS, RECORD_DATE_FIELDS

    for employer in Employer.objects.all():
        for field in EMPLOYER_TEXT_FIELDS:
            check(f"employer {employer.pk} {field}", check_model_text, Employer, field, getattr(employer, field))
    for record in EmployerRecord.objects.all():
        for field in RECORD_FIELDS:
            value = getattr(record, field)
            if field in RECORD_DATE_FIELDS:
                check(f"record {record.pk} {field}", check_past_date, value)
            elif isinstance(value, int) and not isinstance(value, bool):
                check(f"record {record.pk} {field}", check_count, value)
        for field, message in record.consistency_errors().items():
            problems.append(f"record {record.pk} {field}: {message}")
        for exposure in record.exposures.all():
            if exposure.exposed_workers > record.exposed_workers:
                problems.append(f"record {record.pk} exposure {exposure.dust_type}")
    for worker in Worker.objects.all():
        for field in ("name", "post"):
            check(f"worker {worker.pk} {field}", check_model_text, Worker, field, getattr(worker, field))
        for field in ("exposure_start", "last_exam_date"):
            check(f"worker {worker.pk} {field}", check_past_date, getattr(worker, field))
    for coverage in InsuranceCoverage.objects.all():
        check(f"coverage {coverage.pk} as_of", check_past_date, coverage.as_of)
        total = EmployerRecord.objects.filter(employer=coverage.employer_id, period=coverage.period_id).values_list(
            "total_workers", flat=True).first()
        if total is not None and coverage.insured_workers > total:
            problems.append(f"coverage {coverage.pk}: {coverage.insured_workers} > {total}")
    for follow_up in FollowUp.objects.all():
        check(f"follow-up {follow_up.pk} acted_on", check_past_date, follow_up.acted_on)
        check(f"follow-up {follow_up.pk} note", check_model_text, FollowUp, "note", follow_up.note)
    for answer in Answer.objects.all():
        if control_character(answer.note, multiline=True) or len(answer.note) > 4000:
            problems.append(f"answer {answer.pk} note")
    return problems


def _runner(app, operation, strategy, examples, path_ids, body_ids, role, headers, cookies, failures, counts):
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy, aim=st.integers(min_value=0, max_value=9))
    def run(case, aim):
        if path_ids and case.path_parameters and aim < 5:
            name = next(iter(case.path_parameters))
            case.path_parameters[name] = path_ids[aim % len(path_ids)]
        if isinstance(case.body, dict) and aim < 5 and not operation.path.startswith("/api/ledger/employers/"):
            for key, value in body_ids.items():  # not on employers: their uscc is the new one's own
                if key in case.body:
                    case.body[key] = value
        response = case.call(app=app, headers=headers, cookies=cookies)
        counts["requests"] += 1
        counts.setdefault("status", Counter())[response.status_code] += 1
        if response.status_code < 300 and case.method != "GET":
            counts.setdefault("writes", Counter())[f"{case.method} {operation.path}"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except AssertionError as exc:
            failures.append(f"[{role}] {operation.method.upper()} {operation.path}: {str(exc).strip()[:1500]}")
            raise

    return run


@pytest.mark.timeout(900)  # about 2 minutes at the default bound; a slow shared machine gets room
def test_schemathesis_finds_no_failure_for_three_roles(wsgi_app):
    data = seed()
    schema_dict = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(schema_dict)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 56
    failures: list[str] = []
    counts = {"requests": 0, "operations": len(operations)}
    started = time.monotonic()
    for role, user in data["users"].items():
        cookies, headers = session_headers(user)
        for operation in operations:
            # The schema's own examples first (one case each: they are written to succeed), then
            # EXAMPLES_PER_OPERATION cases generated from the schema.
            strategies = [(example, 1) for example in operation.get_strategies_from_examples()]
            strategies.append((operation.as_strategy(), EXAMPLES_PER_OPERATION))
            for strategy, examples in strategies:
                run = _runner(wsgi_app, operation, strategy, examples, real_id(data["ids"], operation.path),
                              data["body"], role, headers, cookies, failures, counts)
                try:
                    run()
                except AssertionError:
                    pass  # recorded; the other operations still run
    elapsed = time.monotonic() - started
    print(f"\nSchemathesis: {counts['operations']} operations × {len(data['users'])} roles × up to "
          f"{EXAMPLES_PER_OPERATION} generated examples (plus schema examples): {counts['requests']} requests "
          f"in {elapsed:.0f} s; answers by status {dict(sorted(counts.get('status', {}).items()))}; successful "
          f"writes {dict(counts.get('writes', {}))}")
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} failing operations)"
    assert invalid_rows() == []
    # The writes really ran: the clerk's updates and the HRSS entries went through at least once.
    assert CountySubmission.objects.filter(county__code=COUNTY).exists()
