"""Deals: create, edit, move, lose, reopen. Views, serializers, admin actions and tasks call these; none
sets ``stage``/``status`` or writes a StageTransition itself. Accounts and contacts:
``pipeline.services.accounts``; activities: ``pipeline.services.activities``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.errors import DealClosed, GateFailed, StageConflict
from pipeline.models import (
    STAGE_POSITION,
    Account,
    Channel,
    Deal,
    DealStatus,
    DeliveryStatus,
    GateField,
    GateRule,
    LostReason,
    Stage,
    StageTransition,
    TransitionKind,
    WebhookEvent,
)
from pipeline.selectors import active_gates
from pipeline.services import webhooks
from salesladder.errors import DomainError
from salesladder.org.models import Team, User
from salesladder.org.selectors import rep_team

# Fields deal_update may change. Stage and status move only through deal_move / deal_lose / deal_reopen.
DEAL_EDITABLE_FIELDS = frozenset(
    {
        "title",
        "account",
        "contact",
        "owner",
        "amount",
        "currency",
        "expected_close_date",
        "needs_summary",
        "signed_on",
        "contract_amount",
        "delivery_status",
        "source",
        "external_id",
        "notes",
    }
)

# --- gates -----------------------------------------------------------------------------------


def _gate_passes(deal: Deal, field: str, rule: str) -> bool:
    value = getattr(deal, "contact_id" if field == GateField.CONTACT else field)
    if rule == GateRule.POSITIVE:
        return value is not None and Decimal(value) > 0
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None


def _gate_message(field: str, rule: str) -> str:
    label = GateField(field).label
    if rule == GateRule.POSITIVE:
        return _("%(field)s must be greater than zero to enter this stage.") % {"field": label}
    return _("%(field)s is required to enter this stage.") % {"field": label}


def gate_errors(*, deal: Deal, stages: Iterable[str]) -> dict[str, list[str]]:
    """Field errors for every gate of ``stages`` the deal fails; empty when all pass."""
    gates = active_gates()
    errors: dict[str, list[str]] = {}
    for stage in stages:
        for field, rule in gates.get(stage, ()):
            if not _gate_passes(deal, field, rule):
                msg = _gate_message(field, rule)
                if msg not in errors.get(field, []):
                    errors.setdefault(field, []).append(msg)
    return errors


def _rungs_between(from_stage: str | None, to_stage: str) -> list[str]:
    """The rungs entered when climbing from ``from_stage`` (exclusive; None = below the ladder) to ``to_stage``."""
    start = STAGE_POSITION[from_stage] if from_stage else 0
    return [s for s in Stage.values if start < STAGE_POSITION[s] <= STAGE_POSITION[to_stage]]


def _first_failing_stage(deal: Deal, rungs: list[str]) -> str:
    for stage in rungs:
        if gate_errors(deal=deal, stages=[stage]):
            return stage
    return rungs[-1]


# --- deals -----------------------------------------------------------------------------------


def _record(
    *,
    deal: Deal,
    kind: str,
    from_stage: str,
    to_stage: str,
    from_status: str,
    to_status: str,
    at: datetime,
    actor: User | None,
    channel: str,
) -> StageTransition:
    return StageTransition(
        deal=deal,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        from_status=from_status,
        to_status=to_status,
        occurred_at=at,
        actor=actor,
        channel=channel,
        owner_id=deal.owner_id,
        team_id=deal.team_id,
    )


def _team_for_owner(owner: User, team: Team | None) -> Team:
    team = team or rep_team(user=owner)
    if team is None:
        raise DomainError({"owner": [_("%(user)s is not a member of any team.") % {"user": owner}]})
    return team


def _apply_fields(deal: Deal, fields: Mapping[str, Any]) -> list[str]:
    unknown = set(fields) - DEAL_EDITABLE_FIELDS
    if unknown:
        raise DomainError({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    changed = []
    for name, value in fields.items():
        if name == "owner" and value != deal.owner:
            deal.owner = value
            deal.team = _team_for_owner(value, None)
            changed += ["owner", "team"]
        elif getattr(deal, name) != value:
            setattr(deal, name, value)
            changed.append(name)
    if deal.contact is not None and deal.contact.account_id != deal.account_id:
        raise DomainError({"contact": [_("The contact belongs to another account.")]})
    return changed


@transaction.atomic
def deal_create(
    *,
    title: str,
    account: Account,
    owner: User,
    actor: User | None,
    channel: str = Channel.UI,
    stage: str = Stage.PREP,
    team: Team | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Deal:
    """Create a deal at ``stage``; every rung up to it is entered (gates checked, one transition each)."""
    at = at or timezone.now()
    if not title.strip():
        raise DomainError({"title": [_("This field may not be blank.")]})
    if stage not in STAGE_POSITION:
        raise DomainError({"stage": [_("Unknown stage.")]})
    deal = Deal(title=title.strip(), account=account, owner=owner, team=_team_for_owner(owner, team))
    given = _apply_fields(deal, fields)
    rungs = _rungs_between(None, stage)
    errors = gate_errors(deal=deal, stages=rungs)
    if errors:
        raise GateFailed(errors, stage=_first_failing_stage(deal, rungs))
    deal.stage = stage
    deal.status = DealStatus.WON if stage == Stage.SIGNING else DealStatus.OPEN
    if deal.status == DealStatus.WON:
        deal.delivery_status = deal.delivery_status or DeliveryStatus.NOT_STARTED
        deal.closed_at = at
    deal.stage_entered_at = at
    deal.created_at = at
    deal.last_activity_at = at
    _validate(deal, changed=given)
    deal.save()
    previous = ""
    transitions = []
    for i, rung in enumerate(rungs):
        transitions.append(
            _record(
                deal=deal,
                kind=TransitionKind.CREATE if i == 0 else TransitionKind.FORWARD,
                from_stage=previous,
                to_stage=rung,
                from_status="" if i == 0 else DealStatus.OPEN,
                to_status=DealStatus.WON if rung == Stage.SIGNING else DealStatus.OPEN,
                at=at,
                actor=actor,
                channel=channel,
            )
        )
        previous = rung
    StageTransition.objects.bulk_create(transitions)
    webhooks.emit(WebhookEvent.DEAL_CREATED, deal)
    if deal.status == DealStatus.WON:
        webhooks.emit(WebhookEvent.DEAL_WON, deal)
    return deal


def _locked(deal: Deal) -> Deal:
    # of=("self",): lock the deal row only, not the owner's and team's rows joined in.
    return Deal.objects.select_for_update(of=("self",)).select_related("owner", "team").get(pk=deal.pk)


def _validate(deal: Deal, *, changed: Iterable[str]) -> None:
    """Model validation (e.g. negative amounts) as a field-level domain error, never a bare ValidationError.

    Constraints cost a query each; only the (source, external_id) one can be broken by edited fields (the
    services keep won ⇔ signing), so they are checked only when those fields change.
    """
    constraints = bool({"source", "external_id"} & set(changed)) and bool(deal.external_id)
    try:
        deal.full_clean(
            exclude=["account", "contact", "owner", "team", "lost_reason"],
            validate_unique=False,
            validate_constraints=constraints,
        )
    except ValidationError as exc:
        errors = exc.message_dict
        if NON_FIELD_ERRORS in errors:  # only the (source, external_id) constraint raises these here
            errors.setdefault("external_id" if constraints else "non_field_errors", []).extend(
                errors.pop(NON_FIELD_ERRORS)
            )
        raise DomainError(errors) from exc


@transaction.atomic
def deal_update(*, deal: Deal, actor: User | None, **fields: Any) -> Deal:
    """Edit a deal's fields. Never stage or status; owner changes re-attribute the team."""
    if "stage" in fields or "status" in fields:
        raise DomainError(
            {
                f: [_("Stage and status change only by moving, losing or reopening the deal.")]
                for f in ("stage", "status")
                if f in fields
            }
        )
    deal = _locked(deal)
    changed = _apply_fields(deal, fields)
    if changed:
        if "title" in changed and not deal.title.strip():
            raise DomainError({"title": [_("This field may not be blank.")]})
        if "delivery_status" in changed and deal.delivery_status and deal.status != DealStatus.WON:
            raise DomainError({"delivery_status": [_("Only won deals are delivered.")]})
        _validate(deal, changed=changed)
        deal.save(update_fields=[*set(changed), "updated_at"])
    return deal


