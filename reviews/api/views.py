"""Review endpoints. Querysets start from ``reviews_visible_to`` (out of scope or a rep's own draft: 404);
every write calls a service, which decides what the caller's role may do."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from reviews.api.serializers import (
    ActionItemCreateSerializer,
    ActionItemSerializer,
    ActionItemUpdateSerializer,
    CompletionQuerySerializer,
    CompletionSerializer,
    HistoryEntrySerializer,
    ReviewAcknowledgeSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
)
from reviews.filtersets import ActionItemFilterSet, ReviewFilterSet, parse_period_param
from reviews.models import ActionItem, Review
from reviews.selectors import action_items_visible_to, review_history, reviews_completion, reviews_for_list
from reviews.services import (
    action_item_add,
    action_item_complete,
    action_item_update,
    review_acknowledge,
    review_close,
    review_share,
    review_update,
)
from salesladder.api.schema import ErrorSerializer
from salesladder.org.models import ApiScope
from salesladder.org.selectors import is_manager, teams_visible_to

READ = [ApiScope.DEALS_READ, ApiScope.DEALS_WRITE]
WRITE = [ApiScope.DEALS_WRITE]
SCOPES = {"read": READ, "write": WRITE}
STEP_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Wrong status (`status`) or a missing field (`rating`)."),
    403: OpenApiResponse(ErrorSerializer, description="The caller's role may not take this step."),
}


@extend_schema(tags=["reviews"])
@extend_schema_view(
    list=extend_schema(description="Reviews the caller may see. A rep sees their own once shared."),
    partial_update=extend_schema(
        request=ReviewUpdateSerializer,
        responses={200: ReviewSerializer, **STEP_ERRORS},
        description="The manager edits `rating` (1–5), `strengths`, `improvements`, `manager_comment` "
        "(draft or shared); the rep edits `rep_comment` only (shared or acknowledged). Any other field, "
        "or a field of the other role, is a 400 on that field.",
    ),
)
class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReviewSerializer
    filterset_class = ReviewFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["period", "status", "updated_at", "id"]
    ordering = ["-period", "user__username", "id"]
    required_scopes = SCOPES

    def get_queryset(self) -> QuerySet[Review]:
        return reviews_for_list(user=self.request.user)  # type: ignore[arg-type]

    def _answer(self, review: Review, code: int = status.HTTP_200_OK) -> Response:
        review = self.get_queryset().get(pk=review.pk)
        return Response(ReviewSerializer(review).data, status=code)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        review = self.get_object()
        data = ReviewUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(review_update(review=review, actor=request.user, **data.validated_data))  # type: ignore[arg-type]

    @extend_schema(request=None, responses={200: ReviewSerializer, **STEP_ERRORS})
    @action(detail=True, methods=["post"])
    def share(self, request: Request, pk: str | None = None) -> Response:
        """The manager shares a rated draft with the rep."""
        return self._answer(review_share(review=self.get_object(), actor=request.user))  # type: ignore[arg-type]

    @extend_schema(request=ReviewAcknowledgeSerializer, responses={200: ReviewSerializer, **STEP_ERRORS})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """The rep acknowledges a shared review, optionally with a last comment."""
        review = self.get_object()
        data = ReviewAcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(review_acknowledge(review=review, actor=request.user, **data.validated_data))  # type: ignore[arg-type]

    @extend_schema(request=None, responses={200: ReviewSerializer, **STEP_ERRORS})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """The manager closes a review the rep has acknowledged."""
        return self._answer(review_close(review=self.get_object(), actor=request.user))  # type: ignore[arg-type]

    @extend_schema(responses={200: HistoryEntrySerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Every change to the review and its action items: who, when, which fields (old → new).

        The rep sees the history from the moment the review was shared: the manager's drafting is theirs."""
        entries = review_history(review=self.get_object(), viewer=request.user)  # type: ignore[arg-type]
        return Response(HistoryEntrySerializer(entries, many=True).data)

    @extend_schema(
        request=ActionItemCreateSerializer,
        responses={201: ActionItemSerializer, **STEP_ERRORS},
        operation_id="reviews_action_items_create",
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request: Request, pk: str | None = None) -> Response:
        """The manager adds an action item (text, optional due date) to a review that is not closed."""
        review = self.get_object()
        data = ActionItemCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = action_item_add(review=review, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period",
                str,
                required=True,
                pattern=r"^\d{4}-(0[1-9]|1[0-2]|[Ww](0[1-9]|[1-4]\d|5[0-3])|[Qq][1-4])$",
                description="A month (2026-10), ISO week (2026-W44) or quarter (2026-Q3); W and Q in either case.",
            ),
            OpenApiParameter("team", int, required=False, description="A team; its sub-teams are included."),
        ],
        responses={
            200: CompletionSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Missing or malformed `period`, or an unknown `team`."),
            403: OpenApiResponse(ErrorSerializer, description="Only managers and admins see completion."),
        },
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def completion(self, request: Request) -> Response:
        """How far each team got with the period's reviews (drafted, shared, acknowledged, closed)."""
        user = request.user
        if not (user.is_superuser or is_manager(user=user)):  # type: ignore[arg-type]
            raise PermissionDenied(_("Only managers and admins see review completion."))
        query = CompletionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = parse_period_param(query.validated_data["period"])
        team = None
        if "team" in query.validated_data:
            team = teams_visible_to(user=user).filter(pk=query.validated_data["team"]).first()  # type: ignore[arg-type]
            if team is None:
                raise ValidationError({"team": [_("No such team.")]})
        rows = reviews_completion(period=period.key, team=team, user=user)  # type: ignore[arg-type]
        return Response(CompletionSerializer({"period": period.key, "teams": rows}).data)


@extend_schema(tags=["reviews"])
@extend_schema_view(
    partial_update=extend_schema(
        request=ActionItemUpdateSerializer,
        responses={200: ActionItemSerializer, **STEP_ERRORS},
        description="The manager edits `text` and `due_date`; the manager or the rep sets `done`.",
    ),
)
class ActionItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Action items of the reviews the caller may see."""

    serializer_class = ActionItemSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_class = ActionItemFilterSet
    ordering_fields = ["due_date", "id"]
    ordering = ["due_date", "id"]
    required_scopes = SCOPES

    def get_queryset(self) -> QuerySet[ActionItem]:
        return action_items_visible_to(user=self.request.user)  # type: ignore[arg-type]

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        data = ActionItemUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = action_item_update(item=item, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(ActionItemSerializer(item).data)

    @extend_schema(request=None, responses={200: ActionItemSerializer, **STEP_ERRORS})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Mark the action item done (the manager or the rep)."""
        item = action_item_complete(item=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return Response(ActionItemSerializer(item).data)
