"""Bulk creation of ``prep`` deals for lead intake and imports.

``deal_create`` costs a handful of queries per deal; intake takes 1,000 leads per request. This path
creates many deals at ``prep`` with the same rules: a non-blank title, the active gates of ``prep``,
the model's field limits (checked by the caller's clean data and again here), the team taken from
the owner, and one ``create`` StageTransition per deal carrying owner, team, actor and channel. It
then emits ``deal.created`` like ``deal_create`` does. Only ``prep`` is supported: intake never
creates deals higher on the ladder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.deal_counts import renew_deal_count_version_now_and_on_commit
from pipeline.models import DealStatus, Stage, StageTransition, TransitionKind, WebhookEvent
from pipeline.models.core import Deal
from pipeline.selectors import active_gates
from pipeline.services import webhooks
from pipeline.services.bulk_copy import bulk_insert_rows
from pipeline.services.deals import _gate_message, _gate_passes
from salesladder.org.models import User

MAX_AMOUNT = Decimal("999999999999.99")  # max_digits=14, decimal_places=2


@dataclass(slots=True)
class DealDraft:
    """A deal to create at ``prep``: plain values (building 1,000 model instances costs more than the insert)."""

    title: str
    account_id: int | None
    owner_id: int | None
    team_id: int | None
    contact_id: int | None = None
    amount: Decimal | None = None
    currency: str = ""
    notes: str = ""
    source: str = ""
    external_id: str = ""
    # the other fields a gate may require; empty for a new lead
    needs_summary: str = ""
    expected_close_date: date | None = None
    signed_on: date | None = None
    contract_amount: Decimal | None = None


def deal_bulk_errors(deals: Sequence[DealDraft | Deal]) -> dict[int, dict[str, list[str]]]:
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
            if not _gate_passes(deal, field, rule):  # type: ignore[arg-type]  # reads attributes only
                item.setdefault(field, []).append(_gate_message(field, rule))
        if item:
            errors[i] = item
    return errors


@transaction.atomic
def deals_bulk_create(
    *,
    drafts: list[DealDraft],
    actor: User | None,
    channel: str,
    at: datetime | None = None,
    checked: bool = False,
) -> list[int]:
    """Insert ``drafts`` as deals at ``prep`` with one ``create`` transition each; returns the new ids in
    order. The caller checked ``deal_bulk_errors`` (a ValueError otherwise: a programming error; a caller
    that has just run it on these drafts says ``checked=True`` and saves running it twice). A few
    queries in total (``COPY`` on PostgreSQL)."""
    if not drafts:
        return []
    if not checked and deal_bulk_errors(drafts):
        raise ValueError("deals_bulk_create called with invalid deals; check deal_bulk_errors first")
    at = at or timezone.now()
    rows = [
        {
            "title": d.title.strip(),
            "account_id": d.account_id,
            "contact_id": d.contact_id,
            "owner_id": d.owner_id,
            "team_id": d.team_id,
            "stage": Stage.PREP,
            "status": DealStatus.OPEN,
            "stage_entered_at": at,
            "amount": d.amount,
            "currency": d.currency,
            "notes": d.notes,
            "source": d.source,
            "external_id": d.external_id,
            "last_activity_at": at,
            "created_at": at,
            "updated_at": at,
        }
        for d in drafts
    ]
    ids = bulk_insert_rows(Deal, rows, returning_ids=True)
    actor_id = actor.pk if actor is not None else None
    bulk_insert_rows(
        StageTransition,
        [
            {
                "deal_id": deal_id,
                "kind": TransitionKind.CREATE,
                "from_stage": "",
                "to_stage": Stage.PREP,
                "from_status": "",
                "to_status": DealStatus.OPEN,
                "occurred_at": at,
                "actor_id": actor_id,
                "channel": channel,
                "owner_id": d.owner_id,
                "team_id": d.team_id,
            }
            for deal_id, d in zip(ids, drafts, strict=True)
        ],
    )
    renew_deal_count_version_now_and_on_commit()  # bulk inserts send no save signals
    if WebhookEvent.DEAL_CREATED in webhooks.active_events():
        webhooks.emit_many(WebhookEvent.DEAL_CREATED, Deal.objects.filter(pk__in=ids).order_by("pk"))
    return ids
