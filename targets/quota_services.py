"""Writes for quotas, quota templates and incentive tiers.

Team templates and copies cover the reps of the team **and of its sub-teams** (a manager of East
sets East North's reps too, as they manage them); a team's own explicit quota rows are copied
along with its reps' rows. Authorisation (who may write for whom) is checked by the caller through
``targets.quota_selectors``; these services validate the data and write atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from pipeline.models import Stage
from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from salesladder.org.selectors import team_member_ids
from targets.models import IncentiveTier, Quota, QuotaTemplate, QuotaTemplateLine, TierMeasure
from targets.periods import Period, PeriodKind
from targets.quota_selectors import default_template, period_from_key

MAX_QUOTA = 1_000_000
MAX_THRESHOLD = Decimal("999999999999.99")


def _period(period: Period | str, field: str = "period") -> Period:
    return period if isinstance(period, Period) else period_from_key(period, field=field)


def _clean_value(value: Any, field: str) -> int:
    """A quota cell: a whole number 0..MAX_QUOTA (bools and fractions are refused, not rounded)."""
    if isinstance(value, bool) or value is None:
        raise DomainError({field: [_("Enter a whole number.")]})
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            raise DomainError({field: [_("Enter a whole number.")]})
        value = int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise DomainError({field: [_("Enter a whole number.")]})
        value = int(value)
    if not isinstance(value, int):
        raise DomainError({field: [_("Enter a whole number.")]})
    if value < 0 or value > MAX_QUOTA:
        raise DomainError({field: [_("Enter a number between 0 and %(max)s.") % {"max": MAX_QUOTA}]})
    return value


def _clean_stage(stage: Any, field: str) -> str:
    if stage not in Stage.values:
        raise DomainError({field: [_("Unknown stage.")]})
    return str(stage)


@transaction.atomic
def quota_set(
    *,
    period: Period | str,
    stage: str,
    value: int | None,
    user: User | None = None,
    team: Team | None = None,
    actor: User | None,
) -> Quota | None:
    """Set (upsert) one quota cell of a rep or a team. ``value=None`` removes it (a team falls back to the sum)."""
    p = _period(period)
    stage = _clean_stage(stage, "stage")
    if (user is None) == (team is None):
        raise DomainError({"non_field_errors": [_("Give either a rep or a team, not both.")]})
    owner = {"user": user} if user is not None else {"team": team}
    if user is not None:  # the same lock as grid writes take
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    if value is None:
        Quota.objects.filter(period=p.key, stage=stage, **owner).delete()
        return None
    cleaned = _clean_value(value, "value")
    quota, _created = Quota.objects.update_or_create(period=p.key, stage=stage, **owner, defaults={"value": cleaned})
    return quota


def _validate_grid(grid: Mapping[Any, Any], member_ids: set[int]) -> dict[int, dict[str, int | None]]:
    errors: dict[str, list[Any]] = {}
    cleaned: dict[int, dict[str, int | None]] = {}
    if not isinstance(grid, Mapping):
        raise DomainError({"grid": [_("Expected an object {user_id: {stage: quota}}.")]})
    for raw_user, row in grid.items():
        try:
            user_id = int(raw_user)
        except (TypeError, ValueError):
            errors[str(raw_user)] = [_("Not a user id.")]
            continue
        if user_id not in member_ids:
            errors[str(raw_user)] = [_("Not a rep of this team.")]
            continue
        if not isinstance(row, Mapping):
            errors[str(raw_user)] = [_("Expected an object {stage: quota}.")]
            continue
        cells: dict[str, int | None] = {}
        for stage, value in row.items():
            key = f"{user_id}.{stage}"
            if stage not in Stage.values:
                errors[key] = [_("Unknown stage.")]
                continue
            if value is None:
                cells[stage] = None
                continue
            try:
                cells[stage] = _clean_value(value, key)
            except DomainError as exc:
                errors.update(exc.errors)
        cleaned[user_id] = cells
    if errors:
        raise DomainError(errors)
    return cleaned


def _write_cells(period: Period, cells: dict[int, dict[str, int | None]]) -> None:
    """Upsert many user cells in a constant number of queries (delete the touched cells, insert the new)."""
    touched = [(uid, stage) for uid, row in cells.items() for stage in row]
    if not touched:
        return
    user_ids = {uid for uid, _stage in touched}
    # Lock the reps (in id order, so two writers cannot deadlock): concurrent grid writes, template
    # applications and copies for the same reps run one after the other instead of colliding on insert.
    list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", flat=True))
    existing = Quota.objects.filter(period=period.key, user_id__in=user_ids).values_list("pk", "user_id", "stage")
    stale = [pk for pk, uid, stage in existing if stage in cells.get(uid, {})]
    Quota.objects.filter(pk__in=stale).delete()
    Quota.objects.bulk_create(
        [
            Quota(period=period.key, user_id=uid, stage=stage, value=value)
            for uid, row in cells.items()
            for stage, value in row.items()
            if value is not None
        ]
    )


@transaction.atomic
def quotas_set_grid(
    *, period: Period | str, team: Team, grid: Mapping[Any, Mapping[str, Any]], actor: User | None
) -> dict[int, dict[str, int | None]]:
    """Set many reps' quotas at once: every cell is validated first; one bad cell writes nothing.

    Errors are keyed ``"<user_id>.<stage>"`` (or ``"<user_id>"`` for a rep outside the team).
    ``null`` clears a cell. Returns the cleaned grid that was written.
    """
    p = _period(period)
    member_ids = set(team_member_ids(team=team))
    cleaned = _validate_grid(grid, member_ids)
    _write_cells(p, cleaned)
    return cleaned


def _template_lines(template: QuotaTemplate) -> dict[str, int]:
    return dict(template.lines.values_list("stage", "value"))


def _clean_lines(lines: Any) -> dict[str, int]:
    """``{stage: value}`` or ``[{"stage", "value"}]``; errors keyed ``lines.<stage>``."""
    if isinstance(lines, Mapping):
        pairs: Iterable[tuple[Any, Any]] = lines.items()
    elif isinstance(lines, list | tuple):
        try:
            pairs = [(line["stage"], line["value"]) for line in lines]
        except (TypeError, KeyError):
            raise DomainError({"lines": [_("Each line needs a stage and a value.")]}) from None
    else:
        raise DomainError({"lines": [_("Give a quota for each stage.")]})
    errors: dict[str, list[Any]] = {}
    cleaned: dict[str, int] = {}
    for stage, value in pairs:
        key = f"lines.{stage}"
        if stage not in Stage.values:
            errors[key] = [_("Unknown stage.")]
            continue
        if stage in cleaned:
            errors[key] = [_("This stage is given twice.")]
            continue
        try:
            cleaned[stage] = _clean_value(value, key)
        except DomainError as exc:
            errors.update(exc.errors)
    if not cleaned and not errors:
        errors["lines"] = [_("Give a quota for at least one stage.")]
    if errors:
        raise DomainError(errors)
    return cleaned


def _clean_template_name(name: Any, *, exclude_pk: int | None = None) -> str:
    name = str(name or "").strip()
    if not name:
        raise DomainError({"name": [_("This field may not be blank.")]})
    if len(name) > 120:
        raise DomainError({"name": [_("At most 120 characters.")]})
    clash = QuotaTemplate.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise DomainError({"name": [_("A template with this name already exists.")]})
    return name


def _clean_kind(kind: Any) -> str:
    if kind not in PeriodKind.values:
        raise DomainError({"period_kind": [_("Use month, week or quarter.")]})
    return str(kind)


@transaction.atomic
def template_create(*, name: str, lines: Any, actor: User | None, period_kind: str = PeriodKind.MONTH) -> QuotaTemplate:
    """A custom (never default) template."""
    cleaned_name = _clean_template_name(name)
    kind = _clean_kind(period_kind)
    cleaned = _clean_lines(lines)
    template = QuotaTemplate.objects.create(name=cleaned_name, period_kind=kind, is_default=False)
    QuotaTemplateLine.objects.bulk_create(
        [QuotaTemplateLine(template=template, stage=stage, value=value) for stage, value in cleaned.items()]
    )
    return template


@transaction.atomic
def template_update(
    *,
    template: QuotaTemplate,
    actor: User | None,
    name: str | None = None,
    lines: Any = None,
    period_kind: str | None = None,
) -> QuotaTemplate:
    """Rename or re-ladder a template. Given ``lines`` replace all of its lines."""
    template = QuotaTemplate.objects.select_for_update().get(pk=template.pk)
    fields = []
    if name is not None:
        template.name = _clean_template_name(name, exclude_pk=template.pk)
        fields.append("name")
    if period_kind is not None:
        template.period_kind = _clean_kind(period_kind)
        fields.append("period_kind")
    if lines is not None:
        cleaned = _clean_lines(lines)
        template.lines.all().delete()
        QuotaTemplateLine.objects.bulk_create(
            [QuotaTemplateLine(template=template, stage=stage, value=value) for stage, value in cleaned.items()]
        )
    if fields:
        template.save(update_fields=fields)
    return template


@transaction.atomic
def template_delete(*, template: QuotaTemplate, actor: User | None) -> None:
    if template.is_default:
        raise DomainError({"template": [_("The default ladder cannot be deleted.")]})
    template.delete()


def template_check(*, period: Period | str, template: QuotaTemplate) -> None:
    """Refuse a template made for another kind of period (a weekly ladder on a month)."""
    p = _period(period)
    if template.period_kind != p.kind:
        raise DomainError(
            {
                "template": [
                    _("This template is for a %(kind)s; the period %(period)s is a %(other)s.")
                    % {
                        "kind": PeriodKind(template.period_kind).label,
                        "period": p.key,
                        "other": PeriodKind(p.kind).label,
                    }
                ]
            }
        )


@transaction.atomic
def template_apply(
    *, period: Period | str, team: Team, template: QuotaTemplate | None = None, actor: User | None
) -> list[int]:
    """Give every rep of ``team`` and its sub-teams the template's quotas for ``period``.

    Stages the template has no line for are left as they were. Returns the ids of the reps set.
    """
    p = _period(period)
    template = template or default_template()
    template_check(period=p, template=template)
    lines = _template_lines(template)
    member_ids = team_member_ids(team=team)
    if not member_ids:
        raise DomainError({"team": [_("This team has no reps.")]})
    _write_cells(p, {uid: dict(lines) for uid in member_ids})
    return sorted(member_ids)


@transaction.atomic
def quotas_copy_from_previous(*, period: Period | str, team: Team, actor: User | None) -> int:
    """Copy the previous period's quotas of the team (its own rows, its sub-teams' and all their reps') into
    ``period``, replacing what is there for the same cells. Returns the number of cells written."""
    from salesladder.org.selectors import team_descendant_ids

    p = _period(period)
    prev = p.previous()
    team_ids = team_descendant_ids(team_ids=[team.pk])
    member_ids = team_member_ids(team=team)
    source = list(
        Quota.objects.filter(period=prev.key, user_id__in=member_ids).values_list("user_id", "stage", "value")
    )
    team_rows = list(
        Quota.objects.filter(period=prev.key, team_id__in=team_ids).values_list("team_id", "stage", "value")
    )
    if not source and not team_rows:
        raise DomainError({"period": [_("%(period)s has no quotas to copy.") % {"period": prev.key}]})
    cells: dict[int, dict[str, int | None]] = {}
    for uid, stage, value in source:
        cells.setdefault(uid, {})[stage] = value
    _write_cells(p, cells)
    if team_rows:
        keys = {(tid, stage) for tid, stage, _v in team_rows}
        existing = Quota.objects.filter(period=p.key, team_id__in={tid for tid, _s in keys}).values_list(
            "pk", "team_id", "stage"
        )
        Quota.objects.filter(pk__in=[pk for pk, tid, stage in existing if (tid, stage) in keys]).delete()
        Quota.objects.bulk_create(
            [Quota(period=p.key, team_id=tid, stage=stage, value=v) for tid, stage, v in team_rows]
        )
    return len(source) + len(team_rows)


def _clean_threshold(value: Any) -> Decimal:
    try:
        threshold = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError({"threshold": [_("Enter a number.")]}) from None
    if not threshold.is_finite() or threshold < 0 or threshold > MAX_THRESHOLD:
        raise DomainError({"threshold": [_("Enter a number between 0 and %(max)s.") % {"max": MAX_THRESHOLD}]})
    return threshold.quantize(Decimal("0.01"))


@transaction.atomic
def tier_set(
    *,
    period: Period | str,
    threshold: Any,
    name: str,
    actor: User | None,
    team: Team | None = None,
    measure: str = TierMeasure.SIGNINGS,
    reward: str = "",
    tier: IncentiveTier | None = None,
) -> IncentiveTier:
    """Create a tier, or update ``tier``. A threshold is unique per (period, team or org, measure)."""
    p = _period(period)
    if measure not in TierMeasure.values:
        raise DomainError({"measure": [_("Use signings or won_amount.")]})
    threshold_value = _clean_threshold(threshold)
    if measure == TierMeasure.SIGNINGS and threshold_value != threshold_value.to_integral_value():
        raise DomainError({"threshold": [_("Signings are counted in whole deals.")]})
    name = str(name or "").strip()
    if not name:
        raise DomainError({"name": [_("This field may not be blank.")]})
    if len(name) > 80:
        raise DomainError({"name": [_("At most 80 characters.")]})
    reward = str(reward or "").strip()
    if len(reward) > 300:
        raise DomainError({"reward": [_("At most 300 characters.")]})
    clash = IncentiveTier.objects.filter(period=p.key, team=team, measure=measure, threshold=threshold_value)
    if tier is not None:
        clash = clash.exclude(pk=tier.pk)
    if clash.exists():
        raise DomainError({"threshold": [_("A tier with this threshold already exists for this period.")]})
    if tier is None:
        tier = IncentiveTier(period=p.key, team=team)
    else:
        tier = IncentiveTier.objects.select_for_update().get(pk=tier.pk)
        tier.period, tier.team = p.key, team
    tier.measure = measure
    tier.threshold = threshold_value
    tier.name = name
    tier.reward = reward
    try:
        with transaction.atomic():
            tier.save()
    except IntegrityError:  # a concurrent request created the same threshold
        raise DomainError({"threshold": [_("A tier with this threshold already exists for this period.")]}) from None
    return tier


@transaction.atomic
def tier_delete(*, tier: IncentiveTier, actor: User | None) -> None:
    tier.delete()
