import os
import threading
import time
from collections import Counter

import pytest

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# otherwise refuse the ORM calls the tests make between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-quic", "--disable-sync"]


# How long a test's teardown waits for the live server to finish what it is serving.
LIVE_SERVER_DRAIN_SECONDS = 30


class RequestsInFlight:
    """The live server's application, counting the requests it is serving: from the call until the
    server closes the response, which is when Django closes the request's database connection.
    Closing a browser context does not stop a request a server thread is running (a service
    worker's fetch, a queued submission sent on reconnect); the flush after a test, which truncates
    every table, then waits on that request's locks while the request waits on the flush's: a
    deadlock (seen once after test_offline_task_list_checklist_and_queued_submit)."""

    def __init__(self, app):
        self.app = app
        self.serving: Counter[str] = Counter()
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        name = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
        with self.changed:
            self.serving[name] += 1
        try:
            response = self.app(environ, start_response)
        except BaseException:
            self._finished(name)
            raise
        return _ClosingResponse(response, lambda: self._finished(name))

    def _finished(self, name: str) -> None:
        with self.changed:
            self.serving[name] -= 1
            if not self.serving[name]:
                del self.serving[name]
            self.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: not self.serving, timeout):
                raise AssertionError(f"the live server was still serving {sorted(self.serving.elements())} "
                                     f"{timeout:g} s after the test ended")


class _ClosingResponse:
    """A response whose close (the WSGI server calls it once the body is sent, or the client went
    away) tells RequestsInFlight the request is over."""

    def __init__(self, response, on_close):
        self.response, self.on_close = response, on_close

    def __iter__(self):
        return iter(self.response)

    def close(self) -> None:
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            self.on_close()


@pytest.fixture(scope="session")
def live_server(live_server):
    """pytest-django's live server, its application wrapped in RequestsInFlight. Nothing knows its
    address before this returns, so no request is missed."""
    httpd = live_server.thread.httpd
    live_server.requests_in_flight = RequestsInFlight(httpd.get_app())
    httpd.set_app(live_server.requests_in_flight)
    return live_server


@pytest.fixture(autouse=True)
def live_server_idle_before_flush(transactional_db, live_server):
    """Every browser test ends by waiting until the live server serves no request: this fixture
    is torn down after the test's browser contexts are closed (they are set up after it) and
    before the flush of transactional_db (which it depends on)."""
    yield
    live_server.requests_in_flight.wait_until_idle(timeout=LIVE_SERVER_DRAIN_SECONDS)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Every page reports Content-Security-Policy violations to the console, where the context collects them
# (Chromium also logs its own "Refused to …" line); a browser test fails if any page broke the policy.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def watch_csp(context) -> list[str]:
    violations: list[str] = []
    context.add_init_script(_REPORT_CSP_VIOLATIONS)

    def on_console(message):
        text = message.text
        if text.startswith("CSP violation") or "Content Security Policy" in text:
            violations.append(text)

    context.on("console", on_console)
    return violations


def browser_context(browser, live_server, **options):
    """A context on the live server, in Chinese, whose pages' Content-Security-Policy violations
    collect in `context.csp_violations`; and its first page."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", **options)
    context.csp_violations = watch_csp(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def close_context(context) -> None:
    context.close()
    assert context.csp_violations == [], f"a page broke its Content-Security-Policy: {context.csp_violations}"


@pytest.fixture
def page(browser, live_server, reference_data):
    context, page = browser_context(browser, live_server, viewport={"width": 1440, "height": 900})
    yield page
    close_context(context)


@pytest.fixture
def tablet_page(browser, live_server, reference_data):
    context, page = browser_context(browser, live_server, viewport={"width": 800, "height": 1280},
                                    has_touch=True, is_mobile=True)
    yield page
    close_context(context)


def login(page, username: str, password: str) -> None:
    """Sign in and wait for the page the form posts to (the next page, or the form again with its
    error): a test's next `goto` issued while the post is under way aborts it, and the user is
    then not signed in (seen once on a loaded run)."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def logout(page) -> None:
    """Sign out through the user menu and wait for the login page: sign-out first clears the
    offline caches, so its request leaves a moment after the click, and a navigation started
    before it lands would be aborted by it. A page that moves on by itself (the tablet page goes
    to the report once a submission is saved) can be replaced between opening the menu and the
    click in it: the menu is then opened again on the new page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for attempt in range(3):
        # The menu is in the page before the scripts at the end of its body have run: a click
        # that early finds no Bootstrap dropdown behind it.
        page.wait_for_load_state("domcontentloaded")
        menu = page.get_by_test_id("user-menu")
        if not menu.is_visible():
            # Folded at tablet width. Bootstrap ignores a toggle while the menu is still sliding.
            page.locator(".navbar-collapse.collapsing").wait_for(state="detached")
            page.locator(".navbar-toggler").click()
            menu.wait_for(state="visible")
        menu.click()
        try:
            page.get_by_test_id("logout").click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    page.wait_for_url("**/accounts/login/**")


def wait_until(page, script: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(script):
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


def draw_signature(page) -> None:
    """A leader's hand-drawn signature on the report page's pad."""
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 40 + (step % 3) * 30)
    page.mouse.up()
