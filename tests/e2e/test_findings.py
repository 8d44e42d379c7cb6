"""A finding is rectified by the county and verified by the inspection team, in the browser."""

import pytest
from playwright.sync_api import expect

from inspections import services
from inspections.models import Finding
from tests.e2e.conftest import login, logout
from tests.factories import PASSWORD
from tests.inspections.factories import fill_all, make_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_county_rectifies_and_the_team_verifies(page, reference_data):
    world = make_world()
    fill_all(world.unannounced, world.member, value_for={"1.5": "no"})
    services.inspection_submit(actor=world.member, inspection=world.unannounced.inspection)
    finding = Finding.objects.get()

    login(page, world.county_clerk.username, PASSWORD)
    page.goto(f"/ledger/employers/{world.employer.pk}/")
    expect(page.locator("main")).to_contain_text(finding.description[:8])  # the findings snippet (htmx)
    page.goto(f"/inspections/findings/{finding.pk}/")
    expect(page.get_by_test_id("finding-status")).to_have_text("待整改")
    page.fill("textarea[name=note]", "已维修除尘器并恢复运行")
    page.get_by_test_id("rectify-submit").click()
    expect(page.get_by_test_id("finding-status")).to_have_text("已整改待核实")
    logout(page)

    login(page, world.leader.username, PASSWORD)
    page.goto(f"/inspections/findings/{finding.pk}/")
    expect(page.locator("main")).to_contain_text("已维修除尘器并恢复运行")
    page.select_option("select[name=outcome]", "verified")
    page.get_by_test_id("review-submit").click()
    expect(page.get_by_test_id("finding-status")).to_have_text("已核实销号")
