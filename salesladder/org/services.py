"""Writes to the organisation: teams, users and their memberships."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesladder.errors import DomainError
from salesladder.org.models import ApiScope, ApiToken, Membership, Role, Team, User
from salesladder.org.selectors import rep_team, team_descendant_ids


def _taken(field: str) -> DomainError:
    messages = {
        "name": _("A team with this name already exists."),
        "username": _("A user with this username already exists."),
        "email": _("A user with this email already exists."),
    }
    return DomainError({field: [messages[field]]})


def _save_or_taken(obj: Team | User, fields: tuple[str, ...]) -> None:
    """Save a team or user. A twin that a parallel request wrote after our check makes the database refuse
    it (the case-insensitive unique constraints): answered like the check would have."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the refusal
            obj.save()
    except IntegrityError as exc:
        model = type(obj)
        for field in fields:
            value = getattr(obj, field)
            if value and model._default_manager.filter(**{f"{field}__iexact": value}).exists():
                raise _taken(field) from exc
        raise


@transaction.atomic
def team_create(*, name: str, parent: Team | None = None) -> Team:
    if Team.objects.filter(name__iexact=name).exists():
        raise _taken("name")
    team = Team(name=name, parent=parent)
    _save_or_taken(team, ("name",))
    return team


@transaction.atomic
def team_update(*, team: Team, name: str | None = None, parent: Team | None | Literal[False] = False) -> Team:
    """``parent=False`` leaves the parent alone; ``None`` makes the team top-level."""
    if name is not None and name != team.name:
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise _taken("name")
        team.name = name
    if parent is not False:
        if parent is not None and parent.pk in team_descendant_ids(team_ids=[team.pk]):
            raise DomainError({"parent": [_("A team cannot be placed under itself or one of its sub-teams.")]})
        team.parent = parent
    _save_or_taken(team, ("name",))
    return team


@transaction.atomic
def membership_set(*, user: User, team: Team, role: Role) -> Membership:
    """Put ``user`` in ``team`` with ``role``. A rep moving teams leaves their previous rep team."""
    if role == Role.REP:
        Membership.objects.filter(user=user, role=Role.REP).exclude(team=team).delete()
    membership, _ = Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
    user.__dict__.pop("_managed_team_ids", None)  # the scoping cache on this object is now out of date
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
        raise _taken("username")
    if email and User.objects.filter(email__iexact=email).exists():
        raise _taken("email")
    if role and team is None:
        raise DomainError({"team": [_("A role needs a team.")]})
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
    _save_or_taken(user, ("username", "email"))
    if team is not None:
        membership_set(user=user, team=team, role=Role(role or Role.REP))
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    team: Team | None = None,
    role: Role | str | None = None,
) -> User:
    """An HR system keeping a person in sync: names, e-mail, a new password, leaving (``is_active`` false:
    they can no longer log in and their API keys stop working) and moving (``team`` with ``role``, default
    rep: that becomes their only membership). ``None`` leaves a field alone."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if email is not None and email != user.email:
        if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise _taken("email")
        user.email = email
    for name, value in (("first_name", first_name), ("last_name", last_name), ("is_active", is_active)):
        if value is not None:
            setattr(user, name, value)
    if password:
        user.set_password(password)
    if role and team is None:
        raise DomainError({"team": [_("A role needs a team.")]})
    _save_or_taken(user, ("email",))
    if team is not None:  # a move: the person's other memberships end
        Membership.objects.filter(user=user).exclude(team=team).delete()
        membership_set(user=user, team=team, role=Role(role or Role.REP))
    return user


# --- integration tokens ----------------------------------------------------------------------

API_KEY_PREFIX = "sl_"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of ``sl_<prefix>_<secret>``, or ``None`` when the key is not shaped like ours."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, secret = key[len(API_KEY_PREFIX) :].partition("_")
    if len(prefix) != 8 or not sep or not secret:
        return None
    return prefix


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str] = (),
    team: Team | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its plain key, which is never stored and cannot be shown again.

    No scopes means a full-access token acting as ``user``. ``team`` (default: the user's team) is where
    leads pushed with the token are assigned round-robin.
    """
    name = name.strip()
    if not name:
        raise DomainError({"name": [_("This field may not be blank.")]})
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in ApiScope.values]
    if unknown:
        raise DomainError({"scopes": [_("Unknown scope %(scope)s.") % {"scope": s} for s in unknown]})
    if not user.is_active:
        raise DomainError({"user": [_("Inactive users cannot have tokens.")]})
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        team=team or rep_team(user=user),
        prefix=prefix,
        key_hash=api_key_hash(key),
        scopes=scopes,
        expires_at=expires_at,
    )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    """Revoke a token; revoking twice keeps the first revocation time."""
    if actor is not None and not actor.is_superuser and token.user_id != actor.pk:
        raise DomainError(_("You can only revoke your own tokens."))
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token