@transaction.atomic
def deal_move(
    *,
    deal: Deal,
    to_stage: str,
    actor: User | None,
    channel: str = Channel.UI,
    expected_stage: str | None = None,
    fields: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> Deal:
    """Move an open deal to ``to_stage``.

    Forward moves check the gates of every rung passed and write one transition per rung (same
    timestamp); backward moves write one transition. ``fields`` are applied first, in the same
    transaction, so a UI can fill a failed gate and move in one step without half-saving.
    """
    if to_stage not in STAGE_POSITION:
        raise DomainError({"to_stage": [_("Unknown stage.")]})
    deal = _locked(deal)
    at = at or timezone.now()  # read after the lock, so concurrent moves are timestamped in the order they ran
    if expected_stage and (deal.stage != expected_stage or deal.status != DealStatus.OPEN):
        raise StageConflict(current_stage=deal.stage, current_status=deal.status)
    if deal.status != DealStatus.OPEN:
        raise DealClosed(
            _("Only open deals can be moved; this deal is %(status)s.") % {"status": deal.get_status_display()}
        )
    changed = _apply_fields(deal, fields or {})
    if to_stage == deal.stage:
        if changed:
            _validate(deal, changed=changed)
            deal.save(update_fields=[*set(changed), "updated_at"])
        return deal

    from_stage = deal.stage
    forward = STAGE_POSITION[to_stage] > STAGE_POSITION[from_stage]
    transitions = []
    if forward:
        rungs = _rungs_between(from_stage, to_stage)
        errors = gate_errors(deal=deal, stages=rungs)
        if errors:
            raise GateFailed(errors, stage=_first_failing_stage(deal, rungs))
        previous = from_stage
        for rung in rungs:
            transitions.append(
                _record(
                    deal=deal,
                    kind=TransitionKind.FORWARD,
                    from_stage=previous,
                    to_stage=rung,
                    from_status=DealStatus.OPEN,
                    to_status=DealStatus.WON if rung == Stage.SIGNING else DealStatus.OPEN,
                    at=at,
                    actor=actor,
                    channel=channel,
                )
            )
            previous = rung
    else:
        transitions.append(
            _record(
                deal=deal,
                kind=TransitionKind.BACKWARD,
                from_stage=from_stage,
                to_stage=to_stage,
                from_status=DealStatus.OPEN,
                to_status=DealStatus.OPEN,
                at=at,
                actor=actor,
                channel=channel,
            )
        )
    since = deal.stage_entered_at
    for transition in transitions:  # each move ends a stay: in from_stage since the previous move
        transition.set_stay(since)
        since = at
    deal.stage = to_stage
    deal.stage_entered_at = at
    # Moving a deal is working on it: like creating or reopening it, a move restarts the stale clock.
    deal.last_activity_at = max(deal.last_activity_at or at, at)
    deal.is_stale = False
    update = {"stage", "stage_entered_at", "last_activity_at", "is_stale", "updated_at", *changed}
    if to_stage == Stage.SIGNING:
        deal.status = DealStatus.WON
        deal.closed_at = at
        deal.delivery_status = deal.delivery_status or DeliveryStatus.NOT_STARTED
        update |= {"status", "closed_at", "delivery_status"}
    _validate(deal, changed=changed)
    deal.save(update_fields=sorted(update))
    StageTransition.objects.bulk_create(transitions)
    webhooks.emit(WebhookEvent.DEAL_STAGE_CHANGED, deal, extra={"from_stage": from_stage, "to_stage": to_stage})
    if deal.status == DealStatus.WON:
        webhooks.emit(WebhookEvent.DEAL_WON, deal)
    return deal


@transaction.atomic
def deal_lose(
    *,
    deal: Deal,
    reason: LostReason | None,
    actor: User | None,
    note: str = "",
    channel: str = Channel.UI,
    expected_stage: str | None = None,
    at: datetime | None = None,
) -> Deal:
    if reason is None:
        raise DomainError({"reason": [_("Choose why the deal was lost.")]})
    deal = _locked(deal)
    at = at or timezone.now()  # after the lock: history in the order the changes ran
    if expected_stage and deal.stage != expected_stage:
        raise StageConflict(current_stage=deal.stage, current_status=deal.status)
    if deal.status != DealStatus.OPEN:
        raise DealClosed(
            _("Only open deals can be lost; this deal is %(status)s.") % {"status": deal.get_status_display()}
        )
    deal.status = DealStatus.LOST
    deal.lost_reason = reason
    deal.lost_note = note.strip()
    deal.closed_at = at
    deal.is_stale = False
    deal.save(update_fields=["status", "lost_reason", "lost_note", "closed_at", "is_stale", "updated_at"])
    _record(
        deal=deal,
        kind=TransitionKind.LOSE,
        from_stage=deal.stage,
        to_stage=deal.stage,
        from_status=DealStatus.OPEN,
        to_status=DealStatus.LOST,
        at=at,
        actor=actor,
        channel=channel,
    ).save()
    webhooks.emit(WebhookEvent.DEAL_LOST, deal)
    return deal


@transaction.atomic
def deal_reopen(*, deal: Deal, actor: User | None, channel: str = Channel.UI, at: datetime | None = None) -> Deal:
    """Reopen a lost deal into the stage it was lost from."""
    deal = _locked(deal)
    at = at or timezone.now()  # after the lock: history in the order the changes ran
    if deal.status != DealStatus.LOST:
        raise DealClosed(
            _("Only lost deals can be reopened; this deal is %(status)s.") % {"status": deal.get_status_display()}
        )
    deal.status = DealStatus.OPEN
    deal.lost_reason = None
    deal.lost_note = ""
    deal.closed_at = None
    deal.last_activity_at = at
    deal.save(update_fields=["status", "lost_reason", "lost_note", "closed_at", "last_activity_at", "updated_at"])
    _record(
        deal=deal,
        kind=TransitionKind.REOPEN,
        from_stage=deal.stage,
        to_stage=deal.stage,
        from_status=DealStatus.LOST,
        to_status=DealStatus.OPEN,
        at=at,
        actor=actor,
        channel=channel,
    ).save()
    return deal
