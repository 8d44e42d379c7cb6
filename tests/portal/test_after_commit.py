"""After-commit work never turns a success into a failure: with the test's own Redis stopped,
a ledger save and an import commit answer what happened (saved, imported), the rollup marks
are in the database for beat's sweep, and the failure is logged."""

import logging

import pytest
from django.urls import reverse

from ledger import services
from ledger.models import Employer, EmployerRecord, ImportJob, ImportStatus, ReportingPeriod
from portal.models import Region, Role
from targets.models import DirtyCounty
from tests.factories import make_user
from tests.ledger.factories import make_employer
from tests.ledger.test_import import build_workbook, make_row, upload
from tests.ledger.test_views import record_post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def open_county(reference_data):
    import datetime

    clerk = make_user("371502", role=Role.CLERK)
    period = ReportingPeriod.objects.create(code="2020H1", year=2020, half=1, starts_on=datetime.date(2020, 1, 1),
                                            ends_on=datetime.date(2020, 6, 30), deadline=datetime.date(2020, 7, 15))
    county = Region.objects.get(code="371502")
    services.period_open_county(actor=clerk, period=period, county=county)
    DirtyCounty.objects.all().delete()
    return clerk, period, county


def test_a_ledger_save_with_redis_down_is_saved_and_says_so(client, open_county, on_private_redis, caplog):
    clerk, period, county = open_county
    employer = make_employer(county="371502")
    record = EmployerRecord.objects.create(employer=employer, period=period, province=employer.province,
                                           city=employer.city, county=employer.county)
    client.force_login(clerk)
    on_private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="portal.aftercommit"):
        response = client.post(reverse("ledger:record-edit", args=[record.pk]), record_post(record, total_workers=40))
    assert response.status_code == 302 and response["Location"] == reverse("ledger:employer-detail",
                                                                           args=[employer.pk])
    record.refresh_from_db()
    assert (record.total_workers, record.version) == (40, 2)
    assert DirtyCounty.objects.filter(county=county, period=period).exists()  # beat's sweep will run it
    assert any("rollup recompute" in r.getMessage() for r in caplog.records)
    # Saving again from the page it now shows is the user's own next save, not a conflict.
    record.refresh_from_db()
    response = client.post(reverse("ledger:record-edit", args=[record.pk]), record_post(record, total_workers=41))
    assert response.status_code == 302
    assert "已保存" in client.get(response["Location"]).content.decode()


def test_an_import_commit_with_redis_down_reports_what_it_wrote(client, open_county, on_private_redis, settings,
                                                                tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    clerk, period, county = open_county
    client.force_login(clerk)
    response = client.post(reverse("ledger:import"), {
        "county": county.pk, "period": period.pk, "file": upload(build_workbook([make_row(1), make_row(2)]))})
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.VALIDATED, job.errors
    on_private_redis.stop()
    response = client.post(reverse("ledger:import-commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and (job.rows_created, job.rows_updated) == (2, 0)
    assert Employer.objects.count() == 2
    body = client.get(response["Location"]).content.decode()
    assert "导入完成" in body and "未写入任何数据" not in body
    assert DirtyCounty.objects.filter(county=county, period=period).exists()


def test_with_redis_up_the_recompute_is_queued_once_per_transaction(open_county, on_private_redis, settings):
    from django.db import transaction

    from targets.services import rollup_mark_dirty

    settings.CELERY_TASK_DEFAULT_QUEUE = "faults-private"
    from portal.celery import app

    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = "faults-private"
    try:
        _clerk, period, county = open_county
        with transaction.atomic():
            for _ in range(5):
                rollup_mark_dirty(county, period)
        assert on_private_redis.count("faults-private") == 1
    finally:
        app.conf.task_default_queue = old_queue


def test_marking_outside_a_transaction_is_refused(open_county):
    from targets.services import rollup_mark_dirty

    _clerk, period, county = open_county
    with pytest.raises(RuntimeError):
        rollup_mark_dirty(county, period)
