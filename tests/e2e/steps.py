"""Steps several browser stories take: changing who is signed in, waiting for a dashboard figure
that a background rollup brings, and on the tablet, the inspection world with member1 signed in
and answering its checklist."""

from playwright.sync_api import expect

from tests.e2e.conftest import login, logout, wait_until
from tests.factories import PASSWORD
from tests.inspections.factories import PNG, make_world


def switch_user(page, username):
    logout(page)
    login(page, username, PASSWORD)


def reload_until_shown(page, url: str, locator, text: str, *, tries: int = 40) -> None:
    """Reload `url` until `locator` shows `text`: a dashboard figure comes from a rollup that a
    background job recomputes after the write."""
    for _ in range(tries):
        page.goto(url)
        if text in locator.inner_text():
            break
        page.wait_for_timeout(500)
    expect(locator).to_contain_text(text)


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


def answer_everything(page, items, *, skip=(), photo_meta=None):
    """Answer each item the way its type asks for on the tablet, but for the numbers in `skip`;
    with `photo_meta`, each photo's caption must show it (where the photo was taken)."""
    for number, item in items.items():
        if number in skip:
            continue
        if item.answer_type == "yes_no_na":
            page.get_by_test_id(f"answer-{number}-yes").click()
        elif item.answer_type in ("number", "rate"):
            page.get_by_test_id(f"answer-{number}").fill("12")
            page.get_by_test_id(f"answer-{number}").press("Tab")
        elif item.answer_type == "text":
            page.get_by_test_id(f"answer-{number}").fill("现场除尘设施运行正常")
            page.get_by_test_id(f"answer-{number}").press("Tab")
        elif item.answer_type == "single_choice":
            page.get_by_test_id(f"answer-{number}-1").click()
        elif item.answer_type == "photo":
            page.get_by_test_id(f"answer-{number}").set_input_files(
                files=[{"name": "site.png", "mimeType": "image/png", "buffer": PNG}])
            if photo_meta is not None:
                expect(page.get_by_test_id(f"photos-{number}").get_by_test_id("photo-meta")).to_contain_text(photo_meta)
