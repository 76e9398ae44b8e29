"""What the manager pages share: who may open them, the team picker and the period picker."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from salesladder.errors import DomainError
from salesladder.http import AuthedRequest
from salesladder.org.context_processors import REP, user_role
from salesladder.org.models import Team
from salesladder.org.selectors import managed_team_ids
from targets.dashboard import descendants
from targets.periods import Period, PeriodKind
from targets.quota_selectors import period_from_key


def is_lead(request: AuthedRequest) -> bool:
    """Managers and admins run teams; reps do not."""
    return user_role(request.user) != REP


def visible_teams(request: AuthedRequest) -> list[Team]:
    """Teams a manager runs (with sub-teams), every team for admins. One query (plus the cached scope)."""
    qs = (
        Team.objects.all()
        if request.user.is_superuser
        else Team.objects.filter(pk__in=managed_team_ids(user=request.user))
    )
    return list(qs.order_by("name"))


@dataclass
class TeamChoice:
    """The picked team of a manager page, with its sub-teams and the teams offered in the picker."""

    teams: list[Team]
    team: Team | None
    team_ids: set[int] = field(default_factory=set)

    def options(self) -> list[tuple[Team, int]]:
        """Teams in tree order with their depth, for an indented picker."""
        by_parent: dict[int | None, list[Team]] = {}
        ids = {t.pk for t in self.teams}
        for t in self.teams:
            by_parent.setdefault(t.parent_id if t.parent_id in ids else None, []).append(t)
        out: list[tuple[Team, int]] = []

        def walk(parent: int | None, depth: int) -> None:
            for t in by_parent.get(parent, []):
                out.append((t, depth))
                walk(t.pk, depth + 1)

        walk(None, 0)
        return out


def pick_team(request: AuthedRequest, param: str = "team") -> TeamChoice:
    """``?team=<id>`` among the visible teams (404 outside them); default: the first top-level one."""
    teams = visible_teams(request)
    raw = (request.GET.get(param) or request.POST.get(param) or "").strip()
    team: Team | None = None
    if raw:
        if not (raw.isascii() and raw.isdigit()):  # '²'.isdigit() is True, int('²') fails
            raise Http404(_("No such team."))
        team = next((t for t in teams if t.pk == int(raw)), None)
        if team is None:
            raise Http404(_("No such team."))
    elif teams:
        ids = {t.pk for t in teams}
        team = next((t for t in teams if t.parent_id not in ids), teams[0])
    if team is None:
        return TeamChoice(teams, None)
    return TeamChoice(teams, team, descendants(team.pk, {t.pk: t.parent_id for t in teams}))


def pick_period(request: HttpRequest, param: str = "period") -> tuple[Period, str]:
    """``?period=2026-11`` (or ``2026-Q4``, ``2026-W48``); the current month when absent. Returns
    ``(period, error)``: a bad key falls back to the current month with a message for the picker."""
    raw = (request.GET.get(param) or request.POST.get(param) or "").strip()
    if not raw:
        return Period.current(), ""
    try:
        return period_from_key(raw), ""
    except DomainError as exc:
        return Period.current(), " ".join(exc.errors.get("period", [str(exc)]))


def period_options(period: Period) -> list[str]:
    """Suggestions for the period picker: recent months, quarters and weeks around ``period``."""
    current = Period.current()
    keys: list[str] = []
    for kind, n in ((PeriodKind.MONTH, 13), (PeriodKind.QUARTER, 5), (PeriodKind.WEEK, 9)):
        anchor = Period.containing(current.start, kind).next()
        keys.extend(p.key for p in reversed(anchor.last(n)))
    if period.key not in keys:
        keys.insert(0, period.key)
    return keys
