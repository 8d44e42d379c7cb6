"""Helpers for the background exports (portal.exports): ask for an export above the threshold,
wait for the real worker to write it, download it, and check that nobody else may."""

import io
import re
import time

import openpyxl
from django.urls import reverse


def export_in_background(client, url: str, *, timeout: float = 120) -> tuple[openpyxl.Workbook, str]:
    """The workbook the worker wrote for this export URL (asked above the threshold), and its token.
    The page shows the progress bar and polls until the file is ready; it never says failed."""
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html"), response.content[:300]
    body = response.content.decode()
    assert 'data-testid="export-progress"' in body and 'hx-trigger="every 2s"' in body, body
    token = re.search(r'hx-get="/exports/(\w+)/"', body).group(1)
    status_url = reverse("export-status", args=[token])
    deadline = time.monotonic() + timeout
    while 'data-status="done"' not in (page := client.get(status_url).content.decode()):
        assert 'data-status="failed"' not in page
        assert time.monotonic() < deadline, page
        time.sleep(0.3)
    assert 'data-testid="export-download"' in page
    response = client.get(reverse("export-download", args=[token]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))), token


def inline_workbook(client, url: str) -> openpyxl.Workbook:
    response = client.get(url)
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"], response.content[:300]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return openpyxl.load_workbook(io.BytesIO(content))


def sheet_values(wb: openpyxl.Workbook) -> list[list]:
    """Every sheet's rows, values only."""
    return [[list(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets]


def assert_only_the_requester_may_fetch(client, token: str, others) -> None:
    """Another user, whoever they are, gets 404 on the token's status and its file."""
    for other in others:
        client.force_login(other)
        assert client.get(reverse("export-status", args=[token])).status_code == 404
        assert client.get(reverse("export-download", args=[token])).status_code == 404
