"""Targets endpoints: ``periods/``, ``targets/`` (+ ``grid/``, ``apply-template/``, ``copy-previous/``),
``templates/`` and ``tiers/`` (+ ``standings/``).

Scoping: quotas are read by their rep, by the managers of the rep's or team's teams (recursively) and by
admins; managers write their teams' reps' and teams' quotas, admins everything. A row outside the
caller's scope answers 404; a row they may read but not write answers 403. Analytics (funnel,
attainment, planner) live in ``analytics.py``.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from salesladder.api.pagination import StandardPagination
from salesladder.api.schema import ErrorSerializer
from salesladder.org.models import Team, User
from salesladder.org.permissions import READ_SCOPES, WRITE_SCOPES
from salesladder.org.selectors import is_manager
from targets.api import serializers as s
from targets.filtersets import QuotaFilterSet, TierFilterSet
from targets.models import IncentiveTier, Quota, QuotaTemplate
from targets.periods import Period, PeriodKind
from targets.planner import ladder_flags_by_rep
from targets.quota_selectors import (
    can_write_team,
    can_write_user_quota,
    period_from_key,
    quota_grid,
    quotas_visible_to,
    tiers_visible_to,
)
from targets.quota_services import (
    quota_set,
    quotas_copy_from_previous,
    quotas_set_grid,
    template_apply,
    template_create,
    template_delete,
    template_update,
    tier_delete,
    tier_set,
)
from targets.selectors.scope import Scope
from targets.standings import tier_standings

SCOPES: dict[str, list[str]] = {"read": READ_SCOPES, "write": WRITE_SCOPES}
NOT_FOUND = OpenApiResponse(ErrorSerializer, description=_("No such object, or outside the caller's scope."))
PAGE_NOT_FOUND = OpenApiResponse(ErrorSerializer, description=_("No such page (`page` beyond the last one)."))
BAD_INPUT = OpenApiResponse(ErrorSerializer, description=_("Invalid input: field-level messages in `errors`."))

# How many periods ``periods/`` lists around the current one: (before, after).
PERIOD_WINDOW = {PeriodKind.MONTH: (12, 3), PeriodKind.QUARTER: (4, 2), PeriodKind.WEEK: (8, 4)}


def _actor(request: Request) -> User:
    """The caller: ``IsAuthenticated`` (a default permission of every endpoint) has turned anonymous ones away."""
    return cast(User, request.user)


def period_dict(period: Period, current: Period) -> dict[str, Any]:
    from datetime import timedelta

    return {
        "key": period.key,
        "kind": period.kind,
        "start": period.start,
        "end": period.end - timedelta(days=1),
        "days": period.days,
        "is_current": period == current,
        "previous": period.previous().key,
        "next": period.next().key,
    }


@extend_schema(tags=["targets"])
class PeriodViewSet(viewsets.ViewSet):
    """Periods around today in the organisation's time zone; a key's start and (inclusive) end."""

    required_scopes = SCOPES
    lookup_field = "key"
    lookup_value_regex = r"[^/]+"

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=PeriodKind.values, description="Only this kind (default: all).")
        ],
        responses={200: s.PeriodSerializer(many=True), 400: BAD_INPUT},
    )
    def list(self, request: Request) -> Response:
        kind = request.query_params.get("kind")
        if kind is not None and kind not in PeriodKind.values:
            return Response(
                {"errors": {"kind": [str(_("Use month, week or quarter."))]}, "detail": "Invalid input."}, status=400
            )
        items: list[dict[str, Any]] = []
        for k, (before, after) in PERIOD_WINDOW.items():
            if kind and k != kind:
                continue
            current = Period.current(k)
            periods = current.last(before + 1)
            for _i in range(after):
                periods.append(periods[-1].next())
            items.extend(period_dict(p, current) for p in periods)
        return Response(s.PeriodSerializer(items, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "key",
                str,
                OpenApiParameter.PATH,
                pattern=s.PERIOD_PATTERN,
                description="2026-11, 2026-W48 or 2026-Q4 (W and Q in either case)",
            )
        ],
        responses={200: s.PeriodSerializer, 400: BAD_INPUT},
    )
    def retrieve(self, request: Request, key: str | None = None) -> Response:
        period = period_from_key(key)
        return Response(s.PeriodSerializer(period_dict(period, Period.current(period.kind))).data)


def _grid_payload(*, team: Team, period: Period) -> dict[str, Any]:
    rows = quota_grid(team=team, period=period)
    flags = ladder_flags_by_rep(quotas={row.user.pk: row.quotas for row in rows}, period=period)
    return {
        "period": period.key,
        "team": {"id": team.pk, "name": team.name},
        "rows": [{"user": row.user, "quotas": row.quotas, "ladder_flags": flags.get(row.user.pk, [])} for row in rows],
    }


def _require_team_writer(request: Request, team: Team | None) -> None:
    if not can_write_team(actor=_actor(request), team=team):
        raise PermissionDenied(_("Only the team's managers and admins can set these."))


@extend_schema(tags=["targets"])
@extend_schema_view(
    list=extend_schema(
        description="Quota rows the caller may see; filter by period, user, team, stage.",
        responses={200: s.QuotaSerializer(many=True), 404: PAGE_NOT_FOUND},
    ),
    create=extend_schema(
        request=s.QuotaWriteSerializer,
        responses={201: s.QuotaSerializer, 200: s.QuotaSerializer},
        description="Set one cell (upsert): `201` when created, `200` when an existing cell was changed.",
    ),
    partial_update=extend_schema(request=s.QuotaValueSerializer, responses=s.QuotaSerializer),
    update=extend_schema(request=s.QuotaValueSerializer, responses=s.QuotaSerializer),
)
class QuotaViewSet(viewsets.ModelViewSet):
    queryset = Quota.objects.none()
    lookup_value_regex = r"[^/]+"  # any id reaches get_object(): a malformed one is a JSON 404, not Django's page
    serializer_class = s.QuotaSerializer
    filterset_class = QuotaFilterSet
    required_scopes = SCOPES
    ordering_fields = ["period", "stage", "value", "updated_at", "id"]
    ordering = ["period", "id"]

    def get_queryset(self) -> QuerySet[Quota]:
        return quotas_visible_to(user=_actor(self.request)).order_by("period", "id")

    def _check_write(self, quota: Quota) -> None:
        user = _actor(self.request)
        allowed = (
            can_write_user_quota(actor=user, user=quota.user)
            if quota.user is not None
            else can_write_team(actor=user, team=quota.team)
        )
        if not allowed:
            raise PermissionDenied(_("Only the rep's managers and admins can change this quota."))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.QuotaWriteSerializer(data=request.data, context={"request": request})
        s.validated(data)
        v = data.validated_data
        user, team = v.get("user"), v.get("team")
        if user is not None and not can_write_user_quota(actor=_actor(request), user=user):
            raise PermissionDenied(_("Only the rep's managers and admins can set their quotas."))
        if team is not None:
            _require_team_writer(request, team)
        owner = {"user": user} if user is not None else {"team": team}
        existed = Quota.objects.filter(period=v["period"].key, stage=v["stage"], **owner).exists()
        quota = quota_set(period=v["period"], stage=v["stage"], value=v["value"], actor=_actor(request), **owner)
        return Response(
            s.QuotaSerializer(quota).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quota = self.get_object()
        self._check_write(quota)
        data = s.QuotaValueSerializer(data=request.data)
        s.validated(data)
        quota = quota_set(
            period=quota.period,
            stage=quota.stage,
            value=data.validated_data["value"],
            user=quota.user,
            team=quota.team,
            actor=_actor(request),
        )
        return Response(s.QuotaSerializer(quota).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quota = self.get_object()
        self._check_write(quota)
        quota_set(
            period=quota.period, stage=quota.stage, value=None, user=quota.user, team=quota.team, actor=_actor(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        parameters=[s.GridQuerySerializer],
        responses={200: s.GridSerializer, 400: BAD_INPUT},
        description="Reps × stages of a team (with sub-teams) for a period (default: the current month).",
    )
    @extend_schema(
        methods=["POST"],
        request=s.GridWriteSerializer,
        responses={200: s.GridSerializer, 400: BAD_INPUT},
        description='Set many cells at once; all or nothing. `null` clears a cell. Errors keyed "<user>.<stage>".',
    )
    @action(detail=False, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def grid(self, request: Request) -> Response:
        if request.method == "GET":
            query = s.GridQuerySerializer(data=request.query_params, context={"request": request})
            s.validated(query)
            period = query.validated_data.get("period") or Period.current()
            team = query.validated_data["team"]
            return Response(s.GridSerializer(_grid_payload(team=team, period=period)).data)
        data = s.GridWriteSerializer(data=request.data, context={"request": request})
        s.validated(data)
        team = data.validated_data["team"]
        _require_team_writer(request, team)
        period = data.validated_data["period"]
        quotas_set_grid(period=period, team=team, grid=data.validated_data["grid"], actor=_actor(request))
        return Response(s.GridSerializer(_grid_payload(team=team, period=period)).data)

    @extend_schema(request=s.ApplyTemplateSerializer, responses={200: s.GridSerializer, 400: BAD_INPUT})
    @action(detail=False, methods=["post"], url_path="apply-template", filterset_class=None, pagination_class=None)
    def apply_template(self, request: Request) -> Response:
        """Give every rep of the team and its sub-teams the template's quotas (default ladder if omitted)."""
        data = s.ApplyTemplateSerializer(data=request.data, context={"request": request})
        s.validated(data)
        team, period = data.validated_data["team"], data.validated_data["period"]
        _require_team_writer(request, team)
        template_apply(period=period, team=team, template=data.validated_data.get("template"), actor=_actor(request))
        return Response(s.GridSerializer(_grid_payload(team=team, period=period)).data)

    @extend_schema(request=s.CopyPreviousSerializer, responses={200: s.CopyResultSerializer, 400: BAD_INPUT})
    @action(detail=False, methods=["post"], url_path="copy-previous", filterset_class=None, pagination_class=None)
    def copy_previous(self, request: Request) -> Response:
        """Copy the previous period's quotas of the team, its sub-teams and their reps into ``period``."""
        data = s.CopyPreviousSerializer(data=request.data, context={"request": request})
        s.validated(data)
        team, period = data.validated_data["team"], data.validated_data["period"]
        _require_team_writer(request, team)
        copied = quotas_copy_from_previous(period=period, team=team, actor=_actor(request))
        return Response(s.CopyResultSerializer({**_grid_payload(team=team, period=period), "copied": copied}).data)


