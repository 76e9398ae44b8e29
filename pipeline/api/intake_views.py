"""``leads/`` (lead intake and its quarantine) and ``webhooks/`` (admin subscriptions and delivery log)."""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline.api.intake_serializers import (
    IntakeRecordSerializer,
    LeadBatchSerializer,
    LeadIntakeResponseSerializer,
    LeadSerializer,
    RoutingRuleSerializer,
    WebhookDeliverySerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionSerializer,
)
from pipeline.intake_selectors import (
    intake_records_visible_to,
    webhook_deliveries_of,
    webhook_subscriptions_visible_to,
)
from pipeline.models import IntakeRecord, IntakeStatus, RoutingRule, WebhookSubscription
from pipeline.services.idempotency import (
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from pipeline.services.intake import MAX_BATCH, intake_record_retry, lead_intake
from pipeline.services.routing import routing_rule_create, routing_rule_update
from pipeline.services.webhooks import (
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)
from salesladder.api.schema import ErrorSerializer
from salesladder.errors import DomainError
from salesladder.org.permissions import IsAdmin

# 1,000 leads of ~1 KB each fit comfortably; anything bigger is refused before it is read.
MAX_BODY_BYTES = settings.SALESLADDER_INTAKE_MAX_BODY_BYTES


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("Request too large.")
    default_code = "payload_too_large"


def _json_response(body: Any, status_code: int, *, replayed: bool = False) -> HttpResponse:
    if isinstance(body, str):
        content = body
    else:
        content = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(content, status=status_code, content_type="application/json")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _refuse_constant(name: str) -> Any:
    raise ValueError(_("%(value)s is not a JSON number") % {"value": name})


def _parse_leads(body: bytes) -> list[Any]:
    try:
        data = json.loads(body, parse_constant=_refuse_constant)  # NaN/Infinity are not JSON (RFC 8259)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError({"non_field_errors": [_("Malformed JSON: %(error)s") % {"error": exc}]}) from exc
    if isinstance(data, dict) and "leads" in data:
        items = data["leads"]
        if not isinstance(items, list):
            raise DomainError({"leads": [_("Must be a list of lead objects.")]})
    elif isinstance(data, dict):
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise DomainError({"non_field_errors": [_('Send one lead object or {"leads": [...]}.')]})
    if not items:
        raise DomainError({"leads": [_("The list of leads is empty.")]})
    if len(items) > MAX_BATCH:
        raise PayloadTooLarge(
            _("%(n)d leads in one request; at most %(max)d are accepted. Split the batch.")
            % {"n": len(items), "max": MAX_BATCH}
        )
    return items


class IntakeRecordFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=IntakeStatus.choices)
    source = django_filters.CharFilter()
    batch_id = django_filters.UUIDFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = IntakeRecord
        fields = ["status", "source", "batch_id", "created_after"]


