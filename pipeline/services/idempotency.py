"""``Idempotency-Key`` for POST endpoints (lead intake).

A key is private to its caller (the token, or the user for session clients) and remembered 24 h:

- first use: the key is claimed (a committed ``in_flight`` row), the request runs, the answer is stored;
- same key, same request (method, path and body hash): the stored status and body are replayed;
- same key, different request: 422; same key while the first request still runs: 409;
- a request that crashed (500) releases its key, so the client can retry it.

An ``in_flight`` claim older than ``STALE_IN_FLIGHT`` belongs to a dead worker and is taken over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import IdempotencyKey, IdempotencyState
from salesladder.errors import Conflict, DomainError
from salesladder.org.models import User

IDEMPOTENCY_TTL = timedelta(hours=24)
STALE_IN_FLIGHT = timedelta(minutes=10)
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(DomainError):
    """The key was already used for a different request."""

    status_code = 422
    default_field = "idempotency_key"


class IdempotencyInFlight(Conflict):
    default_field = "idempotency_key"


@dataclass
class Claim:
    row: IdempotencyKey
    replay: bool


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(path.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def owner_key(*, user: User, token: Any = None) -> str:
    return f"token:{token.pk}" if token is not None and getattr(token, "pk", None) else f"user:{user.pk}"


def idempotency_claim(*, key: str, user: User, token: Any, fingerprint: str) -> Claim:
    """Claim ``key`` for this request (committed at once, so concurrent requests see it) or find its answer."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError({"idempotency_key": [_("Use 1 to %(max)d printable characters.") % {"max": MAX_KEY_LENGTH}]})
    owner = owner_key(user=user, token=token)
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                claimed = IdempotencyKey.objects.create(
                    key=key,
                    owner=owner,
                    user=user,
                    fingerprint=fingerprint,
                    state=IdempotencyState.IN_FLIGHT,
                    created_at=now,
                )
            return Claim(row=claimed, replay=False)
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(owner=owner, key=key).first()
        if row is None:
            continue  # pruned or released meanwhile: claim again
        if row.created_at < now - IDEMPOTENCY_TTL:
            IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
            continue
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                _("This Idempotency-Key was already used for a different request; use a new key for new content.")
            )
        if row.state == IdempotencyState.DONE:
            return Claim(row=row, replay=True)
        if row.created_at < now - STALE_IN_FLIGHT:
            taken = IdempotencyKey.objects.filter(
                pk=row.pk, state=IdempotencyState.IN_FLIGHT, created_at=row.created_at
            )
            if taken.update(created_at=now):
                row.created_at = now
                return Claim(row=row, replay=False)
            continue
        raise IdempotencyInFlight(
            _("A request with this Idempotency-Key is still being processed; retry in a few seconds.")
        )
    raise IdempotencyInFlight(_("This Idempotency-Key is contended; retry in a few seconds."))


def idempotency_complete(*, claim: Claim, status: int, body: Any) -> None:
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(
        state=IdempotencyState.DONE, response_status=status, response_body=body, completed_at=timezone.now()
    )


def idempotency_release(*, claim: Claim) -> None:
    IdempotencyKey.objects.filter(pk=claim.row.pk, state=IdempotencyState.IN_FLIGHT).delete()


def idempotency_keys_prune(*, now: Any = None) -> int:
    """Forget answers older than 24 h (Celery beat, hourly)."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
