"""Login throttling behind a proxy: the address comes from X-Forwarded-For only when the peer is a
trusted proxy; failures slow a login name down (never lock it), and are limited per address and for
the whole portal."""

import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from portal import throttle
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.PNEUMO_TRUSTED_PROXIES = []
    cache.delete(throttle._key("global", "all"))
    yield
    cache.delete(throttle._key("global", "all"))


def post_login(client, username, password, address="10.1.1.1", **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address,
                       **headers)


def test_the_forwarded_header_counts_only_from_a_trusted_proxy(settings):
    factory = RequestFactory()
    spoofed = factory.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert throttle.client_address(spoofed) == "203.0.113.9"
    settings.PNEUMO_TRUSTED_PROXIES = ["10.0.0.0/24"]
    proxied = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert throttle.client_address(proxied) == "198.51.100.7"  # the hop the proxy saw, not what the client wrote
    assert throttle.client_address(factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="junk")) == "10.0.0.2"
    assert throttle.client_address(spoofed) == "203.0.113.9"


def test_failures_delay_a_login_name_but_never_lock_it(client, settings):
    settings.PNEUMO_LOGIN_FREE_FAILURES = 2
    settings.PNEUMO_LOGIN_MAX_DELAY_SECONDS = 2
    user = make_user("371502", username="thr_victim")
    for attempt in range(2):
        assert post_login(client, "thr_victim", "wrong", address=f"10.9.0.{attempt}").status_code == 200
    post_login(client, "thr_victim", "wrong", address="10.9.0.5")
    refused = post_login(client, "thr_victim", PASSWORD, address="10.9.0.6")  # from anywhere: it is the name
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    page = refused.content.decode()
    assert "账号没有被锁定" in page and "联系本级管理员重置密码" in page
    time.sleep(2.2)  # the delay is capped: the owner gets in once it has passed
    response = post_login(client, "thr_victim", PASSWORD, address="10.9.0.6")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert cache.get(throttle._key("username", "thr_victim")) is None


def test_the_delay_doubles_up_to_the_cap():
    assert [throttle.delay_after(n, free=3, max_delay=300) for n in range(0, 13)] == [
        0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_one_address_is_limited_across_login_names(client, settings):
    settings.PNEUMO_LOGIN_ADDRESS_FAILURES = 4
    for n in range(4):
        post_login(client, f"thr_nobody{n}", "wrong", address="10.8.0.1")
    response = post_login(client, "thr_other", "wrong", address="10.8.0.1")
    assert response.status_code == 429 and "本机所在网络" in response.content.decode()
    assert post_login(client, "thr_other", "wrong", address="10.8.0.2").status_code == 200


def test_behind_a_trusted_proxy_addresses_are_the_clients_not_the_proxys(client, settings):
    settings.PNEUMO_TRUSTED_PROXIES = ["10.0.0.2"]
    settings.PNEUMO_LOGIN_ADDRESS_FAILURES = 3
    for n in range(3):
        post_login(client, f"thr_p{n}", "wrong", address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert post_login(client, "thr_q", "wrong", address="10.0.0.2",
                      HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 429
    # Another client behind the same proxy is not held back by the first one.
    assert post_login(client, "thr_q", "wrong", address="10.0.0.2",
                      HTTP_X_FORWARDED_FOR="198.51.100.21").status_code == 200


def test_spraying_many_login_names_tightens_the_limits_for_everyone(client, settings):
    settings.PNEUMO_LOGIN_GLOBAL_FAILURES = 6
    settings.PNEUMO_LOGIN_FREE_FAILURES = 3
    settings.PNEUMO_LOGIN_ADDRESS_FAILURES = 100
    for n in range(6):
        post_login(client, f"thr_spray{n}", "Spring2026", address=f"10.7.{n}.1")
    # Spraying: no failure is free any more, and each address is held to a quarter of its limit.
    post_login(client, "thr_spray_next", "Spring2026", address="10.7.9.1")
    response = post_login(client, "thr_spray_next", "Spring2026", address="10.7.9.2")
    assert response.status_code == 429
