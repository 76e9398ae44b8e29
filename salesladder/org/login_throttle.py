"""Password guessing is slowed down on both log-in forms (the site's and the admin's): a few attempts
per minute per user name and per client address, counted by django-ratelimit in the shared cache.
Over the limit the form answers 429 with ``Retry-After`` and the password is not even checked. The
password-reset form is limited the same way per e-mail address (no mail flood)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django_ratelimit.core import get_usage


def _field_key(field: str) -> Callable[[str, HttpRequest], str]:
    def key(group: str, request: HttpRequest) -> str:
        return (request.POST.get(field) or "").strip().lower()

    return key


def _limits(request: HttpRequest, field: str, rate: str) -> list[dict[str, Any]]:
    """Count this attempt against the per-address and the per-``field`` budget; the budgets exceeded."""
    checks = [
        (f"{request.path}-ip", "ip", settings.LOGIN_THROTTLE_IP),
        (f"{request.path}-{field}", _field_key(field), rate),
    ]
    usages = [get_usage(request, group=g, key=k, rate=r, method="POST", increment=True) for g, k, r in checks]
    return [u for u in usages if u and u["should_limit"]]


def form_throttled(
    view: Callable[..., HttpResponseBase], *, field: str = "username", rate_setting: str = "LOGIN_THROTTLE_USER"
) -> Callable[..., HttpResponseBase]:
    """``view`` with its POSTs limited per client address and per value of ``field`` (the user name of a
    log-in, the address of a password reset): over the limit, 429 and the view is not called."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            exceeded = _limits(request, field, getattr(settings, rate_setting))
            if exceeded:
                wait = max(int(u["time_left"]) for u in exceeded) + 1
                response = render(request, "registration/login_throttled.html", {"wait": wait}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapped


def login_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    return form_throttled(view)


def reset_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Password-reset mails: a few per address an hour (each one lands in someone's mailbox)."""
    return form_throttled(view, field="email", rate_setting="PASSWORD_RESET_THROTTLE")


def forwarded_client_ip(request: HttpRequest) -> str:
    """Behind a TLS-terminating proxy (``DJANGO_BEHIND_PROXY``): the address the proxy appended last to
    ``X-Forwarded-For`` (the one it saw; earlier entries are whatever the client sent)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or str(request.META.get("REMOTE_ADDR", ""))
