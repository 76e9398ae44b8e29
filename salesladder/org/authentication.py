"""``Authorization: Bearer <key>`` for integration tokens.

The key is looked up by its 8-character prefix and checked against the stored SHA-256 hash with a
constant-time comparison. ``last_used_at`` is written at most once a minute per token, so a busy
integration does not turn every read into a write.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from salesladder.org.models import ApiToken, User
from salesladder.org.services import api_key_hash, api_key_prefix

LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Bearer <key>'."))
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from exc
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[User, ApiToken]:
        prefix = api_key_prefix(key)
        if prefix is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        digest = api_key_hash(key)
        token = None
        for candidate in ApiToken.objects.filter(prefix=prefix).select_related("user", "team"):
            if hmac.compare_digest(candidate.key_hash, digest):
                token = candidate
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The user of this API key is inactive."))
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration key `sl_<prefix>_<secret>` (create_api_token or the profile page).",
        }
