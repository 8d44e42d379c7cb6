"""A large ledger export is written by a real Celery worker while the page shows its progress;
only the user who asked may fetch the file."""

import time
import uuid

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portal import exports
from portal.models import Role
from tests.exports import assert_only_the_requester_may_fetch, export_in_background, inline_workbook, sheet_values
from tests.factories import make_user
from tests.ledger.test_export import data_rows, ledger  # noqa: F401 — the fixture


@pytest.mark.django_db(transaction=True)
def test_an_export_above_the_threshold_is_written_by_the_worker_and_downloaded_only_by_its_requester(
        celery_worker_process, reference_data, client, clerk, ledger, settings):  # noqa: F811
    url = reverse("ledger:excel-export") + "?period=2020H1"
    client.force_login(clerk)
    inline = inline_workbook(client, url)
    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
    wb, token = export_in_background(client, url)
    assert [r["单位名称"] for r in data_rows(wb)] == ["东昌府区鑫达水泥有限公司", "东昌府区铸造厂"]
    assert sheet_values(wb) == sheet_values(inline)
    # Same county or not, the token is not enough.
    assert_only_the_requester_may_fetch(client, token, [make_user("371502", role=Role.VIEWER),
                                                        make_user("371521", role=Role.CLERK)])


def test_the_export_records_its_progress_as_it_writes(monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    token = "progresstest"
    state = {"user": 1, "kind": "ledger", "status": "pending", "rows": 5}
    try:
        seen = []
        for _row in exports.counted(iter(range(5)), token, state):
            seen.append((cache.get(exports.state_key(token)) or {}).get("written"))
        assert seen == [None, 2, 2, 4, 4]  # from the 2nd and the 4th row on
        saved = cache.get(exports.state_key(token))
        assert saved["rows"] == 5 and saved["status"] == "pending"
    finally:
        cache.delete(exports.state_key(token))


@pytest.mark.django_db
def test_an_export_the_worker_could_not_write_is_reported_as_failed(client, clerk, ledger):  # noqa: F811
    token = "failing" + uuid.uuid4().hex
    cache.set(exports.state_key(token), {"user": clerk.pk, "kind": "ledger", "status": "pending", "rows": 2,
                                         "seen": time.time()}, 600)  # as exports.start saves it
    with pytest.raises(PermissionDenied):  # the region left the user's scope before the worker ran
        exports.run(token, "ledger", clerk.pk, {"region": "371521"})
    client.force_login(clerk)
    page = client.get(reverse("export-status", args=[token])).content.decode()
    assert 'data-status="failed"' in page and "导出失败" in page and "hx-get" not in page


@pytest.mark.django_db
def test_an_export_whose_worker_went_silent_is_reported_as_failed(client, clerk, ledger, monkeypatch):  # noqa: F811
    token = "silent" + uuid.uuid4().hex
    cache.set(exports.state_key(token), {"user": clerk.pk, "kind": "ledger", "status": "pending", "rows": 2,
                                         "seen": time.time() - exports.STALE_SECONDS + 5}, 600)
    client.force_login(clerk)
    status = reverse("export-status", args=[token])
    assert 'data-status="pending"' in client.get(status).content.decode()
    monkeypatch.setattr(exports, "STALE_SECONDS", 1)  # the worker died: no progress since
    assert 'data-status="failed"' in client.get(status).content.decode()


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_a_large_export_says_it_failed(reference_data, client, clerk, ledger, on_private_redis,  # noqa: F811
                                                       settings):
    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
    client.force_login(clerk)
    on_private_redis.stop()
    response = client.get(reverse("ledger:excel-export") + "?period=2020H1")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-status="failed"' in body and "导出失败" in body
    assert "export-download" not in body and "hx-get" not in body


@pytest.mark.django_db
def test_an_export_reached_after_its_page_said_failed_is_not_written(clerk, ledger, monkeypatch):  # noqa: F811
    token = "late" + uuid.uuid4().hex
    cache.set(exports.state_key(token), {"user": clerk.pk, "kind": "ledger", "status": "pending", "rows": 2,
                                         "seen": time.time() - exports.STALE_SECONDS - 5}, 600)
    assert exports.state_get(token, clerk)["status"] == "failed"  # what the page shows
    exports.run(token, "ledger", clerk.pk, {"period": "2020H1"})  # the worker reaches it at last
    state = cache.get(exports.state_key(token))
    assert state["status"] == "failed" and "path" not in state
    assert exports.state_get(token, clerk)["status"] == "failed"
