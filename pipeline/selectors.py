"""Scoped reads for the pipeline. ``deals_visible_to`` is the one place that knows who sees which deal."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from pipeline.models import Account, Activity, Contact, Deal, LostReason, StageConfig, StageGate
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


def active_gates() -> dict[str, list[tuple[str, str]]]:
    """``{stage: [(field, rule), ...]}`` for the active gates."""
    gates: dict[str, list[tuple[str, str]]] = {}
    for stage, field, rule in StageGate.objects.filter(is_active=True).values_list("stage", "field", "rule"):
        gates.setdefault(stage, []).append((field, rule))
    return gates


def lost_reasons_active() -> QuerySet[LostReason]:
    return LostReason.objects.filter(is_active=True)
