"""The browser tests' teardown waits for the live server: a request it is still serving when the
browser closes holds locks, and the flush after the test, which truncates every table, would
deadlock with it (seen once after test_offline_task_list_checklist_and_queued_submit). Here the
request is made slow by holding the session table's lock: it cannot finish while the test holds it."""

import threading
import time
import urllib.request
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOGIN_PAGE = "GET /accounts/login/"


@contextmanager
def request_held_on_the_session_table(live_server):
    """A request for the login page with a session cookie, which reads the session, while this
    test locks the session table: the server serves it until the block ends."""
    answers = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        browser = urllib.request.Request(live_server + "/accounts/login/", headers={"Cookie": "sessionid=" + "s" * 32})
        client = threading.Thread(target=lambda: answers.append(urllib.request.urlopen(browser, timeout=60).status))
        client.start()
        deadline = time.monotonic() + 15
        while LOGIN_PAGE not in live_server.requests_in_flight.serving:
            assert time.monotonic() < deadline, "the request never reached the live server"
            time.sleep(0.02)
        yield
    client.join(timeout=30)
    assert answers == [200]


def test_teardown_waits_until_the_server_has_finished_the_request(live_server):
    waited = threading.Event()

    def teardown():
        live_server.requests_in_flight.wait_until_idle(timeout=30)
        waited.set()

    with request_held_on_the_session_table(live_server):
        waiting = threading.Thread(target=teardown)
        waiting.start()
        assert not waited.wait(timeout=0.5), "teardown went on while the server was serving a request"
    waiting.join(timeout=30)
    assert waited.is_set()
    assert not live_server.requests_in_flight.serving


def test_teardown_fails_loudly_when_a_request_never_ends(live_server):
    with request_held_on_the_session_table(live_server):
        with pytest.raises(AssertionError, match=f"still serving \\['{LOGIN_PAGE}'\\]"):
            live_server.requests_in_flight.wait_until_idle(timeout=0.2)
