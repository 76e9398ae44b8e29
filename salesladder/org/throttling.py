"""Rate limits per integration token and per user (429 with ``Retry-After``).

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (env ``API_THROTTLE_*``) and are read
on every request, so tests can change them with ``settings``. Counters live in the default cache:
set ``CACHE_URL`` to Redis in production so all workers share them.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from salesladder.org.models import ApiToken


class _LiveRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        return rates.get(self.scope or "")


class TokenRateThrottle(_LiveRateThrottle):
    """Each integration token has its own budget."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class UserRateThrottle(_LiveRateThrottle):
    """Each user has one budget across the browser and all their tokens."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonRateThrottle(_LiveRateThrottle):
    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
