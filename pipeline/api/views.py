"""Pipeline endpoints. Every queryset starts from the scoping selectors: out of scope is 404 on detail and
absent from lists. Writes go through the services with channel ``api``."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline.api.deal_count import COUNT_TTL, deal_count_key
from pipeline.api.deal_list import (
    DealRows,
    deal_list_queryset,
    deal_list_rows,
    page_shape,
    shape_validated,
    validated,
)
from pipeline.api.serializers import (
    AccountSerializer,
    AccountWriteSerializer,
    ActivityCreateSerializer,
    ActivitySerializer,
    ContactSerializer,
    ContactWriteSerializer,
    DealCreateSerializer,
    DealLoseSerializer,
    DealMoveSerializer,
    DealSerializer,
    DealUpdateSerializer,
    StageTransitionSerializer,
)
from pipeline.filtersets import AccountFilterSet, ActivityFilterSet, ContactFilterSet, DealFilterSet
from pipeline.models import Account, Activity, Channel, Contact, Deal
from pipeline.selectors import (
    accounts_visible_to,
    activities_visible_to,
    contacts_visible_to,
    deals_visible_to,
)
from pipeline.services import (
    account_create,
    account_update,
    activity_complete,
    activity_log,
    contact_create,
    contact_update,
    deal_create,
    deal_lose,
    deal_move,
    deal_reopen,
    deal_update,
)
from salesladder.api.pagination import CachedCountPaginator
from salesladder.api.schema import CONFLICT
from salesladder.errors import DomainError

WRITE_METHODS = ["get", "post", "patch", "head", "options"]


class _ScopedViewSet(viewsets.GenericViewSet):
    http_method_names = WRITE_METHODS

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"request": self.request, **extra}


@extend_schema(tags=["accounts"])
@extend_schema_view(
    create=extend_schema(request=AccountWriteSerializer, responses={201: AccountSerializer}),
    partial_update=extend_schema(request=AccountWriteSerializer, responses=AccountSerializer),
)
class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    _ScopedViewSet,
):
    """Companies: those the caller's people own or have a visible deal with (admins: all)."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet[Account]:
        return accounts_visible_to(user=self.request.user).order_by("name", "id")  # type: ignore[arg-type]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = AccountWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = account_create(owner=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        data = AccountWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        account = account_update(account=account, **data.validated_data)
        return Response(AccountSerializer(account).data)


