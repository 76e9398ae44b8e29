"""``funnel/``, ``attainment/`` and ``planner/``: thin views over the computation services.

The scope comes from ``?team=`` or ``?user=`` (neither: the organisation for admins, the caller
otherwise) through ``Scope.from_params``, which answers 404 for a rep or team outside the caller's
scope. The current period is computed live; a past ``as_of`` reads the nightly snapshot.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesladder.api.schema import ErrorSerializer
from salesladder.errors import DomainError
from salesladder.org.permissions import READ_SCOPES
from targets.api import serializers as s
from targets.periods import Period
from targets.planner import plan, plan_as_dict
from targets.quota_selectors import quota_for
from targets.selectors import Scope, attainment, funnel

BAD_INPUT = OpenApiResponse(ErrorSerializer, description="Invalid parameter: field-level messages in `errors`.")
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="The rep or team is unknown or outside the caller's scope, or no snapshot exists."
)


def _scope_and_period(request: Request, query: s.serializers.Serializer) -> tuple[Scope, Period]:
    s.validated(query)
    scope = Scope.from_params(query.validated_data, viewer=request.user)  # type: ignore[arg-type]
    return scope, query.validated_data.get("period") or Period.current()


class FunnelView(APIView):
    """Entered per stage, flow conversion to the next, cohort, quota, attainment and median days (SPEC §3)."""

    required_scopes = READ_SCOPES

    @extend_schema(
        tags=["analytics"],
        operation_id="funnel_retrieve",
        parameters=[s.AnalyticsQuerySerializer],
        responses={200: s.FunnelSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        query = s.AnalyticsQuerySerializer(data=request.query_params)
        scope, period = _scope_and_period(request, query)
        result = funnel(scope=scope, period=period, as_of=query.validated_data.get("as_of"))
        return Response(s.FunnelSerializer(result.as_dict()).data)


class AttainmentView(APIView):
    """Per rep × stage: quota, entered, attainment and pace; plus the scope's totals."""

    required_scopes = READ_SCOPES

    @extend_schema(
        tags=["analytics"],
        operation_id="attainment_retrieve",
        parameters=[s.AnalyticsQuerySerializer],
        responses={200: s.AttainmentSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        query = s.AnalyticsQuerySerializer(data=request.query_params)
        scope, period = _scope_and_period(request, query)
        result = attainment(scope=scope, period=period, as_of=query.validated_data.get("as_of"))
        return Response(s.AttainmentSerializer(result.as_dict()).data)


class PlannerView(APIView):
    """Back-plan a signing goal through the scope's trailing conversion rates; flags quota ladders that
    cannot add up. Without ``signings`` the scope's signing quota for the period is the goal."""

    required_scopes = READ_SCOPES

    @extend_schema(
        tags=["analytics"],
        operation_id="planner_retrieve",
        parameters=[s.PlannerQuerySerializer],
        responses={200: s.PlanSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        query = s.PlannerQuerySerializer(data=request.query_params)
        scope, period = _scope_and_period(request, query)
        signings = query.validated_data.get("signings")
        if signings is None:
            signings = quota_for(scope=scope, period=period).get("signing")
            if signings is None:
                message = _("Give a signing goal: %(scope)s has no signing quota for %(period)s.")
                raise DomainError({"signings": [message % {"scope": scope.label, "period": period.key}]})
        result = plan(scope=scope, signings=signings, periods_back=query.validated_data["periods_back"], period=period)
        return Response(s.PlanSerializer(plan_as_dict(result)).data)
