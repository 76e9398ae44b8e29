"""Scoped reads for the pipeline. ``deals_visible_to`` is the one place that knows who sees which deal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber

from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    Contact,
    Deal,
    DealStatus,
    LostReason,
    Stage,
    StageConfig,
    StageGate,
)
from salesladder.org.models import User
from salesladder.org.selectors import managed_team_ids, users_visible_to


def deal_scope_q(*, user: User, prefix: str = "") -> Q | None:
    """The filter selecting the deals ``user`` may see (``None`` = no restriction, for admins)."""
    if user.is_superuser:
        return None
    teams = managed_team_ids(user=user)
    q = Q(**{f"{prefix}owner": user})
    if teams:
        q |= Q(**{f"{prefix}team_id__in": teams})
    return q


def deals_visible_to(*, user: User) -> QuerySet[Deal]:
    if not user.is_authenticated:
        return Deal.objects.none()
    q = deal_scope_q(user=user)
    return Deal.objects.all() if q is None else Deal.objects.filter(q)


def accounts_visible_to(*, user: User) -> QuerySet[Account]:
    """Accounts the user owns or has a visible deal with (a manager sees their team's accounts)."""
    if not user.is_authenticated:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    visible_deals = deals_visible_to(user=user).filter(account=OuterRef("pk"))
    return Account.objects.filter(Q(owner__in=users_visible_to(user=user)) | Q(Exists(visible_deals)))


def contacts_visible_to(*, user: User) -> QuerySet[Contact]:
    if not user.is_authenticated:
        return Contact.objects.none()
    if user.is_superuser:
        return Contact.objects.all()
    return Contact.objects.filter(account__in=accounts_visible_to(user=user))


def activities_visible_to(*, user: User) -> QuerySet[Activity]:
    if not user.is_authenticated:
        return Activity.objects.none()
    q = deal_scope_q(user=user, prefix="deal__")
    return Activity.objects.all() if q is None else Activity.objects.filter(q)


def stage_configs() -> dict[str, StageConfig]:
    return {c.stage: c for c in StageConfig.objects.all()}


def stage_labels(configs: dict[str, StageConfig] | None = None) -> dict[str, str]:
    """``{stage: label}`` in ladder order and the active language: the configured label, else the built-in
    one (one query, none when ``configs`` is given)."""
    configs = stage_configs() if configs is None else configs
    return {s.value: (configs[s].label if s in configs else str(s.label)) for s in Stage}


def active_gates() -> dict[str, list[tuple[str, str]]]:
    """``{stage: [(field, rule), ...]}`` for the active gates."""
    gates: dict[str, list[tuple[str, str]]] = {}
    for stage, field, rule in StageGate.objects.filter(is_active=True).values_list("stage", "field", "rule"):
        gates.setdefault(stage, []).append((field, rule))
    return gates


def lost_reasons_active() -> QuerySet[LostReason]:
    return LostReason.objects.filter(is_active=True)


# --- the pipeline board (My pipeline) ----------------------------------------------------------


def stale_q(*, configs: dict[str, StageConfig], now: datetime) -> Q:
    """Open deals flagged by the nightly job, or with no activity (never touched: since creation) for longer
    than their rung's stale days — the nightly job's clock (``targets.stale.stale_flags_update``)."""
    q = Q(is_stale=True)
    for stage, config in configs.items():
        if config.stale_days:
            cutoff = now - timedelta(days=config.stale_days)
            q |= Q(stage=stage, status=DealStatus.OPEN) & (
                Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created_at__lt=cutoff)
            )
    return q


def board_deals(
    *,
    user: User,
    now: datetime,
    configs: dict[str, StageConfig],
    won_since: datetime,
    owner_id: int | None = None,
    search: str = "",
    stale_only: bool = False,
    close_month: date | None = None,
) -> QuerySet[Deal]:
    """The deals on a board: open ones, plus the ones won since ``won_since`` (they sit in Signing).

    Lost deals are not on the board. Unordered and unannotated, so it serves both the cards and the
    per-column aggregates (``board_columns_totals``).
    """
    qs = deals_visible_to(user=user).filter(
        Q(status=DealStatus.OPEN) | Q(status=DealStatus.WON, closed_at__gte=won_since)
    )
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if search:
        qs = qs.filter(
            Q(title__icontains=search) | Q(account__name__icontains=search) | Q(contact__name__icontains=search)
        )
    if stale_only:
        qs = qs.filter(stale_q(configs=configs, now=now))
    if close_month:
        qs = qs.filter(expected_close_date__year=close_month.year, expected_close_date__month=close_month.month)
    return qs


def board_cards(*, deals: QuerySet[Deal], per_column: int | None = None, also: int | None = None) -> QuerySet[Deal]:
    """Cards with their company and next open task (earliest due) in one query; with ``per_column``, only
    the first that many of each stage (longest in the stage first: a window rank, still one query), plus
    the deal ``also`` wherever it ranks (the card just moved or added stays in view)."""
    next_task = Activity.objects.filter(deal=OuterRef("pk"), kind=ActivityKind.TASK, done_at__isnull=True).order_by(
        F("due_at").asc(nulls_last=True), "pk"
    )
    cards = (
        deals.select_related("account", "owner")
        .annotate(
            next_task_subject=Subquery(next_task.values("subject")[:1]),
            next_task_due=Subquery(next_task.values("due_at")[:1]),
            card_amount=Coalesce("contract_amount", "amount"),
        )
        .order_by("stage_entered_at", "pk")
    )
    if per_column is None:
        return cards
    rank = Window(RowNumber(), partition_by=[F("stage")], order_by=[F("stage_entered_at").asc(), F("pk").asc()])
    shown = Q(column_rank__lte=per_column) | Q(pk=also) if also else Q(column_rank__lte=per_column)
    return cards.annotate(column_rank=rank).filter(shown)


def board_column_totals(*, deals: QuerySet[Deal]) -> dict[str, dict[str, Any]]:
    """``{stage: {"count": n, "total": Decimal}}`` aggregated in the database (one GROUP BY)."""
    rows = (
        deals.order_by().values("stage").annotate(count=Count("pk"), total=Sum(Coalesce("contract_amount", "amount")))
    )
    return {row["stage"]: {"count": row["count"], "total": row["total"] or Decimal(0)} for row in rows}