@extend_schema(tags=["leads"])
@extend_schema_view(
    list=extend_schema(summary="Intake records (created, updated and quarantined leads) visible to the caller"),
    retrieve=extend_schema(summary="One intake record"),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Lead intake (SPEC §7). POST one lead or ``{"leads": [...]}``; GET lists intake records."""

    required_scopes = ["leads:write"]
    serializer_class = IntakeRecordSerializer
    filterset_class = IntakeRecordFilterSet
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[IntakeRecord]:
        return intake_records_visible_to(user=self.request.user).order_by("-created_at", "-id")  # type: ignore[arg-type]

    @extend_schema(
        summary="Push leads",
        description=(
            'One lead object, or `{"leads": [...]}` with at most 1,000. Each lead creates a deal in `prep` '
            "or updates the deal with the same (`source`, `external_id`). Answers 201 when a deal was "
            "created, else 200, with per-item results. Bad items are kept as `error` intake records "
            "(quarantine) while the good ones are saved. `Idempotency-Key` (≤ 255 chars, kept 24 h) replays "
            "the stored answer; the same key with another body answers 422, and 409 while the first "
            "request still runs. 413: more than 1,000 leads or a body over 5 MB."
        ),
        request=LeadBatchSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="Replay protection."
            )
        ],
        responses={
            201: LeadIntakeResponseSerializer,
            200: LeadIntakeResponseSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The same Idempotency-Key is still in flight."),
            413: OpenApiResponse(ErrorSerializer, description="More than 1,000 leads, or the body is too large."),
            415: OpenApiResponse(ErrorSerializer, description="The body is not JSON."),
            422: OpenApiResponse(ErrorSerializer, description="Idempotency-Key reused with a different body."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise PayloadTooLarge(_("The body is larger than %(max)d bytes.") % {"max": MAX_BODY_BYTES})
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise exceptions.UnsupportedMediaType(content_type or "none")
        try:
            body = request.body
        except RequestDataTooBig as exc:
            raise PayloadTooLarge(_("The body is too large.")) from exc
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(_("The body is larger than %(max)d bytes.") % {"max": MAX_BODY_BYTES})

        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self._intake(request, body)
        fingerprint = request_fingerprint(method=request.method or "POST", path=request.path, body=body)
        claim = idempotency_claim(key=key, user=request.user, token=request.auth, fingerprint=fingerprint)  # type: ignore[arg-type]
        if claim.replay:
            return _json_response(claim.row.response_body, claim.row.response_status or 200, replayed=True)
        try:
            try:
                response = self._intake(request, body)
            except DomainError as exc:  # a 400 is an answer too: replayed like a success
                response = _json_response({"errors": exc.errors, "detail": exc.message}, exc.status_code)
        except Exception:
            idempotency_release(claim=claim)  # 413 or a crash: nothing stored, the client may retry the key
            raise
        idempotency_complete(claim=claim, status=response.status_code, body=response.content.decode())
        return response

    def _intake(self, request: Request, body: bytes) -> HttpResponse:
        items = _parse_leads(body)
        result = lead_intake(items=items, actor=request.user, token=request.auth)  # type: ignore[arg-type]
        return _json_response(result.as_dict(), status.HTTP_201_CREATED if result.created_any else status.HTTP_200_OK)

    @extend_schema(
        summary="Re-run a quarantined lead with corrected fields",
        request=LeadSerializer(partial=True),
        responses={
            200: IntakeRecordSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Still invalid: field errors (and the `record`)."),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()
        fixes = request.data if isinstance(request.data, dict) else None
        if fixes is None:
            raise DomainError({"non_field_errors": [_("Send the corrected fields as a JSON object.")]})
        record = intake_record_retry(record=record, fixes=dict(fixes), actor=request.user, token=request.auth)  # type: ignore[arg-type]
        data = IntakeRecordSerializer(record).data
        if record.status == IntakeStatus.ERROR:
            return Response(
                {"errors": record.errors, "detail": _("The lead is still invalid."), "record": data},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(data)


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    create=extend_schema(responses={201: WebhookSubscriptionCreatedSerializer}),
)
class WebhookViewSet(viewsets.ModelViewSet):
    """Outbound webhook subscriptions (admins only). Deliveries are signed: ``X-SalesLadder-Signature:
    sha256=<HMAC-SHA256 of the raw body with the secret>``."""

    required_scopes: list[str] = []  # session admins, or an admin's full-access token
    serializer_class = WebhookSubscriptionSerializer
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    filterset_fields: list[str] = []

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), IsAdmin()]

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return webhook_subscriptions_visible_to(user=self.request.user).order_by("-created_at", "-id")  # type: ignore[arg-type]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = WebhookSubscriptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        partial = kwargs.pop("partial", False)
        data = WebhookSubscriptionSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        subscription = webhook_subscription_update(subscription=subscription, **data.validated_data)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhook_subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Delivery log of a subscription, newest first", responses=WebhookDeliverySerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        deliveries = webhook_deliveries_of(subscription=self.get_object())
        page = self.paginate_queryset(deliveries)
        serializer = WebhookDeliverySerializer(page if page is not None else deliveries, many=True)
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)


@extend_schema(tags=["leads"])
class RoutingRuleViewSet(viewsets.ModelViewSet):
    """Routing rules for lead intake (admins only): leads of ``source`` go to ``team``, owned round-robin or
    by a fixed ``owner``."""

    required_scopes: list[str] = []
    serializer_class = RoutingRuleSerializer
    ordering_fields = ["source", "id"]
    ordering = ["source", "id"]
    filterset_fields = ["team", "strategy"]

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), IsAdmin()]

    def get_queryset(self) -> QuerySet[RoutingRule]:
        if not self.request.user.is_superuser:
            return RoutingRule.objects.none()
        return RoutingRule.objects.order_by("source", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = RoutingRuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = routing_rule_create(**data.validated_data)
        return Response(RoutingRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        data = RoutingRuleSerializer(data=request.data, partial=kwargs.pop("partial", False))
        data.is_valid(raise_exception=True)
        rule = routing_rule_update(rule=rule, **data.validated_data)
        return Response(RoutingRuleSerializer(rule).data)