@extend_schema(tags=["targets"])
@extend_schema_view(
    list=extend_schema(responses={200: s.TemplateSerializer(many=True), 404: PAGE_NOT_FOUND}),
    create=extend_schema(request=s.TemplateWriteSerializer, responses={201: s.TemplateSerializer, 400: BAD_INPUT}),
    partial_update=extend_schema(request=s.TemplatePatchSerializer, responses={200: s.TemplateSerializer}),
)
class TemplateViewSet(viewsets.ModelViewSet):
    """Quota templates: everyone reads them; managers and admins add custom ones; only admins edit the default."""

    queryset = QuotaTemplate.objects.none()
    lookup_value_regex = r"[^/]+"
    serializer_class = s.TemplateSerializer
    required_scopes = SCOPES
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = None
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["-is_default", "name"]

    def get_queryset(self) -> QuerySet[QuotaTemplate]:
        return QuotaTemplate.objects.prefetch_related("lines").order_by("-is_default", "name")

    def _check_write(self, template: QuotaTemplate | None = None) -> None:
        user = _actor(self.request)
        if user.is_superuser:
            return
        if template is not None and template.is_default:
            raise PermissionDenied(_("Only admins can change the default ladder."))
        if not is_manager(user=user):
            raise PermissionDenied(_("Only managers and admins can manage templates."))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._check_write()
        data = s.TemplateWriteSerializer(data=request.data)
        s.validated(data)
        template = template_create(actor=_actor(request), **data.validated_data)
        template = self.get_queryset().get(pk=template.pk)
        return Response(s.TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        self._check_write(template)
        data = s.TemplatePatchSerializer(data=request.data)
        s.validated(data)
        template_update(template=template, actor=_actor(request), **data.validated_data)
        return Response(s.TemplateSerializer(self.get_queryset().get(pk=template.pk)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        self._check_write(template)
        template_delete(template=template, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TierPagination(StandardPagination):
    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["properties"]["standings"] = {
            "type": "object",
            "description": "Only with `?standings=1`: each rep's standing (see `tiers/standings/`).",
        }
        return result


STANDINGS_PARAMS = [
    OpenApiParameter(
        "period",
        str,
        pattern=s.PERIOD_PATTERN,
        description="2026-11, 2026-W48 or 2026-Q4 (W and Q in either case); default: the current month.",
    ),
    OpenApiParameter("team", int, description="Team id (its reps and sub-teams' reps)."),
    OpenApiParameter("user", str, description="Rep id or username."),
]


def standings_payload(request: Request, period: Period) -> dict[str, Any]:
    scope = Scope.from_params(request.query_params, viewer=_actor(request))
    tiers, rows = tier_standings(scope=scope, period=period)

    def ref(tier: IncentiveTier | None) -> dict[str, Any] | None:
        if tier is None:
            return None
        return {"id": tier.pk, "name": tier.name, "threshold": tier.threshold, "reward": tier.reward}

    return {
        "period": period.key,
        "scope": scope.as_dict(),
        "tiers": tiers,
        "rows": [
            {
                "user": r.user,
                "username": r.username,
                "measure": r.measure,
                "value": r.standing.value,
                "reached": ref(r.standing.reached),
                "next": ref(r.standing.next),
                "gap": r.standing.gap,
            }
            for r in rows
        ],
    }


@extend_schema(tags=["targets"])
@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "standings", OpenApiTypes.BOOL, description="Add each rep's standing (scope: `team`/`user`)."
            ),
            OpenApiParameter("user", str, description="With `standings`: the rep whose standing to add."),
        ],
        responses={200: s.TierSerializer(many=True), 404: PAGE_NOT_FOUND},
    ),
    create=extend_schema(request=s.TierWriteSerializer, responses={201: s.TierSerializer, 400: BAD_INPUT}),
    partial_update=extend_schema(request=s.TierWriteSerializer, responses={200: s.TierSerializer}),
)
class TierViewSet(viewsets.ModelViewSet):
    """Incentive tiers per period: organisation-wide (admins write) or per team (its managers write)."""

    queryset = IncentiveTier.objects.none()
    lookup_value_regex = r"[^/]+"
    serializer_class = s.TierSerializer
    filterset_class = TierFilterSet
    pagination_class = TierPagination
    required_scopes = SCOPES
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering_fields = ["period", "threshold", "id"]
    ordering = ["period", "measure", "threshold", "id"]

    def get_queryset(self) -> QuerySet[IncentiveTier]:
        return tiers_visible_to(user=_actor(self.request)).order_by("period", "measure", "threshold", "id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        if str(request.query_params.get("standings", "")).lower() in ("1", "true", "yes"):
            period = period_from_key(request.query_params["period"]) if request.query_params.get("period") else None
            payload = standings_payload(request, period or Period.current())
            response.data["standings"] = s.StandingsSerializer(payload).data
        return response

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.TierWriteSerializer(data=request.data, context={"request": request})
        s.validated(data)
        _require_team_writer(request, data.validated_data.get("team"))
        tier = tier_set(actor=_actor(request), **data.validated_data)
        return Response(s.TierSerializer(tier).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tier = self.get_object()
        _require_team_writer(request, tier.team)
        data = s.TierWriteSerializer(data=request.data, context={"request": request}, partial=True)
        s.validated(data)
        v = data.validated_data
        team = v["team"] if "team" in v else tier.team
        if team != tier.team:
            _require_team_writer(request, team)
        tier = tier_set(
            tier=tier,
            period=v.get("period") or tier.period,
            team=team,
            measure=v.get("measure", tier.measure),
            threshold=v.get("threshold", tier.threshold),
            name=v.get("name", tier.name),
            reward=v.get("reward", tier.reward),
            actor=_actor(request),
        )
        return Response(s.TierSerializer(tier).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tier = self.get_object()
        _require_team_writer(request, tier.team)
        tier_delete(tier=tier, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=STANDINGS_PARAMS, responses={200: s.StandingsSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def standings(self, request: Request) -> Response:
        """Each rep's signings and won amount against the tiers that apply: tier reached, next tier, gap."""
        key = request.query_params.get("period")
        period = period_from_key(key) if key else Period.current()
        return Response(s.StandingsSerializer(standings_payload(request, period)).data)
