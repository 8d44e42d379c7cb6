"""The start of the tablet stories: the inspection world, its unannounced assignment with the
checklist items by number, and its inspector member1 signed in."""

from tests.e2e.conftest import login, wait_until
from tests.factories import PASSWORD
from tests.inspections.factories import make_world

FILL_READY = "document.getElementById('fill-root').dataset.ready === '1'"


def member_with_unannounced(page):
    """(world, the unannounced assignment, its items by number), member1 signed in on `page`."""
    world = make_world()
    assignment = world.unannounced
    items = {i.number: i for i in assignment.checklist_version.items()}
    login(page, "member1", PASSWORD)
    return world, assignment, items


def open_unannounced_checklist(page):
    """`member_with_unannounced`, then the assignment's checklist open and ready to fill."""
    world, assignment, items = member_with_unannounced(page)
    page.goto(f"/inspections/assignments/{assignment.pk}/")
    wait_until(page, FILL_READY)
    return world, assignment, items
