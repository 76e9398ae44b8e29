"""Outbound webhooks against a real local HTTP receiver: signatures, events, retries, the delivery log."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import socket
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from pipeline.models import Channel, Stage, WebhookDelivery, WebhookSubscription
from pipeline.services import deal_lose, deal_move
from pipeline.services import webhooks as webhook_services
from pipeline.services.webhooks import webhook_subscription_create
from tests.factories import lost_reason, make_deal
from tests.intake.helpers import TokenClient, lead
from tests.webhooks.receiver import Receiver

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def subscribe(receiver: Receiver, events: list[str], actor=None) -> WebhookSubscription:
    return webhook_subscription_create(url=receiver.url, events=events, secret=SECRET, actor=actor)


def signed_ok(request) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-salesladder-signature"], expected)


def test_a_new_deal_is_posted_signed_after_commit(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.created"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deal = make_deal(owner=org.alice)
        assert receiver.requests == []  # nothing leaves before the transaction commits

    assert len(callbacks) == 1
    (request,) = receiver.requests
    assert signed_ok(request)
    assert request.headers["x-salesladder-event"] == "deal.created"
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["x-salesladder-timestamp"].isdigit()
    body = json.loads(request.body)
    assert body["event"] == "deal.created"
    assert body["data"]["deal"]["id"] == deal.pk
    assert body["data"]["deal"]["stage"] == "prep"
    delivery = WebhookDelivery.objects.get()
    assert request.headers["x-salesladder-delivery"] == str(delivery.uuid) == body["id"]
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.response_excerpt == "ok"


def test_a_tampered_body_fails_verification(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.created"])
    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    (request,) = receiver.requests
    request.body = request.body.replace(b'"prep"', b'"signing"')
    assert not signed_ok(request)


def _retry_until_done(limit: int = 10) -> None:
    """What the worker's retries do: run the delivery task again while it is pending (in-process, each
    task call is one attempt)."""
    from pipeline.tasks import deliver_webhook

    for _ in range(limit):
        pending = WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True)
        if not pending:
            return
        for pk in pending:
            deliver_webhook.delay(pk)


def test_without_a_broker_one_attempt_runs_in_the_request(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.created"])
    receiver.statuses.extend([500, 503])

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert len(receiver.requests) == 1  # a failing receiver does not hold the deal's request 8 times
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at is not None


def test_server_errors_are_retried_with_backoff_until_success(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.created"])
    receiver.statuses.extend([500, 503])

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)
    _retry_until_done()

    assert len(receiver.requests) == 3
    assert all(signed_ok(r) for r in receiver.requests)
    assert len({r.headers["x-salesladder-delivery"] for r in receiver.requests}) == 1  # same delivery id
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 3, 200)
    assert delivery.next_attempt_at is None


def test_a_receiver_that_keeps_failing_ends_failed_after_max_attempts(
    org, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 3)
    subscribe(receiver, ["deal.created"])
    receiver.statuses.extend([500] * 10)

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)
    _retry_until_done()

    assert len(receiver.requests) == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 500)
    assert delivery.response_excerpt == "receiver exploded"
    assert delivery.error == "HTTP 500"


def test_an_unreachable_url_is_logged_as_a_connection_error(org, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 2)
    with Receiver() as dead:
        url = dead.url
    webhook_subscription_create(url=url, events=["deal.created"], secret=SECRET, actor=None)

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)
    _retry_until_done()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 2, None)
    assert "Connection" in delivery.error or "refused" in delivery.error.lower()


def test_stage_changes_wins_and_losses_are_separate_events(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.stage_changed", "deal.won", "deal.lost"])
    deal = make_deal(owner=org.alice, stage=Stage.NEGOTIATION)
    other = make_deal(owner=org.alice)

    with django_capture_on_commit_callbacks(execute=True):
        deal_move(
            deal=deal,
            to_stage=Stage.SIGNING,
            actor=org.alice,
            fields={"signed_on": datetime.date(2026, 11, 20), "contract_amount": Decimal("9000.00")},
        )
        deal_lose(deal=other, reason=lost_reason(), actor=org.alice)

    events = [r.headers["x-salesladder-event"] for r in receiver.requests]
    assert events == ["deal.stage_changed", "deal.won", "deal.lost"]
    moved = json.loads(receiver.requests[0].body)["data"]
    assert (moved["from_stage"], moved["to_stage"]) == ("negotiation", "signing")
    assert json.loads(receiver.requests[2].body)["data"]["deal"]["lost_reason"] == "price"


def test_events_nobody_subscribed_to_write_nothing(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.lost"])

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


def test_without_subscriptions_a_deal_write_costs_no_webhook_query(org, django_assert_num_queries):
    make_deal(owner=org.alice)  # warms the cached "no active events" answer
    deal = make_deal(owner=org.alice)

    # savepoint, lock, gates, save, transition, release: nothing for webhooks
    with django_assert_num_queries(6):
        deal_move(deal=deal, to_stage=Stage.CONTACT, actor=org.alice, channel=Channel.UI)


def test_a_disabled_subscription_receives_nothing(org, receiver, django_capture_on_commit_callbacks):
    subscription = subscribe(receiver, ["deal.created"])
    webhook_services.webhook_subscription_update(subscription=subscription, is_active=False)
    webhook_services.invalidate_active_events()

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert receiver.requests == []


def test_intake_sends_lead_received_and_deal_created(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["lead.received", "deal.created"])
    client = TokenClient(org.manager, team=org.east)

    with django_capture_on_commit_callbacks(execute=True):
        client.post({"leads": [lead(1), lead(2)]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post({"leads": [lead(1), lead(2, amount="5.00")]})  # one unchanged, one updated

    events = sorted(r.headers["x-salesladder-event"] for r in receiver.requests)
    assert events == ["deal.created", "deal.created", "lead.received", "lead.received", "lead.received"]
    assert all(signed_ok(r) for r in receiver.requests)


def test_admins_manage_subscriptions_and_read_the_delivery_log(org, receiver, django_capture_on_commit_callbacks):
    admin = APIClient()
    admin.force_login(org.admin)

    created = admin.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["deal.created"], "description": "CRM sync"}, format="json"
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert len(secret) >= 32
    sub_id = created.json()["id"]
    assert "secret" not in admin.get(f"/api/v1/webhooks/{sub_id}/").json()

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    (request,) = receiver.requests
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-salesladder-signature"] == expected
    log = admin.get(f"/api/v1/webhooks/{sub_id}/deliveries/").json()["results"]
    assert [(d["event"], d["status"], d["response_code"], d["attempts"]) for d in log] == [
        ("deal.created", "succeeded", 200, 1)
    ]

    assert admin.patch(f"/api/v1/webhooks/{sub_id}/", {"active": False}, format="json").json()["active"] is False
    assert admin.delete(f"/api/v1/webhooks/{sub_id}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_subscriptions_validate_url_and_events(org):
    admin = APIClient()
    admin.force_login(org.admin)

    response = admin.post("/api/v1/webhooks/", {"url": "ftp://example.com", "events": ["deal.eaten"]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"events"}


@pytest.mark.parametrize("who", ["manager", "alice"])
def test_only_admins_see_webhooks(org, who):
    webhook_subscription_create(url="https://example.com/h", events=["deal.won"], actor=org.admin)
    client = APIClient()
    client.force_login(getattr(org, who))

    assert client.get("/api/v1/webhooks/").status_code == 403
    assert (
        client.post(
            "/api/v1/webhooks/", {"url": "https://x.example", "events": ["deal.won"]}, format="json"
        ).status_code
        == 403
    )


def test_the_timestamp_signature_binds_the_time_to_the_body(org, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver, ["deal.created"])
    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    (request,) = receiver.requests
    timestamp = request.headers["x-salesladder-timestamp"]
    expected = (
        "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(request.headers["x-salesladder-timestamp-signature"], expected)
    older = str(int(timestamp) - 3600).encode() + b"." + request.body  # a replay claiming another time fails
    assert request.headers["x-salesladder-timestamp-signature"] != (
        "sha256=" + hmac.new(SECRET.encode(), older, hashlib.sha256).hexdigest()
    )


def test_a_redirect_is_not_followed(org, receiver, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 1)
    subscribe(receiver, ["deal.created"])
    receiver.statuses.append(302)

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert [r.path for r in receiver.requests] == ["/hooks/salesladder"]  # no GET of the Location
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("failed", 302)
    assert "INTERNAL-SECRET" not in delivery.response_excerpt


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.1.2.3/hook",
    ],
)
def test_private_and_loopback_addresses_are_refused(org, settings, url):
    settings.SALESLADDER_WEBHOOK_ALLOW_PRIVATE = False
    admin = APIClient()
    admin.force_authenticate(org.admin)

    response = admin.post("/api/v1/webhooks/", {"url": url, "events": ["deal.created"]}, format="json")

    assert response.status_code == 400
    assert "not a public address" in response.json()["errors"]["url"][0]
    assert not WebhookSubscription.objects.exists()


def test_a_subscription_whose_host_later_points_inside_is_not_called(
    org, receiver, settings, django_capture_on_commit_callbacks
):
    subscribe(receiver, ["deal.created"])  # allowed while ALLOW_PRIVATE is on (as if DNS changed later)
    settings.SALESLADDER_WEBHOOK_ALLOW_PRIVATE = False

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "not a public address" in delivery.error


def _fake_dns(monkeypatch, answer) -> list[str]:  # type: ignore[no-untyped-def]
    """``hooks.example`` resolves to ``answer(n)`` (an address or a list of them; or it raises) at its n-th
    look-up (1, 2, …); other names as usual. Returns the list of look-ups of it, growing as they happen."""
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "hooks.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        answers = answer(len(lookups))
        return [
            info
            for a in ([answers] if isinstance(answers, str) else answers)
            for info in real_getaddrinfo(a, *args, **kwargs)
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return lookups


def _second_lookup_fails(n: int) -> str:
    if n > 1:  # a second look-up would be sent somewhere else
        raise socket.gaierror(socket.EAI_NONAME, "rebound")
    return "127.0.0.1"


def test_a_named_host_is_called_once_resolved_under_its_own_name(
    org, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """The host is resolved once per attempt (a later look-up would fail here) and called at that address,
    under the URL's host name."""
    answers = _fake_dns(monkeypatch, _second_lookup_fails)
    port = receiver.url.split(":")[2].split("/")[0]
    webhook_subscription_create(
        url=f"http://hooks.example:{port}/hooks/salesladder", events=["deal.created"], secret=SECRET, actor=None
    )
    answers.clear()  # the subscribe-time check

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.example:{port}"
    assert signed_ok(request)
    assert answers == ["hooks.example"]
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_a_rebinding_dns_answer_after_the_check_is_never_called(
    org, receiver, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The check sees a public address; a second look-up would answer loopback (where the receiver stands
    in for an internal service). The host is looked up once, so the internal service is never called."""
    port = receiver.url.split(":")[2].split("/")[0]
    webhook_subscription_create(
        url=f"http://hooks.example:{port}/hooks/salesladder", events=["deal.created"], secret=SECRET, actor=None
    )
    settings.SALESLADDER_WEBHOOK_ALLOW_PRIVATE = False
    answers = _fake_dns(monkeypatch, lambda n: "93.184.215.14" if n == 1 else "127.0.0.1")
    real_connect = socket.create_connection
    dialled: list[str] = []

    def connect(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        dialled.append(address[0])
        if address[0] == "93.184.215.14":  # the public address: no call leaves the test machine
            raise ConnectionRefusedError("refused")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 1)

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert receiver.requests == []
    assert answers == ["hooks.example"]
    assert dialled == ["93.184.215.14"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "refused" in delivery.error


@pytest.fixture
def certificate(tmp_path):
    """(certfile, keyfile): a self-signed certificate for ``hooks.example``, made by the openssl tool."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl tool (.ci/run installs it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.example",
            "-addext",
            "subjectAltName=DNS:hooks.example",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.parametrize(("host", "succeeds"), [("hooks.example", True), ("other.example", False)])
def test_https_checks_the_certificate_against_the_url_host_not_the_address(
    org, certificate, monkeypatch, django_capture_on_commit_callbacks, host, succeeds
):
    """HTTPS to the checked address: TLS still names and verifies the URL's host (SNI and certificate), so a
    certificate for another name fails even though the address is the same."""
    import ssl

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda h, *a, **k: real_getaddrinfo("127.0.0.1" if h.endswith(".example") else h, *a, **k),
    )
    trusted = ssl.create_default_context(cafile=certificate[0])
    monkeypatch.setattr(ssl, "_create_default_https_context", lambda *a, **k: trusted)
    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 1)
    with Receiver(tls=certificate) as tls_receiver:
        webhook_subscription_create(
            url=f"https://{host}:{tls_receiver.port}/hooks/salesladder",
            events=["deal.created"],
            secret=SECRET,
            actor=None,
        )
        with django_capture_on_commit_callbacks(execute=True):
            make_deal(owner=org.alice)

    delivery = WebhookDelivery.objects.get()
    if succeeds:
        (request,) = tls_receiver.requests
        assert signed_ok(request)
        assert (delivery.status, delivery.response_code) == ("succeeded", 200)
    else:
        assert tls_receiver.requests == []
        assert delivery.status == "failed"
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.error or "certificate" in delivery.error.lower()


