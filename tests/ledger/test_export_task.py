"""A large ledger export is written by a real Celery worker while the page shows its progress;
only the user who asked may fetch the file."""

import io
import re
import time

import openpyxl
import pytest
from django.core.cache import cache
from django.urls import reverse

from ledger import exports
from portal.models import Role
from tests.factories import make_user
from tests.ledger.test_export import data_rows, ledger  # noqa: F401 — the fixture


@pytest.mark.django_db(transaction=True)
def test_an_export_above_the_threshold_is_written_by_the_worker_and_downloaded_only_by_its_requester(
        celery_worker_process, reference_data, client, clerk, ledger, settings):  # noqa: F811
    settings.PNEUMO_EXPORT_INLINE_MAX_ROWS = 1
    client.force_login(clerk)
    response = client.get(reverse("ledger:excel-export") + "?period=2020H1")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert 'data-testid="export-progress"' in body and 'hx-trigger="every 2s"' in body
    token = re.search(r'hx-get="/ledger/excel/export/(\w+)/"', body).group(1)
    status_url = reverse("ledger:excel-export-status", args=[token])
    deadline = time.monotonic() + 120
    while 'data-status="done"' not in (page := client.get(status_url).content.decode()):
        assert 'data-status="failed"' not in page
        assert time.monotonic() < deadline, page
        time.sleep(0.5)
    assert 'data-testid="export-download"' in page

    download = reverse("ledger:excel-export-download", args=[token])
    response = client.get(download)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [r["单位名称"] for r in data_rows(wb)] == ["东昌府区鑫达水泥有限公司", "东昌府区铸造厂"]

    for other in (make_user("371502", role=Role.CLERK), make_user("371521", role=Role.VIEWER)):
        client.force_login(other)  # same county or not, the token is not enough
        assert client.get(status_url).status_code == 404
        assert client.get(download).status_code == 404


def test_the_export_records_its_progress_as_it_writes(monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    key = "ledger-export:progress-test"
    state = {"user": 1, "status": "pending", "rows": 5}
    try:
        seen = []
        for _row in exports.counted(iter(range(5)), key, state):
            seen.append((cache.get(key) or {}).get("written"))
        assert seen == [None, 2, 2, 4, 4]  # from the 2nd and the 4th row on
        assert cache.get(key)["rows"] == 5 and cache.get(key)["status"] == "pending"
    finally:
        cache.delete(key)
