"""Bulk creation of ``prep`` deals for lead intake and imports.

``deal_create`` costs a handful of queries per deal; intake takes 1,000 leads per request. This path
creates many deals at ``prep`` with the same rules: a non-blank title, the active gates of ``prep``,
the model's field limits (checked by the caller's clean data and again here), the team taken from
the owner, and one ``create`` StageTransition per deal carrying owner, team, actor and channel. It
then emits ``deal.created`` like ``deal_create`` does. Only ``prep`` is supported: intake never
creates deals higher on the ladder.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.models import DealStatus, Stage, StageTransition, TransitionKind, WebhookEvent
from pipeline.models.core import Deal
from pipeline.selectors import active_gates
from pipeline.services import webhooks
from pipeline.services.bulk_copy import bulk_insert, bulk_insert_rows
from pipeline.services.deals import _gate_message, _gate_passes
from salesladder.org.models import User

MAX_AMOUNT = Decimal("999999999999.99")  # max_digits=14, decimal_places=2


def deal_bulk_errors(deals: list[Deal]) -> dict[int, dict[str, list[str]]]:
    """Field errors per position in ``deals`` for the rules ``deal_create`` applies at ``prep``."""
    gates = active_gates().get(Stage.PREP, [])
    errors: dict[int, dict[str, list[str]]] = {}
    for i, deal in enumerate(deals):
        item: dict[str, list[str]] = {}
        if not deal.title.strip():
            item["title"] = [_("This field may not be blank.")]
        if deal.amount is not None and not (0 <= deal.amount <= MAX_AMOUNT):
            item["amount"] = [_("Enter an amount between 0 and %(max)s.") % {"max": MAX_AMOUNT}]
        if len(deal.currency or "") != 3:
            item["currency"] = [_("Enter a three-letter currency code.")]
        if not deal.owner_id or not deal.team_id:
            item["owner"] = [_("The owner is not a member of any team.")]
        for field, rule in gates:
            if not _gate_passes(deal, field, rule):
                item.setdefault(field, []).append(_gate_message(field, rule))
        if item:
            errors[i] = item
    return errors


@transaction.atomic
def deals_bulk_create(*, deals: list[Deal], actor: User | None, channel: str, at: datetime | None = None) -> list[Deal]:
    """Insert unsaved ``deals`` at ``prep`` with one ``create`` transition each. The caller checked
    ``deal_bulk_errors`` (raises ValueError otherwise, a programming error). A few queries in total
    (``bulk_insert``: COPY on PostgreSQL)."""
    if not deals:
        return []
    if deal_bulk_errors(deals):
        raise ValueError("deals_bulk_create called with invalid deals; check deal_bulk_errors first")
    at = at or timezone.now()
    for deal in deals:
        deal.stage = Stage.PREP
        deal.status = DealStatus.OPEN
        deal.stage_entered_at = at
        deal.created_at = at
        deal.updated_at = at
        deal.last_activity_at = at
    bulk_insert(deals)
    actor_id = actor.pk if actor is not None else None
    bulk_insert_rows(
        StageTransition,
        [
            {
                "deal_id": deal.pk,
                "kind": TransitionKind.CREATE,
                "from_stage": "",
                "to_stage": Stage.PREP,
                "from_status": "",
                "to_status": DealStatus.OPEN,
                "occurred_at": at,
                "actor_id": actor_id,
                "channel": channel,
                "owner_id": deal.owner_id,
                "team_id": deal.team_id,
            }
            for deal in deals
        ],
    )
    webhooks.emit_many(WebhookEvent.DEAL_CREATED, deals)
    return deals
