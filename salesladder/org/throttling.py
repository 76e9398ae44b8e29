"""Rate limits per integration token, per user and per anonymous address (429 with ``Retry-After``).

A fixed-window counter in the default cache: one atomic ``incr`` per request and scope, so the cost
does not grow with the rate (DRF's built-in throttles keep and re-pickle a list of every request's
timestamp). A window may see up to twice the rate across its boundary; limits are generous, so that
is acceptable. Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (env ``API_THROTTLE_*``)
and are read on every request, so tests can change them with ``settings``. Set ``CACHE_URL`` to
Redis in production so all workers share the counters.
"""

from __future__ import annotations

import time
from typing import Any, cast

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from salesladder.org.models import ApiToken

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _now() -> float:
    return time.time()


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` → (600, 60)."""
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


class _WindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def get_ident_key(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        rate = rates.get(self.scope)
        ident = self.get_ident_key(request)
        if not rate or ident is None:
            return True
        limit, period = parse_rate(rate)
        now = _now()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{period}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self._wait


class TokenRateThrottle(_WindowThrottle):
    """Each integration token has its own budget."""

    scope = "token"

    def get_ident_key(self, request: Request) -> str | None:
        return str(request.auth.pk) if isinstance(request.auth, ApiToken) else None


class UserRateThrottle(_WindowThrottle):
    """Each user has one budget across the browser and all their tokens."""

    scope = "user"

    def get_ident_key(self, request: Request) -> str | None:
        user = request.user
        return str(user.pk) if user and user.is_authenticated else None


class AnonRateThrottle(_WindowThrottle):
    scope = "anon"

    def get_ident_key(self, request: Request) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)