def test_every_checked_address_is_tried_in_turn(org, receiver, monkeypatch, django_capture_on_commit_callbacks):
    """A name with several addresses, the first one dead (here 127.0.0.2, where nothing listens): the
    delivery goes on to the next, as a plain connection to the name would."""
    _fake_dns(monkeypatch, lambda n: ["127.0.0.2", "127.0.0.1"])
    port = receiver.url.split(":")[2].split("/")[0]
    webhook_subscription_create(
        url=f"http://hooks.example:{port}/hooks/salesladder", events=["deal.created"], secret=SECRET, actor=None
    )

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_proxy_variables_do_not_reroute_deliveries(org, receiver, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # discard port: a proxy there would fail the call
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    subscribe(receiver, ["deal.created"])

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_a_host_that_does_not_resolve_is_a_failed_attempt_with_a_reason(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(webhook_services, "MAX_ATTEMPTS", 1)
    webhook_subscription_create(
        url="http://no-such-host.invalid/hook", events=["deal.created"], secret=SECRET, actor=None
    )

    with django_capture_on_commit_callbacks(execute=True):
        make_deal(owner=org.alice)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("failed", None)
    assert "no-such-host.invalid does not resolve" in delivery.error


def test_a_delivery_whose_task_was_lost_is_sent_again_from_the_database(org, receiver):
    from datetime import timedelta

    from django.utils import timezone

    from pipeline.models import WebhookDeliveryStatus
    from pipeline.tasks import requeue_orphaned_webhooks

    subscription = subscribe(receiver, ["deal.created"])
    now = timezone.now()

    def pending(**fields):
        return WebhookDelivery.objects.create(
            subscription=subscription, event="deal.created", payload={"event": "deal.created"}, **fields
        )

    lost_retry = pending(attempts=2, next_attempt_at=now - timedelta(hours=3))  # retry task gone with Redis
    never_sent = pending(created_at=now - timedelta(hours=1))  # first task gone
    waiting = pending(attempts=1, next_attempt_at=now + timedelta(minutes=5))  # its retry is still queued
    fresh = pending()  # just emitted: its task is on its way

    requeued = requeue_orphaned_webhooks.delay().get()

    assert requeued == 2
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses[lost_retry.pk] == statuses[never_sent.pk] == WebhookDeliveryStatus.SUCCEEDED
    assert statuses[waiting.pk] == statuses[fresh.pk] == WebhookDeliveryStatus.PENDING
    assert len(receiver.requests) == 2
    assert requeue_orphaned_webhooks.delay().get() == 0  # nothing left to pick up
