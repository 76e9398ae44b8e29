"""Writes to the organisation: teams, users and their memberships."""

from __future__ import annotations

from django.db import transaction

from salesladder.errors import DomainError
from salesladder.org.models import Membership, Role, Team, User
from salesladder.org.selectors import team_descendant_ids


@transaction.atomic
def team_create(*, name: str, parent: Team | None = None) -> Team:
    if Team.objects.filter(name__iexact=name).exists():
        raise DomainError({"name": ["A team with this name already exists."]})
    return Team.objects.create(name=name, parent=parent)


@transaction.atomic
def team_update(*, team: Team, name: str | None = None, parent: Team | None | bool = False) -> Team:
    """``parent=False`` leaves the parent alone; ``None`` makes the team top-level."""
    if name is not None and name != team.name:
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise DomainError({"name": ["A team with this name already exists."]})
        team.name = name
    if parent is not False:
        if parent is not None and parent.pk in team_descendant_ids(team_ids=[team.pk]):
            raise DomainError({"parent": ["A team cannot be placed under itself or one of its sub-teams."]})
        team.parent = parent  # type: ignore[assignment]
    team.save()
    return team


@transaction.atomic
def membership_set(*, user: User, team: Team, role: Role) -> Membership:
    """Put ``user`` in ``team`` with ``role``. A rep moving teams leaves their previous rep team."""
    if role == Role.REP:
        Membership.objects.filter(user=user, role=Role.REP).exclude(team=team).delete()
    membership, _ = Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
    return membership


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    team: Team | None = None,
    role: Role | str | None = None,
    first_name: str = "",
    last_name: str = "",
    is_superuser: bool = False,
) -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError({"username": ["A user with this username already exists."]})
    if email and User.objects.filter(email__iexact=email).exists():
        raise DomainError({"email": ["A user with this email already exists."]})
    if role and team is None:
        raise DomainError({"team": ["A role needs a team."]})
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if team is not None:
        membership_set(user=user, team=team, role=Role(role or Role.REP))
    return user
