"""``funnel/``, ``attainment/``, ``planner/``, ``outcomes/``, ``pipeline-value/`` and ``stage-win-rates/``:
thin views over the computation services.

The scope comes from ``?team=`` or ``?user=`` (neither: the organisation for admins, the team a
manager leads, the caller otherwise) through ``Scope.from_params``, which answers 404 for a rep or
team outside the caller's scope. The current period is computed live; a past ``as_of`` reads the nightly snapshot.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesladder.api.schema import ErrorSerializer
from salesladder.errors import DomainError
from salesladder.org.permissions import READ_SCOPES
from targets.api import serializers as s
from targets.dashboard import lost_reason_rows
from targets.periods import Period, org_today
from targets.planner import plan, plan_as_dict
from targets.quota_selectors import quota_for
from targets.selectors import Scope, attainment, funnel
from targets.selectors.outcomes import WIN_RATE_DRIFT_POINTS, outcomes, stage_win_rates, weighted_pipeline

BAD_INPUT = OpenApiResponse(ErrorSerializer, description="Invalid parameter: field-level messages in `errors`.")
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="The rep or team is unknown or outside the caller's scope, or no snapshot exists."
)


def _scope(request: Request, query: s.serializers.Serializer) -> Scope:
    """The validated ``?team=`` / ``?user=`` as a scope the caller may see (400 / 404 otherwise)."""
    s.validated(query)
    return Scope.from_params(query.validated_data, viewer=request.user)  # type: ignore[arg-type]


def _scope_and_period(request: Request, query: s.serializers.Serializer) -> tuple[Scope, Period]:
    return _scope(request, query), query.validated_data.get("period") or Period.current()


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


class OutcomesView(APIView):
    """Deals won and lost in the period (by their owner at closing), won amount, win rate and the mix of
    lost reasons (SPEC §3), computed live up to the end of ``as_of``."""

    required_scopes = READ_SCOPES

    @extend_schema(
        tags=["analytics"],
        operation_id="outcomes_retrieve",
        parameters=[s.OutcomesQuerySerializer],
        responses={200: s.OutcomesSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        query = s.OutcomesQuerySerializer(data=request.query_params)
        scope, period = _scope_and_period(request, query)
        as_of = min(query.validated_data.get("as_of") or org_today(), org_today())
        result = outcomes(scope=scope, period=period, as_of=as_of)
        body = {
            "period": period.key,
            "scope": scope.as_dict(),
            "as_of": as_of,
            "won_count": result.won_count,
            "won_amount": result.won_amount,
            "lost_count": result.lost_count,
            "win_rate": result.win_rate,
            "lost_reasons": [  # (a loss without a reason: code null, as the schema says)
                {"code": code or None, "label": label, "deals": n}
                for code, label, n in lost_reason_rows(result.lost_reasons)
            ],
        }
        return Response(s.OutcomesSerializer(body).data)


class PipelineValueView(APIView):
    """The scope's open deals now: Σ amount × stage probability by expected close month (SPEC §3)."""

    required_scopes = READ_SCOPES

    @extend_schema(
        tags=["analytics"],
        operation_id="pipeline_value_retrieve",
        parameters=[s.ScopeQuerySerializer],
        responses={200: s.PipelineValueSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        scope = _scope(request, s.ScopeQuerySerializer(data=request.query_params))
        by_month = weighted_pipeline(scope=scope)
        body = {
            "scope": scope.as_dict(),
            "months": [{"month": month or None, "weighted_amount": value} for month, value in by_month.items()],
            "total": sum(by_month.values(), Decimal("0.00")),
        }
        return Response(s.PipelineValueSerializer(body).data)


class StageWinRatesView(APIView):
    """Each rung's observed win rate — of the scope's closed deals that reached it, the share won — next to
    its configured probability, with a drift flag (SPEC §1). Scope as for ``funnel/`` (by the deals'
    current owner/team); the observed counts are at most 15 minutes old."""

    required_scopes = READ_SCOPES

    @extend_schema(
        tags=["analytics"],
        operation_id="stage_win_rates_retrieve",
        parameters=[s.ScopeQuerySerializer],
        responses={200: s.StageWinRatesSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        scope = _scope(request, s.ScopeQuerySerializer(data=request.query_params))
        rates = stage_win_rates(scope=scope)
        body = {
            "scope": scope.as_dict(),
            "drift_points": WIN_RATE_DRIFT_POINTS,
            "stages": [asdict(r) for r in rates],
        }
        return Response(s.StageWinRatesSerializer(body).data)
