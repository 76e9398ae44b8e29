"""Who may see what. Every scoped query in SalesLadder starts here.

- admin (superuser): everything;
- manager: every team they manage and its sub-teams, recursively, and the people and deals in them;
- rep: themselves and their own deals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from salesladder.org.models import ApiToken, Membership, Role, Team, User


def team_descendant_ids(*, team_ids: Iterable[int]) -> set[int]:
    """The given teams and all their sub-teams. Teams are few, so one query and a walk in memory."""
    roots = set(team_ids)
    if not roots:
        return set()
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in Team.objects.values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pk = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        stack.extend(children.get(pk, ()))
    return seen


def managed_team_ids(*, user: User) -> set[int]:
    """Teams the user manages, including sub-teams. Cached on the user object for the request."""
    cached = getattr(user, "_managed_team_ids", None)
    if cached is not None:
        return cached
    direct = Membership.objects.filter(user=user, role=Role.MANAGER).values_list("team_id", flat=True)
    ids = team_descendant_ids(team_ids=list(direct))
    user._managed_team_ids = ids  # type: ignore[attr-defined]
    return ids


def is_manager(*, user: User) -> bool:
    return bool(managed_team_ids(user=user))


def rep_team(*, user: User) -> Team | None:
    """The team a rep's deals are attributed to (their rep membership), else the first team they manage."""
    membership = (
        Membership.objects.filter(user=user).select_related("team").order_by("-role", "team__name").first()
    )  # "rep" sorts after "manager", so -role puts the rep membership first
    return membership.team if membership else None


def teams_visible_to(*, user: User) -> QuerySet[Team]:
    if user.is_superuser:
        return Team.objects.all()
    ids = set(managed_team_ids(user=user))
    ids.update(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    return Team.objects.filter(pk__in=ids)


def users_visible_to(*, user: User) -> QuerySet[User]:
    if user.is_superuser:
        return User.objects.all()
    team_ids = managed_team_ids(user=user)
    if not team_ids:
        return User.objects.filter(pk=user.pk)
    member_ids = Membership.objects.filter(team_id__in=team_ids).values("user_id")
    return User.objects.filter(Q(pk__in=member_ids) | Q(pk=user.pk))


def team_member_ids(*, team: Team, role: Role | None = Role.REP, recursive: bool = True) -> list[int]:
    team_ids = team_descendant_ids(team_ids=[team.pk]) if recursive else {team.pk}
    qs = Membership.objects.filter(team_id__in=team_ids)
    if role is not None:
        qs = qs.filter(role=role)
    return list(qs.values_list("user_id", flat=True).distinct())


def api_tokens_of(*, user: User, include_revoked: bool = True) -> QuerySet[ApiToken]:
    """A user's own integration tokens, newest first (for the profile page)."""
    qs = ApiToken.objects.filter(user=user).select_related("team")
    return qs if include_revoked else qs.filter(revoked_at__isnull=True)
