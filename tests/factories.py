"""One-line users at any level: `make_user("371502", role="clerk")`; clients signed in as one:
`signed_in(user)` (`api=True` for DRF's client); reporting periods by code: `make_period("2020H1")`;
`assert_foreign_reads_as_missing` for a related id or code in an API body; an import's pages as the
browser uses them: `poll_import_status` (the polled status partial) and `press_commit_twice`, and
`assert_a_redelivered_commit_runs_once` for an import's commit task."""

import datetime
import itertools
import json
import time

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ledger.models import ReportingPeriod
from portal.jobs import ImportStatus
from portal.models import Department, Membership, Region, Role, User

PASSWORD = "test-pass-2026"
_serial = itertools.count(1)


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def make_user(*memberships: str | tuple, department: str = Department.HEALTH, role: str = Role.CLERK,
              username: str | None = None, display_name: str = "测试用户", **extra) -> User:
    """Each membership is a region code (with the default department and role) or a tuple
    (code, department, role)."""
    user = User.objects.create_user(
        username=username or f"user{next(_serial)}", password=PASSWORD, display_name=display_name, **extra
    )
    for spec in memberships:
        code, dept, rl = (spec, department, role) if isinstance(spec, str) else spec
        Membership.objects.create(user=user, region=region(code), department=dept, role=rl)
    return user


def signed_in(user: User | None = None, *, api: bool = False, client=None, **client_options):
    """A test client signed in as `user` (anonymous without one): `client` when given (pytest's
    `client` fixture), else a new Django client, or DRF's APIClient with `api`."""
    client = client or (APIClient if api else Client)(**client_options)
    if user is not None:
        client.force_login(user)
    return client


def make_period(code: str, **overrides) -> ReportingPeriod:
    """A half-year reporting period by its code (2020H1: January to June, due 15 July; H2: July
    to December, due 15 January)."""
    year, half = int(code[:4]), int(code[-1])
    dates = {"starts_on": datetime.date(year, 1 if half == 1 else 7, 1),
             "ends_on": datetime.date(year, 6, 30) if half == 1 else datetime.date(year, 12, 31),
             "deadline": datetime.date(year, 7, 15) if half == 1 else datetime.date(year + 1, 1, 15)}
    return ReportingPeriod.objects.create(code=code, year=year, half=half, **{**dates, **overrides})


def as_submitted(form) -> dict:
    """What the browser sends back for the form as rendered: each field's displayed value (a
    checkbox only when ticked, a date as the date input writes it)."""
    data = {}
    for bound in form:
        value = bound.value()
        if isinstance(bound.field.widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif value is not None:
            data[bound.html_name] = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return data


def assert_foreign_reads_as_missing(client, url: str, body: dict, *, field: str, foreign, missing, rows,
                                    hidden: tuple[str, ...] = ()) -> None:
    """POST `body` with `field` set to another region's row (`foreign`, an id or a code) and to
    one that does not exist (`missing`): both answers are the same 400 with the same message (the
    value aside), nothing is written (`rows`, a queryset, keeps its count), and no text of `hidden`
    (the foreign row's region names) appears in either."""
    before = rows.count()
    theirs, absent = (client.post(url, json.dumps({**body, field: value}), content_type="application/json")
                    for value in (foreign, missing))
    assert theirs.status_code == absent.status_code == 400, (theirs.status_code, theirs.content.decode(),
                                                           absent.status_code, absent.content.decode())
    expected = json.loads(json.dumps(absent.json(), ensure_ascii=False).replace(str(missing), str(foreign)))
    assert theirs.json() == expected and field in expected, (theirs.json(), absent.json())
    for text in hidden:
        assert text not in theirs.content.decode() and text not in absent.content.decode()
    assert rows.count() == before


def poll_import_status(client, url: str, job, until, timeout: float = 120):
    """Fetch an import job's status partial (`url`) every half second, as its page does, until the
    job's status is one of `until`; the partial keeps polling until then. Returns the job and the
    last partial's HTML."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        job.refresh_from_db()
        if job.status in until:
            return job, response.content.decode()
        assert 'hx-trigger="every 1s"' in response.content.decode()  # still polling
        time.sleep(0.5)
    pytest.fail(f"{type(job).__name__} stuck in {job.status} ({job.rows_done}/{job.rows_total})")


def press_commit_twice(client, namespace: str, job) -> list[list[str]]:
    """确认导入 of an import job pressed twice: each press comes back to the job's page; the
    messages each answer showed."""
    url = reverse(f"{namespace}:import-commit", args=[job.pk])
    answers = []
    for _press in range(2):
        response = client.post(url, follow=True)
        assert response.redirect_chain == [(reverse(f"{namespace}:import-job", args=[job.pk]), 302)]
        answers.append([str(m) for m in response.context["messages"]])
    return answers


def assert_a_redelivered_commit_runs_once(importer, actor, job, written) -> None:
    """An import's commit task delivered twice (Celery redelivers): the first run writes the job's
    one row, the second finds the job begun and writes nothing more. `written()` counts the rows."""
    jobs = type(job).objects.filter(pk=job.pk)
    jobs.update(status=ImportStatus.IMPORTING, started_at=None)
    job.refresh_from_db()
    first = importer.commit(actor=actor, job=job, queued=True)
    assert first.status == ImportStatus.DONE and first.rows_created == 1
    jobs.update(status=ImportStatus.IMPORTING)  # as if still running
    again = importer.commit(actor=actor, job=jobs.get(), queued=True)
    assert again.status == ImportStatus.IMPORTING and written() == 1