@extend_schema(tags=["contacts"])
@extend_schema_view(
    create=extend_schema(request=ContactWriteSerializer, responses={201: ContactSerializer}),
    partial_update=extend_schema(request=ContactWriteSerializer, responses=ContactSerializer),
)
class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    _ScopedViewSet,
):
    """Contact people of the visible accounts."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet[Contact]:
        return contacts_visible_to(user=self.request.user).order_by("name", "id")  # type: ignore[arg-type]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ContactWriteSerializer(data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        contact = contact_create(**data.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        data = ContactWriteSerializer(data=request.data, partial=True, context=self.context())
        data.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, **data.validated_data)
        return Response(ContactSerializer(contact).data)


@extend_schema(tags=["deals"])
@extend_schema_view(
    list=extend_schema(
        description=(
            "The deals the caller may see, newest change first. `count` is cached for up to "
            f"{COUNT_TTL} seconds per caller and filters: a deal created (also by lead intake or import), edited, "
            "moved or deleted normally shows in it at once; stale-flag updates and team changes within those "
            "seconds. The rows are always current."
        )
    ),
    create=extend_schema(request=DealCreateSerializer, responses={201: DealSerializer}),
    partial_update=extend_schema(
        request=DealUpdateSerializer,
        responses=DealSerializer,
        description="Edit fields. `stage` and `status` are refused (400): use move/, lose/ and reopen/.",
    ),
)
class DealViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    _ScopedViewSet,
):
    """Deals the caller may see: a rep their own, a manager their teams' (sub-teams included), admins all."""

    serializer_class = DealSerializer
    filterset_class = DealFilterSet
    ordering_fields = [
        "created_at",
        "updated_at",
        "stage_entered_at",
        "amount",
        "expected_close_date",
        "title",
        "id",
    ]
    ordering = ["-updated_at", "-id"]

    def get_queryset(self) -> QuerySet[Deal]:
        return deal_list_queryset(deals_visible_to(user=self.request.user))  # type: ignore[arg-type]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Two queries whatever the number of deals: the count on the deal table alone (cached briefly, see
        # deal_count), then the page as tuples with the names, rendered in DealSerializer's shape.
        # A request of a known shape (deal_list.page_shape) reuses its page statement and builds the filtered
        # queryset only if the count is not cached; any other is filtered (and its filters validated) first.
        built: list[QuerySet[Deal]] = []

        def deals() -> QuerySet[Deal]:
            if not built:
                built.append(self.filter_queryset(deals_visible_to(user=request.user)))  # type: ignore[arg-type]
            return built[0]

        shape = page_shape(user=request.user, params=request.query_params)  # type: ignore[arg-type]
        if not shape_validated(shape):
            deals()
            validated(shape)
        self.paginator.django_paginator_class = partial(  # type: ignore[union-attr]
            CachedCountPaginator,
            count_queryset=deals,
            key=deal_count_key(user=request.user, params=request.query_params),  # type: ignore[arg-type]
            timeout=COUNT_TTL,
        )
        page = self.paginate_queryset(DealRows(deals, shape))  # type: ignore[arg-type]
        return self.get_paginated_response(deal_list_rows(page))  # type: ignore[arg-type]

    def _answer(self, deal: Deal, code: int = status.HTTP_200_OK) -> Response:
        deal = self.get_queryset().get(pk=deal.pk)
        return Response(DealSerializer(deal).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DealCreateSerializer(data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        try:
            deal = deal_create(
                title=fields.pop("title"),
                account=fields.pop("account"),
                owner=fields.pop("owner"),
                team=fields.pop("team", None),
                stage=fields.pop("stage", "prep"),
                actor=request.user,  # type: ignore[arg-type]
                channel=Channel.API,
                **fields,
            )
        except IntegrityError as exc:  # a concurrent request took the same (source, external_id)
            raise DomainError(
                {"external_id": [_("A deal from this source with this external id already exists.")]}
            ) from exc
        return self._answer(deal, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.get_object()
        data = DealUpdateSerializer(deal, data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        try:
            deal = deal_update(deal=deal, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        except IntegrityError as exc:
            raise DomainError(
                {"external_id": [_("A deal from this source with this external id already exists.")]}
            ) from exc
        return self._answer(deal)

    @extend_schema(
        request=DealMoveSerializer,
        responses={200: DealSerializer, 409: CONFLICT},
        description=(
            "Move the deal to `to_stage`. Forward moves check the gates of every rung passed (400 with "
            "field errors; gate fields sent in the same request are applied first, atomically). "
            "409 when `expected_stage` is given and the deal is no longer there."
        ),
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        data = DealMoveSerializer(data=request.data, context=self.context(deal=deal))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        deal = deal_move(
            deal=deal,
            to_stage=fields.pop("to_stage"),
            expected_stage=fields.pop("expected_stage", None),
            actor=request.user,  # type: ignore[arg-type]
            channel=Channel.API,
            fields=fields,
        )
        return self._answer(deal)

    @extend_schema(
        request=DealLoseSerializer,
        responses={200: DealSerializer, 409: CONFLICT},
        description=(
            "Mark an open deal lost with a reason code and an optional note: `reason` and `note`, or "
            "`lost_reason` and `lost_note` as the deal shows them (either name; both with different values is "
            "a 400 on the `lost_…` field)."
        ),
    )
    @action(detail=True, methods=["post"])
    def lose(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        data = DealLoseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deal = deal_lose(
            deal=deal,
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
            expected_stage=data.validated_data.get("expected_stage"),
            actor=request.user,  # type: ignore[arg-type]
            channel=Channel.API,
        )
        return self._answer(deal)

    @extend_schema(
        request=None, responses=DealSerializer, description="Reopen a lost deal in the stage it was lost from."
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        deal = deal_reopen(deal=self.get_object(), actor=request.user, channel=Channel.API)  # type: ignore[arg-type]
        return self._answer(deal)

    @extend_schema(
        responses=StageTransitionSerializer(many=True),
        filters=False,
        description="The deal's stage history, oldest first: one row per rung passed, loss and reopening.",
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None, ordering_fields=[])
    def transitions(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        rows = deal.transitions.order_by("occurred_at", "pk")
        return Response(StageTransitionSerializer(rows, many=True).data)


@extend_schema(tags=["activities"])
@extend_schema_view(create=extend_schema(request=ActivityCreateSerializer, responses={201: ActivitySerializer}))
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _ScopedViewSet):
    """Calls, emails, meetings, notes and tasks on the visible deals. Tasks stay open until completed."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilterSet
    http_method_names = ["get", "post", "head", "options"]
    ordering_fields = ["created_at", "due_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Activity]:
        return activities_visible_to(user=self.request.user)  # type: ignore[arg-type]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ActivityCreateSerializer(data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        activity = activity_log(actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: OpenApiResponse(ActivitySerializer, description="The activity, now done.")},
        description="Mark a task done (completing twice is harmless).",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        activity = activity_complete(activity=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return Response(ActivitySerializer(activity).data)
