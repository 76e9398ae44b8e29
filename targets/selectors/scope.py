"""What a funnel or attainment figure is about: a rep, a team (with its sub-teams) or the organisation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from salesladder.org.selectors import managed_team_ids, team_descendant_ids
from targets.models import ScopeType

ORG_SCOPE_ID = 0  # FunnelSnapshot.scope_id of the organisation


class ScopeNotFound(DomainError):
    """The requested rep or team does not exist or is outside the caller's scope (404, never 403)."""

    status_code = 404


@dataclass(frozen=True)
class Scope:
    """``type`` is a ScopeType; ``id`` a user or team id (0 for the organisation); ``label`` for display."""

    type: str
    id: int
    label: str = field(default="", compare=False)

    @classmethod
    def org(cls) -> Scope:
        return cls(ScopeType.ORG, ORG_SCOPE_ID, str(_("Organisation")))

    @classmethod
    def for_user(cls, user: User) -> Scope:
        return cls(ScopeType.USER, user.pk, user.get_username())

    @classmethod
    def for_team(cls, team: Team) -> Scope:
        return cls(ScopeType.TEAM, team.pk, team.name)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, viewer: User | None = None) -> Scope:
        """``?user=<id|username>`` or ``?team=<id>``. Neither: the organisation for admins, the team a
        manager leads (the top one, when they lead a team and some of its sub-teams; themselves when they
        lead teams side by side, which one is theirs to say), else the viewer.

        With a ``viewer``, a rep or team outside what they may see answers ScopeNotFound (404).
        """
        user_param = str(params.get("user") or "").strip()
        team_param = str(params.get("team") or "").strip()
        if user_param and team_param:
            raise DomainError({"team": [_("Give either a rep or a team, not both.")]})
        if team_param:
            if not (team_param.isascii() and team_param.isdigit()):
                raise DomainError({"team": [_("Give a team id.")]})
            team = Team.objects.filter(pk=int(team_param)).first()
            if team is None or (viewer is not None and not _may_see_team(viewer, team)):
                raise ScopeNotFound({"team": [_("No such team.")]})
            return cls.for_team(team)
        if user_param:
            by_id = user_param.isascii() and user_param.isdigit()
            lookup = {"pk": int(user_param)} if by_id else {"username": user_param}
            user = User.objects.filter(**lookup).first()
            if user is None or (viewer is not None and not _may_see_user(viewer, user)):
                raise ScopeNotFound({"user": [_("No such rep.")]})
            return cls.for_user(user)
        if viewer is None or viewer.is_superuser:
            return cls.org()
        led = _top_led_team(viewer)
        return cls.for_team(led) if led is not None else cls.for_user(viewer)

    def as_dict(self) -> dict[str, object]:
        """``{"type", "id", "label"}``: how answers name their scope."""
        return {"type": str(self.type), "id": self.id, "label": self.label}

    def team_ids(self) -> set[int]:
        """A team scope's team and sub-teams (one query, then remembered on this object); empty otherwise."""
        if self.type != ScopeType.TEAM:
            return set()
        cached = self.__dict__.get("_team_ids")
        if cached is None:
            cached = team_descendant_ids(team_ids=[self.id])
            object.__setattr__(self, "_team_ids", cached)
        return set(cached)


def _may_see_team(viewer: User, team: Team) -> bool:
    if viewer.is_superuser:
        return True
    return team.pk in managed_team_ids(user=viewer)


def _may_see_user(viewer: User, user: User) -> bool:
    if viewer.is_superuser or viewer.pk == user.pk:
        return True
    teams = managed_team_ids(user=viewer)
    return bool(teams) and user.memberships.filter(team_id__in=teams).exists()


def _top_led_team(user: User) -> Team | None:
    """The one team the user manages that is not under another team they manage (None: no such single team)."""
    led = managed_team_ids(user=user)
    if not led:
        return None
    top = [t for t in Team.objects.filter(pk__in=led) if t.parent_id not in led]
    return top[0] if len(top) == 1 else None
