"""Outbound webhooks: subscriptions, event emission and one delivery attempt.

``emit`` is called by the deal services (and intake) inside their transaction. It costs one cache
read when nobody subscribed to the event; otherwise it writes one ``WebhookDelivery`` per matching
subscription and enqueues ``deliver_webhook`` *after commit*, so a rolled-back change never
notifies anybody. Bodies are signed with HMAC-SHA256 of the raw body, keyed with the
subscription's secret: ``X-SalesLadder-Signature: sha256=<hex>`` (the contract); a second header
``X-SalesLadder-Timestamp-Signature`` signs ``"<timestamp>." + body``, so a receiver can also refuse
replays of an old delivery.

Deliveries go only to public addresses (the host is resolved at send time; loopback, private,
link-local and reserved addresses are refused unless ``SALESLADDER_WEBHOOK_ALLOW_PRIVATE``), the
connection goes to the very address that was checked (no second look-up a rebinding DNS server could
answer differently; no ``*_proxy`` variables), and redirects are not followed: a subscription cannot
make the server fetch its own network.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import random
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import Deal, WebhookDelivery, WebhookDeliveryStatus, WebhookEvent, WebhookSubscription
from salesladder.errors import DomainError
from salesladder.org.models import User

ACTIVE_EVENTS_CACHE_KEY = "pipeline:webhooks:active-events:v1"
# Other processes see a new subscription at the latest after this long (each write also clears the key).
ACTIVE_EVENTS_TTL = 60
MAX_ATTEMPTS = settings.SALESLADDER_WEBHOOK_MAX_ATTEMPTS
TIMEOUT_SECONDS = settings.SALESLADDER_WEBHOOK_TIMEOUT
EXCERPT_CHARS = 1000
USER_AGENT = "SalesLadder-Webhooks/1"


# --- subscriptions ---------------------------------------------------------------------------


def _clean_subscription(*, url: str, events: Sequence[str]) -> list[str]:
    errors: dict[str, list[str]] = {}
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["url"] = [_("Enter an http:// or https:// URL.")]
    elif refused := refused_address(url):
        errors["url"] = [refused]
    if not isinstance(events, list | tuple) or not events:
        errors["events"] = [_("Choose at least one event.")]
    else:
        unknown = sorted({str(e) for e in events} - set(WebhookEvent.values))
        if unknown:
            errors["events"] = [
                _("Unknown event(s): %(events)s. Known: %(known)s.")
                % {"events": ", ".join(unknown), "known": ", ".join(WebhookEvent.values)}
            ]
    if errors:
        raise DomainError(errors)
    return sorted(set(events))


def invalidate_active_events() -> None:
    cache.delete(ACTIVE_EVENTS_CACHE_KEY)


@transaction.atomic
def webhook_subscription_create(
    *,
    url: str,
    events: Sequence[str],
    actor: User | None,
    secret: str = "",
    description: str = "",
    is_active: bool = True,
) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.create(
        url=url,
        events=_clean_subscription(url=url, events=events),
        secret=secret or secrets.token_hex(32),
        description=description,
        is_active=is_active,
        created_by=actor,
    )
    transaction.on_commit(invalidate_active_events)
    return subscription


@transaction.atomic
def webhook_subscription_update(*, subscription: WebhookSubscription, **fields: Any) -> WebhookSubscription:
    allowed = {"url", "events", "secret", "description", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise DomainError({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    if "url" in fields or "events" in fields:
        fields["events"] = _clean_subscription(
            url=fields.get("url", subscription.url), events=fields.get("events", subscription.events)
        )
    if "secret" in fields and not fields["secret"]:
        fields["secret"] = secrets.token_hex(32)
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    transaction.on_commit(invalidate_active_events)
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()
    transaction.on_commit(invalidate_active_events)


# --- emission --------------------------------------------------------------------------------


def active_events() -> frozenset[str]:
    """Events at least one active subscription wants; cached so a deal write without subscribers costs no query."""
    events = cache.get(ACTIVE_EVENTS_CACHE_KEY)
    if events is None:
        events = set()
        for subscribed in WebhookSubscription.objects.filter(is_active=True).values_list("events", flat=True):
            events.update(subscribed or ())
        events = sorted(events)
        cache.set(ACTIVE_EVENTS_CACHE_KEY, events, ACTIVE_EVENTS_TTL)
    return frozenset(events)


def deal_payload(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.pk,
        "title": deal.title,
        "account": deal.account_id,
        "contact": deal.contact_id,
        "owner": deal.owner_id,
        "team": deal.team_id,
        "stage": deal.stage,
        "status": deal.status,
        "amount": None if deal.amount is None else str(deal.amount),
        "currency": deal.currency,
        "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else None,
        "signed_on": deal.signed_on.isoformat() if deal.signed_on else None,
        "contract_amount": None if deal.contract_amount is None else str(deal.contract_amount),
        "source": deal.source,
        "external_id": deal.external_id,
        "lost_reason": deal.lost_reason.code if deal.lost_reason_id and deal.lost_reason else None,
        "created_at": deal.created_at.isoformat() if deal.created_at else None,
        "updated_at": deal.updated_at.isoformat() if deal.updated_at else None,
    }


def emit(event: str, deal: Deal, *, extra: Mapping[str, Any] | None = None) -> None:
    emit_many(event, [deal], extra=extra)


def emit_many(
    event: str,
    deals: Iterable[Deal],
    *,
    extra: Mapping[str, Any] | None = None,
    extra_by_deal: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[WebhookDelivery]:
    """Queue ``event`` for each deal to every active subscription of that event (after commit)."""
    if event not in active_events():
        return []
    subscriptions = [
        s for s in WebhookSubscription.objects.filter(is_active=True).only("pk", "events") if event in s.events
    ]
    if not subscriptions:
        return []
    now = timezone.now()
    deliveries = []
    for deal in deals:
        data: dict[str, Any] = {"deal": deal_payload(deal)}
        data.update(extra or {})
        if extra_by_deal and deal.pk in extra_by_deal:
            data.update(extra_by_deal[deal.pk])
        for subscription in subscriptions:
            delivery = WebhookDelivery(subscription=subscription, event=event, created_at=now, payload={})
            delivery.payload = {
                "id": str(delivery.uuid),
                "event": event,
                "created_at": now.isoformat(),
                "data": data,
            }
            deliveries.append(delivery)
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in deliveries]

    def enqueue() -> None:
        from pipeline.tasks import deliver_webhook

        for pk in ids:
            deliver_webhook.delay(pk)

    transaction.on_commit(enqueue)
    return deliveries


# --- delivery --------------------------------------------------------------------------------


def signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def timestamp_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of ``"<timestamp>." + body``: with it a receiver can reject a captured delivery
    replayed later (compare the timestamp with its clock, e.g. within 5 minutes)."""
    return signature(secret=secret, body=timestamp.encode() + b"." + body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is the receiver's answer (a failed attempt), not an instruction to fetch elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Pinned:
    """Connections go to the addresses that were checked, not to a second DNS answer (no rebinding between
    the check and the call), each tried in turn as ``socket.create_connection`` tries a name's addresses.
    The URL's host still names the server: ``Host`` header, TLS SNI and the certificate check use it."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    def create_connection(
        self, host_port: tuple[str, int], timeout: float | None = None, source_address: Any = None
    ) -> socket.socket:
        failure: OSError = OSError("no address to connect to")
        for address in self.addresses:
            try:
                return socket.create_connection((address, host_port[1]), timeout, source_address)
            except OSError as exc:
                failure = exc
        raise failure

    def connection_class(self, base: type[http.client.HTTPConnection]) -> Any:
        def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            connection = base(host, **kwargs)
            connection._create_connection = self.create_connection  # type: ignore[attr-defined]
            return connection

        return make


class _PinnedHTTP(urllib.request.HTTPHandler):
    def __init__(self, pin: _Pinned) -> None:
        super().__init__()
        self.pin = pin

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.pin.connection_class(http.client.HTTPConnection), req)


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, pin: _Pinned) -> None:
        super().__init__()
        self.pin = pin

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.pin.connection_class(http.client.HTTPSConnection), req)


def _opener_to(addresses: list[str]) -> urllib.request.OpenerDirector:
    """An opener that connects only to ``addresses``, follows no redirect and ignores ``*_proxy``
    variables (a proxy would resolve the host again, out of our sight)."""
    pin = _Pinned(addresses)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirects, _PinnedHTTP(pin), _PinnedHTTPS(pin)
    )


def vetted_addresses(url: str) -> tuple[list[str], str | None]:
    """``(addresses, refusal)``: the addresses a delivery to ``url`` may connect to (in the resolver's
    order, without repeats), or why it must not be called (one of them is a loopback, private,
    link-local, multicast or reserved address). ``([], None)`` when the host does not resolve: the
    attempt fails as a connection error."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return [], None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not getattr(settings, "SALESLADDER_WEBHOOK_ALLOW_PRIVATE", False):
        for address in addresses:
            if not address.is_global:
                refusal = _("%(host)s resolves to %(address)s, which is not a public address.") % {
                    "host": host,
                    "address": address,
                }
                return [], refusal
    return [str(a) for a in addresses], None


def refused_address(url: str) -> str | None:
    """Why ``url`` must not be called, or ``None`` (see ``vetted_addresses``)."""
    return vetted_addresses(url)[1]


def delivery_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def retry_delay(attempt: int) -> int:
    """Seconds before attempt ``attempt + 1``: 10 s doubling per attempt, capped at 1 h, plus up to 25 % jitter."""
    base = min(10 * 2 ** max(attempt - 1, 0), 3600)
    return base + random.randint(0, base // 4)  # jitter, not cryptography


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """Make one attempt (idempotent: a succeeded delivery is not sent again). Never raises on HTTP errors.

    Runs outside any transaction: the HTTP call must not hold database locks.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    if delivery.status == WebhookDeliveryStatus.SUCCEEDED:
        return delivery
    subscription = delivery.subscription
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if not subscription.is_active:
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.error = "subscription disabled"
        delivery.next_attempt_at = None
        delivery.save()
        return delivery
    addresses, refused = vetted_addresses(subscription.url)
    if refused:
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.error = refused[:300]
        delivery.next_attempt_at = None
        delivery.save()
        return delivery
    body = delivery_body(delivery)
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(  # http(s) URLs only, validated on subscribe
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-SalesLadder-Event": delivery.event,
            "X-SalesLadder-Delivery": str(delivery.uuid),
            "X-SalesLadder-Timestamp": timestamp,
            "X-SalesLadder-Signature": signature(secret=subscription.secret, body=body),
            "X-SalesLadder-Timestamp-Signature": timestamp_signature(
                secret=subscription.secret, timestamp=timestamp, body=body
            ),
        },
    )
    code: int | None = None
    excerpt = ""
    error = ""
    try:
        if not addresses:
            raise OSError(_("%(host)s does not resolve.") % {"host": urlsplit(subscription.url).hostname})
        with _opener_to(addresses).open(request, timeout=TIMEOUT_SECONDS) as response:
            code = response.status
            excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
    except urllib.error.HTTPError as exc:
        code = exc.code
        excerpt = exc.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
        error = f"HTTP {exc.code}"
    except OSError as exc:  # URLError, timeouts and connection errors are OSErrors
        reason = getattr(exc, "reason", exc)
        error = f"{type(reason).__name__}: {reason}"[:300]
    delivery.response_code = code
    delivery.response_excerpt = excerpt
    delivery.error = error
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))
    delivery.save()
    return delivery


# A pending delivery's retry is a Celery task with a countdown of at most ~1.25 h (``retry_delay``). One
# overdue by more than this lost its task (the broker's data went away): it is queued again.
ORPHANED_AFTER = timedelta(hours=2)
UNSENT_AFTER = timedelta(minutes=15)  # emitted, but its first task never ran


def webhook_deliveries_requeue(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """The ids of pending deliveries whose task was lost, marked as just queued (so the next sweep does not
    queue them twice); the caller enqueues ``deliver_webhook`` for each. One UPDATE over an index."""
    now = now or timezone.now()
    orphaned = Q(next_attempt_at__lt=now - ORPHANED_AFTER) | Q(
        next_attempt_at__isnull=True, attempts=0, created_at__lt=now - UNSENT_AFTER
    )
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(orphaned, status=WebhookDeliveryStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now)
    return ids
