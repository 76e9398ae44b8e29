"""Password guessing is slowed down on both login forms (the site's and the admin's): a few attempts
per minute per user name and per client address, counted by django-ratelimit in the shared cache.
Over the limit the form answers 429 with ``Retry-After`` and the password is not even checked."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django_ratelimit.core import get_usage


def _username(group: str, request: HttpRequest) -> str:
    return (request.POST.get("username") or "").strip().lower()


def _limits(request: HttpRequest) -> list[dict[str, Any]]:
    """Count this attempt against the per-address and the per-name budget; the budgets exceeded."""
    checks = [
        ("login-ip", "ip", settings.LOGIN_THROTTLE_IP),
        ("login-user", _username, settings.LOGIN_THROTTLE_USER),
    ]
    usages = [get_usage(request, group=g, key=k, rate=r, method="POST", increment=True) for g, k, r in checks]
    return [u for u in usages if u and u["should_limit"]]


def login_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            exceeded = _limits(request)
            if exceeded:
                wait = max(int(u["time_left"]) for u in exceeded) + 1
                response = render(request, "registration/login_throttled.html", {"wait": wait}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapped


def forwarded_client_ip(request: HttpRequest) -> str:
    """Behind a TLS-terminating proxy (``DJANGO_BEHIND_PROXY``): the address the proxy appended last to
    ``X-Forwarded-For`` (the one it saw; earlier entries are whatever the client sent)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or str(request.META.get("REMOTE_ADDR", ""))
