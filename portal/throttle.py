"""Login throttling that fits a deployment behind a TLS proxy.

- The client address is the socket's peer, unless that peer is a proxy listed in
  `PNEUMO_TRUSTED_PROXIES`: then it is the nearest address of `X-Forwarded-For` that is not a trusted
  proxy. An untrusted peer cannot choose its address by sending the header.
- Per username: the first few failures are free; after that each attempt must wait a delay that
  doubles with every failure, up to a cap. Nobody can lock an account: the worst a stranger who knows
  a login name can do is make its owner wait the cap (minutes) once.
- Per address: too many failures from one address within the window refuse that address until the
  window ends.
- Globally (spraying one password over many login names from many addresses): when the failures of
  the whole portal within the window pass a threshold, no failure is free any more and the per-address
  limit drops, until the window ends.

The counters live in the shared cache (Redis), so every web worker sees the same ones. A successful
login clears its username's counter."""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


def _networks():
    return [ipaddress.ip_network(value.strip(), strict=False)
            for value in getattr(settings, "PNEUMO_TRUSTED_PROXIES", []) if value.strip()]


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    networks = _networks()
    if not networks or not _is_trusted(peer, networks):
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):  # the nearest hop first; each trusted proxy appended its peer
        if not _is_trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return peer  # a malformed header: fall back to the proxy itself
    return peer


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]  # no login names in the cache
    return f"login-throttle:{kind}:{digest}"


@dataclass(frozen=True)
class Refusal:
    reason: str  # "username", "address" or "global"
    retry_after: int  # seconds


def _limits() -> dict:
    return {
        "free": settings.PNEUMO_LOGIN_FREE_FAILURES,
        "max_delay": settings.PNEUMO_LOGIN_MAX_DELAY_SECONDS,
        "window": settings.PNEUMO_LOGIN_WINDOW_SECONDS,
        "address": settings.PNEUMO_LOGIN_ADDRESS_FAILURES,
        "global": settings.PNEUMO_LOGIN_GLOBAL_FAILURES,
    }


def _spraying(limits) -> bool:
    return (cache.get(_key("global", "all")) or 0) >= limits["global"]


def delay_after(failures: int, *, free: int, max_delay: int) -> int:
    """Seconds to wait before the next attempt after `failures` failures: 0 while free, then 1, 2,
    4 … up to the cap."""
    if failures < free or failures <= 0:
        return 0
    return min(max_delay, 2 ** min(failures - free, 20))


def check(request, username: str) -> Refusal | None:
    """Whether this attempt may be tried at all (called before the password is checked)."""
    limits = _limits()
    spraying = _spraying(limits)
    address = client_address(request)
    address_limit = limits["address"] // 4 if spraying else limits["address"]
    if address and (cache.get(_key("address", address)) or 0) >= address_limit:
        return Refusal("global" if spraying else "address", limits["window"])
    state = cache.get(_key("username", username)) if username else None
    if state:
        failures, last = state
        wait = delay_after(failures, free=0 if spraying else limits["free"], max_delay=limits["max_delay"])
        remaining = int(last + wait - time.time()) + 1
        if wait and remaining > 0:
            return Refusal("username", remaining)
    return None


def _incr(key: str, window: int) -> None:
    if cache.add(key, 1, window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired in between
        cache.add(key, 1, window)


def record_failure(request, username: str) -> None:
    limits = _limits()
    window = limits["window"]
    if username:
        key = _key("username", username)
        failures, _last = cache.get(key) or (0, 0)
        cache.set(key, (failures + 1, time.time()), window)
    if address := client_address(request):
        _incr(_key("address", address), window)
    _incr(_key("global", "all"), window)


def record_success(username: str) -> None:
    cache.delete(_key("username", username))
